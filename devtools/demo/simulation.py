"""The history generator: one store's customers, leads, vehicles, status and assignment
history and contact events, simulated in the order they happened and streamed into a CopySink.
The simulation follows the rules the services enforce (E.164 phones and lowercased emails
unique per store, forward-only status moves, duplicates only of an open lead of the same
customer within the window, assignments matching the owner), so the rows look exactly like
rows the application wrote itself.

StoreSimulation decides what arrives and who gets it; its collaborators hold the rest: the
Rota (shifts, open hours, round-robin turns), Contacts (customers), Inventory (vehicles),
Providers (lead sources), Lifecycles (each lead's story) and LeadState (one lead's rows)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from org.models import Role

from .bulk import CopySink
from .customers import Contacts
from .lead_state import LeadState
from .lifecycles import Lifecycles
from .organization import Person, StoreContext
from .rota import Rota
from .sources import (
    INTAKE,
    INTERNET_KINDS,
    P_DUPLICATE,
    P_RETURNING,
    Providers,
    arrival_plan,
    comments_for,
    original_document,
)
from .timekeeping import DAY, MINUTE
from .timekeeping import ts as to_datetime
from .vehicles import Inventory, Vehicle


@dataclass
class LeadRecord:
    """What later leads need to know about an earlier one (duplicates, returning customers)."""

    lead_id: int
    customer_id: int
    received: int
    closed: float  # when it became sold/lost; inf while open
    owner: Person | None
    first: str
    last: str
    phone: str
    email: str
    vehicle: Vehicle
    provider: str
    duplicate: bool


class StoreSimulation:
    """Generates one store's customers, leads, vehicles, status/assignment history and
    contact events, in the order they happened, into a CopySink."""

    def __init__(self, ctx: StoreContext, *, sink: CopySink, rng: random.Random, start: int, now: int,
                 n_leads: int, effort: float):
        self.ctx = ctx
        self.sink = sink
        self.rng = rng
        self.start = start
        self.now = now
        self.n_leads = n_leads
        self.store_id = ctx.store_id
        self.store_name = ctx.spec.name
        self.agents = ctx.by_role(Role.INTERNET_AGENT)
        self.retail = ctx.by_role(Role.RETAIL)
        self.fleet = ctx.by_role(Role.FLEET)
        self.managers = ctx.by_role(Role.SALES_MANAGER)
        self.receptionist = ctx.by_role(Role.RECEPTIONIST)[0]
        self.rota = Rota(ctx, rng)
        self.contacts = Contacts(rng, sink, ctx.store_id, ctx.spec.region.customer_codes)
        self.providers = Providers(rng, ctx.spec.brand, ctx.spec.website)
        self.lives = Lifecycles(rng=rng, rota=self.rota, retail=self.retail, now=now, effort=effort,
                                store_name=ctx.spec.name, time_zone=ctx.spec.region.time_zone)
        self.recent: list[LeadRecord] = []  # internet leads, for duplicates (chronological)
        self.recent_start = 0
        self.closed_pool: list[LeadRecord] = []  # returning customers
        # Until when each customer has an open (non-duplicate) lead: a new lead then is a duplicate.
        self.customer_busy_until: dict[int, float] = {}
        self.events = sink.rows["event"]
        self.event_ids = sink.ids["event"]
        self.stats = {"duplicates": 0, "returning": 0, "sold": 0}
        self.inventory = Inventory(rng, ctx.spec.brand, to_datetime(now).year)

    def run(self, progress: Callable[[int], None] | None = None) -> None:
        plan = arrival_plan(self.rng, self.ctx.calendar, self.ctx.hours, self.start, self.now, self.n_leads)
        for index, (ts, kind) in enumerate(plan):
            self._lead(ts, kind)
            if index % 500 == 499:
                self.sink.maybe_flush()
                if progress and index % 100_000 == 99_999:
                    progress(index + 1)

    def _lead(self, ts: int, kind: str) -> None:
        """One lead arriving at ts: a new, returning or duplicate customer; its owner by the
        store's ways of handing out leads; its story; its rows."""
        rng, sink = self.rng, self.sink
        internet = kind in INTERNET_KINDS
        original: LeadRecord | None = None
        returning: LeadRecord | None = None
        if internet and rng.random() < P_DUPLICATE:
            original = self._open_recent(ts)
        elif rng.random() < P_RETURNING and self.closed_pool:
            candidate = rng.choice(self.closed_pool)
            if self.customer_busy_until.get(candidate.customer_id, 0) < ts - DAY:
                returning = candidate
        provider, provider_id = self.providers.pick(kind)
        trade = None
        if original is not None:
            customer_id, first, last = original.customer_id, original.first, original.last
            phone, email = original.phone, original.email
            vehicle = original.vehicle if rng.random() < 0.7 else self.inventory.vehicle_for(kind, provider)
            if rng.random() < 0.3 or not (phone or email):
                # The customer typed another address on the second site; matched by phone.
                if phone:
                    email = self.contacts.add_email(customer_id, first, last)
            self.stats["duplicates"] += 1
        elif returning is not None:
            customer_id, first, last = returning.customer_id, returning.first, returning.last
            phone, email = returning.phone, returning.email
            vehicle = self.inventory.vehicle_for(kind, provider)
            self.stats["returning"] += 1
        else:
            customer_id, first, last, phone, email = self.contacts.new_customer(ts, kind)
            vehicle = self.inventory.vehicle_for(kind, provider)
        if rng.random() < 0.24:
            trade = self.inventory.used_vehicle("trade-in", "", with_vin=rng.random() < 0.5)
        comments = comments_for(rng, kind, vehicle, trade, provider)
        vehicles = [vehicle] + ([trade] if trade else [])
        lead_id = sink.ids["lead"].take()
        for v in vehicles:
            sink.rows["vehicle"].append((sink.ids["vehicle"].take(), lead_id, v.interest, v.condition, v.year, v.make,
                                         v.model, v.trim, v.stock, v.vin, v.odometer))
        lead = LeadState(self, lead_id, customer_id, ts, first, vehicle)
        owner, created_by, in_claim_pool = self._hand_out(lead, ts, kind, original)
        intake = INTAKE[kind]
        if intake == "adf" and rng.random() < 0.3:
            intake = "email"  # ADF delivered by email
        document = original_document(kind, ts, provider, provider_id, first, last, phone, email, vehicles, comments,
                                     store_name=self.store_name)
        routed_at = to_datetime(ts + 2)
        sink.rows["lead"].append((
            lead_id, self.store_id, customer_id, kind, provider, provider_id, intake, comments, to_datetime(ts),
            lead.status, owner.staff_id if owner else None, original.lead_id if original else None, in_claim_pool,
            None if original else to_datetime(ts), routed_at, document, created_by,
        ))
        lead.write_status(created_by)
        if lead.status == "sold":
            self.stats["sold"] += 1
        record = LeadRecord(lead_id, customer_id, ts, lead.closed, owner, first, last, phone, email, vehicle,
                            provider, original is not None)
        if original is None:
            self.customer_busy_until[customer_id] = lead.closed
            if internet and owner is not None:
                self.recent.append(record)
        if lead.closed != math.inf:
            if len(self.closed_pool) < 5_000:
                self.closed_pool.append(record)
            else:
                self.closed_pool[rng.randrange(5_000)] = record

    def _hand_out(self, lead: LeadState, ts: int, kind: str, original: LeadRecord | None
                  ) -> tuple[Person | None, int | None, bool]:
        """Who gets the lead, as the store's ways of handing out leads would have it (seeds
        001/003), and its story from there: (owner, created by, still in the claim pool)."""
        rng = self.rng
        internet = kind in INTERNET_KINDS
        created_by = None
        in_claim_pool = False
        owner: Person | None
        if original is not None:
            owner = original.owner
            lead.assign(None, owner, None, ts,
                        f"Duplicate of lead #{original.lead_id} (same customer within 30 days): goes to its owner.")
            self.lives.duplicate(lead, owner, original)
        elif internet and self.now - ts < 45 * MINUTE and rng.random() < 0.5:
            # Just arrived: still in the claim pool, nobody has it yet.
            owner = None
            in_claim_pool = True
            lead.assign(None, None, None, ts + 2, "No routing rule: placed in the store's claim pool.")
        elif kind == "walk_in":
            owner = self.rota.pick(self.retail, ts, "retail")
            created_by = owner.staff_id
            lead.assign(None, owner, owner, ts, "Walk-in logged by the salesperson who greeted the customer.")
            self.lives.walk_in(lead, owner)
        elif kind == "phone_up" and rng.random() < 0.4:
            owner = self.rota.pick(self.retail + self.agents, ts, "retail")
            created_by = self.receptionist.staff_id
            lead.assign(None, owner, self.receptionist, ts + 20,
                        "Receptionist board: first salesperson to call in.")
            self.lives.phone_up(lead, owner)
        elif internet and self.fleet and rng.random() < 0.012:
            owner = rng.choice(self.fleet)
            lead.assign(None, owner, None, ts + 2, "Routing rule: fleet and business purchases go to the fleet team.")
            self.lives.internet(lead, owner, kind, fleet=True)
        else:
            owner = self.rota.pick(self.agents, ts, "agent")
            if kind == "phone_up":
                lead.assign(None, owner, None, ts + 2, "Round robin: next in line among internet agents on shift.")
                self.lives.phone_up(lead, owner)
            elif rng.random() < 0.03:
                manager = rng.choice(self.managers)
                assigned_at = ts + rng.randint(5, 40) * MINUTE
                lead.assign(None, owner, manager, assigned_at,
                            f"Manager assigned: the customer asked for {owner.first_name}.")
                lead.first_touch_after = assigned_at
                self.lives.internet(lead, owner, kind)
            elif rng.random() < 0.05 and self.rota.on_shift(owner, ts):
                # Seed 003: no first response in time, so the lead moved to the next in line.
                lead.assign(None, owner, None, ts + 2, "Round robin: next in line among internet agents on shift.")
                previous = owner
                owner = self.rota.pick(self.agents, ts + 15 * MINUTE, "agent")
                if owner is previous:
                    owner = self.agents[(self.agents.index(previous) + 1) % len(self.agents)]
                lead.assign(previous, owner, None, ts + 15 * MINUTE,
                            "No first response within 15 minutes: moved to the next in line.")
                lead.first_touch_after = ts + 15 * MINUTE
                self.lives.internet(lead, owner, kind)
            else:
                lead.assign(None, owner, None, ts + 2, "Round robin: next in line among internet agents on shift.")
                self.lives.internet(lead, owner, kind)
        return owner, created_by, in_claim_pool

    def _open_recent(self, ts: int) -> LeadRecord | None:
        """An internet lead of the last 30 days still open at ts (the service's duplicate rule)."""
        recent = self.recent
        while self.recent_start < len(recent) and recent[self.recent_start].received < ts - 30 * DAY:
            self.recent_start += 1
        if self.recent_start > 20_000:  # forget leads older than the window (bounded memory)
            del recent[:self.recent_start]
            self.recent_start = 0
        if self.recent_start >= len(recent):
            return None
        for _ in range(4):
            candidate = recent[self.rng.randrange(self.recent_start, len(recent))]
            if candidate.closed > ts and candidate.owner is not None and candidate.received < ts - 10 * MINUTE:
                return candidate
        return None
