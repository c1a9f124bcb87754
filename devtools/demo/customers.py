"""One store's customers: names, unique E.164 phones (the fictional 555 numbers) and unique
lowercased emails, written into the sink as the simulation meets them."""

from __future__ import annotations

import random

from .bulk import CopySink
from .reference import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, us_area_codes
from .timekeeping import ts as to_datetime


class Contacts:
    """The store's customers and their phones and emails, unique per store as the services
    require."""

    def __init__(self, rng: random.Random, sink: CopySink, store_id: int, area_codes: tuple[int, ...]):
        self.rng = rng
        self.sink = sink
        self.store_id = store_id
        self.area_codes = area_codes
        self.phones_used: set[str] = set()
        self.emails_used: set[str] = set()

    def phone(self) -> str:
        """A unique E.164 number: 555-01xx (reserved for fiction) in the store's area codes,
        then the rest of the 555 exchange across the country when those run out."""
        rng = self.rng
        codes = self.area_codes
        if len(self.phones_used) < 80 * len(codes):
            for _ in range(6):
                number = f"+1{rng.choice(codes)}55501{rng.randrange(100):02d}"
                if number not in self.phones_used:
                    self.phones_used.add(number)
                    return number
        all_codes = us_area_codes()
        while True:
            line = rng.randrange(200, 10_000)
            if line == 1212:
                continue
            number = f"+1{rng.choice(all_codes)}555{line:04d}"
            if number not in self.phones_used:
                self.phones_used.add(number)
                return number

    def email(self, first: str, last: str) -> str:
        """A unique address in one of the styles people pick."""
        rng = self.rng
        first_clean = "".join(ch for ch in first.lower() if ch.isalpha())
        last_clean = "".join(ch for ch in last.lower() if ch.isalpha())
        style = rng.randrange(5)
        if style == 0:
            local = f"{first_clean}.{last_clean}"
        elif style == 1:
            local = f"{first_clean[0]}{last_clean}{rng.randrange(1, 99)}"
        elif style == 2:
            local = f"{first_clean}{last_clean}{rng.randrange(1960, 2006)}"
        elif style == 3:
            local = f"{first_clean}_{last_clean[0]}{rng.randrange(100, 999)}"
        else:
            local = f"{last_clean}.{first_clean}{rng.randrange(1, 9)}"
        domain = rng.choice(EMAIL_DOMAINS)
        email = f"{local}@{domain}"
        n = 2
        while email in self.emails_used:
            email = f"{local}{n}@{domain}"
            n += 1
        self.emails_used.add(email)
        return email

    def add_email(self, customer_id: int, first: str, last: str) -> str:
        """A new address for the customer, written to the sink."""
        sink = self.sink
        email = self.email(first, last)
        sink.rows["email"].append((sink.ids["email"].take(), self.store_id, customer_id, email))
        return email

    def new_customer(self, ts: int, kind: str) -> tuple[int, str, str, str, str]:
        """(customer id, first, last, phone, email) of a customer first seen at ts; walk-ins and
        phone-ups leave a phone, few leave an email."""
        rng, sink = self.rng, self.sink
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        customer_id = sink.ids["customer"].take()
        sink.rows["customer"].append((customer_id, self.store_id, first, last, to_datetime(ts)))
        has_phone = kind in ("walk_in", "phone_up") or rng.random() < 0.93
        has_email = rng.random() < {"walk_in": 0.55, "phone_up": 0.25}.get(kind, 0.93) or not has_phone
        phone = email = ""
        if has_phone:
            phone = self.phone()
            sink.rows["phone"].append((sink.ids["phone"].take(), self.store_id, customer_id, phone, "mobile"))
            if rng.random() < 0.07:
                sink.rows["phone"].append(
                    (sink.ids["phone"].take(), self.store_id, customer_id, self.phone(), rng.choice(["home", "work"]))
                )
        if has_email:
            email = self.add_email(customer_id, first, last)
        return customer_id, first, last, phone, email
