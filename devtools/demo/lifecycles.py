"""How a lead's story goes, by how it arrived: an internet lead's first response and daily
cadence until two-way contact (seed 001), a phone-up's call, a walk-in's visit, a duplicate
worked on its original; then appointments, shows, sales, be-backs and the long cooling-off
that ends in a lost lead. Each step stops at now, leaving the lead where it would be."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from org.models import Role

from .lead_state import LeadState
from .organization import Person
from .rota import Rota
from .sittings import follow_up_agent, follow_up_retail, outreach
from .sources import P_RESPONSIVE
from .timekeeping import DAY, HOUR, MINUTE
from .timekeeping import ts as to_datetime
from .wording import CONFIRM_REPLIES, TEXT_LOST_REPLIES

if TYPE_CHECKING:
    from .simulation import LeadRecord


class Lifecycles:
    """The lifecycles of one store's leads, on its rota and with its random stream."""

    def __init__(self, *, rng: random.Random, rota: Rota, retail: list[Person], now: int, effort: float,
                 store_name: str, time_zone: str):
        self.rng = rng
        self.rota = rota
        self.cal = rota.cal
        self.retail = retail
        self.now = now
        # Seed 002: agents have a fixed capacity (50-120 calls a day). With many more leads
        # than 70 per agent a month (a benchmark), each lead gets proportionally less follow-up.
        self.effort = effort
        self.store_name = store_name
        self.time_zone = ZoneInfo(time_zone)

    def _host(self, owner: Person, t: int) -> Person:
        """Who sees the customer in the store at t: the owner if working, else the floor's next in line."""
        return owner if self.rota.on_shift(owner, t) else self.rota.pick(self.retail, t, "retail")

    def duplicate(self, lead: LeadState, owner: Person | None, original: LeadRecord) -> None:
        """A duplicate goes to the original's owner, who notes it and closes it."""
        if owner is None:
            return
        t = self.rota.next_on_shift(owner, lead.received + 5 * MINUTE) + self.rng.randint(2, 60) * MINUTE
        note = f"Duplicate of lead #{original.lead_id} (same customer via {original.provider}); working it there."
        if self.rng.random() < 0.85 and lead.note(owner, t, note):
            lead.close("lost", t + 30, owner)

    def internet(self, lead: LeadState, owner: Person, kind: str, fleet: bool = False) -> None:
        """First response, then daily call/text/email sittings until two-way contact or the
        agent gives up (seed 001); after contact, the appointment path."""
        rng = self.rng
        effort = self.effort
        t = self._first_response(owner, max(lead.received, lead.first_touch_after))
        responsive = rng.random() < P_RESPONSIVE[kind]
        tod = lead.received - self.cal.midnights[self.cal.day(lead.received)]
        cadence_days = 4 if effort >= 1 else int(4 * effort + rng.random())
        give_up = lead.received + rng.uniform(20, 60) * DAY
        contact = None
        session = 0
        while contact is None and t <= self.now:
            if session == 0:
                engage = responsive and rng.random() < 0.42
            elif session <= cadence_days:
                engage = responsive and rng.random() < 0.3
            else:
                engage = rng.random() < (0.09 if responsive else 0.03)
            contact = outreach(lead, owner, t, engage, first=session == 0)
            if contact is not None:
                break
            session += 1
            if session <= cadence_days:
                t = self.rota.work_day_at(owner, t, 1, tod)  # seed 001: call, text, email daily for five days
            else:
                if rng.random() > effort:
                    break
                t = self.rota.work_day_at(owner, t, rng.randint(1, 3), tod)
                if t > give_up:
                    lost_at = self.rota.work_day_at(owner, give_up, 0)
                    lead.close("lost", lost_at, owner)
                    return
        if contact is None:
            if self.now - lead.received > 60 * DAY and t <= self.now:
                lead.close("lost", self.rota.work_day_at(owner, t, 0), owner)
            return
        if not lead.move("contacted", contact, owner):
            return
        p_appointment = 0.35 if fleet else 0.5
        self._after_contact(lead, owner, contact, p_appointment, partial(follow_up_agent, lead))

    def _first_response(self, owner: Person, ts: int) -> int:
        rng = self.rng
        if self.rota.on_shift(owner, ts):
            r = rng.random()
            if r < 0.55:
                delay = rng.uniform(1, 10) * MINUTE
            elif r < 0.82:
                delay = rng.uniform(10, 30) * MINUTE
            elif r < 0.96:
                delay = rng.uniform(30, 120) * MINUTE
            else:
                delay = rng.uniform(2, 6) * HOUR
            t = ts + delay
            if not self.rota.on_shift(owner, t):
                t = self.rota.next_on_shift(owner, t) + rng.uniform(2, 30) * MINUTE
        else:
            t = self.rota.next_on_shift(owner, ts) + rng.uniform(2, 40) * MINUTE
        return int(t)

    def phone_up(self, lead: LeadState, owner: Person) -> None:
        """The customer called: two-way contact at once, then the appointment path."""
        rng = self.rng
        talk = int(rng.uniform(90, 540))
        lead.call(owner, lead.received, "inbound", "connected", talk, verified=True)
        contact = lead.received + talk
        if not lead.move("contacted", contact, owner):
            return
        follow = partial(follow_up_agent if owner.role == Role.INTERNET_AGENT else follow_up_retail, lead)
        self._after_contact(lead, owner, contact, 0.6, follow)

    def walk_in(self, lead: LeadState, owner: Person) -> None:
        """In the showroom at once: contacted, appointment set and shown, then sold or followed up."""
        rng = self.rng
        t = lead.received
        lead.visit(owner, t, f"Walk-in, greeted by {owner.first_name}.", verified=rng.random() < 0.6)
        # The status path is strictly forward; a walk-in is in the showroom at once.
        for offset, status in ((60, "contacted"), (90, "appointment_set"), (120, "shown")):
            if not lead.move(status, t + offset, owner):
                return
        if rng.random() < 0.22:
            lead.close("sold", t + int(rng.uniform(1.5, 4) * HOUR), owner)
            return
        self._shown_not_sold(lead, owner, t, partial(follow_up_retail, lead), be_back=0.24)

    def _after_contact(self, lead: LeadState, owner: Person, contact: int, p_appointment: float,
                       follow: Callable[[Person, int, float], int | None]) -> None:
        rng = self.rng
        t = contact
        if rng.random() < p_appointment:
            if rng.random() < 0.6:
                set_at = t + rng.randint(2, 12) * MINUTE  # set on the same call or text thread
            else:
                set_at = None
                for _ in range(rng.randint(1, 3)):
                    t = self.rota.work_day_at(owner, t, rng.randint(1, 3))
                    two_way = follow(owner, t, 0.5)
                    if t > self.now:
                        return
                    if two_way:
                        set_at = two_way + rng.randint(2, 10) * MINUTE
                        break
                if set_at is None:
                    self._cooling_off(lead, owner, t, follow)
                    return
            self._appointment(lead, owner, set_at, follow, attempts=2)
            return
        if rng.random() < 0.12:
            # Seed 001: the customer just shows up, maybe on the agent's day off.
            t = self.rota.store_open_at(t, rng.randint(1, 8))
            if t > self.now:
                return
            host = self._host(owner, t)
            lead.move("appointment_set", t - 60, host)
            lead.visit(host, t, f"Came in without an appointment, helped by {host.first_name}.", verified=True)
            lead.move("shown", t + 60, host)
            if rng.random() < 0.45:
                lead.close("sold", t + int(rng.uniform(1.5, 4) * HOUR), host)
                return
            self._shown_not_sold(lead, owner, t, follow, be_back=0.2)
            return
        self._cooling_off(lead, owner, t, follow)

    def _appointment(self, lead: LeadState, owner: Person, set_at: int, follow, attempts: int) -> None:
        rng = self.rng
        if not lead.move("appointment_set", set_at, owner):
            return
        when = self.rota.store_open_at(set_at, rng.choice([0, 1, 1, 2, 2, 3, 4, 5, 6]))
        if when - set_at < 2 * HOUR:
            when = self.rota.store_open_at(set_at, 1)
        if owner.role == Role.INTERNET_AGENT or rng.random() < 0.3:
            local = to_datetime(when).astimezone(self.time_zone)
            label = local.strftime("%a %b %-d at %-I:%M %p")
            lead.text(owner, set_at + 90, "outbound",
                      f"You're all set for {label} with {owner.first_name} at {self.store_name}. See you then!")
        if when - set_at > DAY:
            confirm = self.rota.next_on_shift(owner, when - DAY)
            if set_at < confirm < when - HOUR and lead.text(owner, confirm, "outbound",
                                              f"Hi {lead.first}, confirming your appointment tomorrow at "
                                              f"{self.store_name}. Reply C to confirm."):
                if rng.random() < 0.65:
                    lead.text(owner, confirm + rng.randint(3, 120) * MINUTE, "inbound", rng.choice(CONFIRM_REPLIES))
        if when > self.now:
            return
        if rng.random() < 0.68:
            arrive = when + rng.randint(-10, 25) * MINUTE
            host = self._host(owner, arrive)
            lead.visit(host, arrive, f"Checked in at reception: appointment with {owner.first_name}"
                       + ("" if host is owner else f", helped by {host.first_name} ({owner.first_name} off)") + ".",
                       verified=True)
            if not lead.move("shown", arrive + 60, host):
                return
            if rng.random() < 0.46:
                sold_at = arrive + int(rng.uniform(1.5, 4) * HOUR)
                lead.close("sold", sold_at, host)
                if owner.role == Role.INTERNET_AGENT:
                    lead.email(owner, self.rota.work_day_at(owner, sold_at, 1), "outbound",
                               f"Thank you for choosing {self.store_name}!")
                return
            self._shown_not_sold(lead, owner, arrive, follow, be_back=0.25)
            return
        # No-show.
        t = self.rota.work_day_at(owner, when, 0) if self.rota.on_shift(owner, when + HOUR) else self.rota.work_day_at(owner, when, 1)
        lead.text(owner, max(t, when + HOUR), "outbound", f"Hi {lead.first}, sorry we missed you today! "
                                                             "Want to pick another time?")
        if attempts > 1 and rng.random() < 0.35:
            t = self.rota.work_day_at(owner, when, rng.randint(1, 4))
            two_way = follow(owner, t, 0.9)
            if two_way and t <= self.now:
                # Still "appointment set": a second appointment, no new status.
                self._appointment_again(lead, owner, two_way, follow)
                return
        self._cooling_off(lead, owner, max(t, when), follow)

    def _appointment_again(self, lead: LeadState, owner: Person, set_at: int, follow) -> None:
        rng = self.rng
        when = self.rota.store_open_at(set_at, rng.randint(1, 4))
        if when > self.now:
            return
        if rng.random() < 0.6:
            host = self._host(owner, when)
            lead.visit(host, when, f"Checked in at reception: rescheduled appointment with {owner.first_name}.",
                       verified=True)
            if lead.move("shown", when + 60, host) and rng.random() < 0.5:
                lead.close("sold", when + int(rng.uniform(1.5, 4) * HOUR), host)
                return
            if lead.status == "shown":
                self._shown_not_sold(lead, owner, when, follow, be_back=0.2)
                return
        self._cooling_off(lead, owner, when, follow)

    def _shown_not_sold(self, lead: LeadState, owner: Person, t: int, follow, be_back: float) -> None:
        """Follow-ups after a visit; a be-back may still buy, otherwise lost within weeks."""
        rng = self.rng
        retail = owner.role == Role.RETAIL
        lost_at = t + rng.uniform(7, 30) * DAY
        comes_back = rng.random() < be_back
        back_at = t + rng.uniform(1, 12) * DAY if comes_back else math.inf
        day_gap = 1
        while True:
            t = self.rota.work_day_at(owner, t, day_gap)
            if t > self.now:
                return
            if t >= back_at:
                visit = self.rota.store_open_at(back_at, 0)
                if visit > self.now:
                    return
                host = self._host(owner, visit)
                lead.visit(host, visit, f"Be-back: customer returned to see {owner.first_name}.", verified=True)
                if rng.random() < 0.55:
                    lead.close("sold", visit + int(rng.uniform(1.5, 3.5) * HOUR), host)
                    return
                comes_back, back_at = False, math.inf
                continue
            if t >= lost_at:
                lead.close("lost", t, owner)
                return
            if rng.random() < self.effort or t - lead.received < 3 * DAY:
                follow(owner, t, 0.25)
            # Seed 000: retail keeps coverage with a note every day for three days.
            day_gap = 1 if retail and t - lead.received < 3 * DAY else rng.randint(1, 3)

    def _cooling_off(self, lead: LeadState, owner: Person, t: int, follow) -> None:
        """Contacted but no appointment: keep-in-touch follow-ups until the customer buys
        elsewhere or goes quiet."""
        rng = self.rng
        lost_at = t + rng.uniform(14, 60) * DAY
        while True:
            t = self.rota.work_day_at(owner, t, rng.choice((1, 1, 2, 2, 3)))
            if t > self.now:
                return
            if t >= lost_at:
                if rng.random() < 0.3:
                    lead.text(owner, t - rng.randint(1, 20) * HOUR, "inbound", rng.choice(TEXT_LOST_REPLIES))
                lead.close("lost", t, owner)
                return
            if rng.random() < self.effort:
                follow(owner, t, 0.3)
