"""One lead while its history is simulated: its status path (forward only, stopping at now),
its assignment rows, and its contact events (calls, texts, emails, notes, visits), written to
the sink as the application would have recorded them."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from .organization import Person
from .reference import EMAIL_DOMAINS
from .timekeeping import HOUR
from .timekeeping import ts as to_datetime
from .vehicles import Vehicle

if TYPE_CHECKING:
    from .simulation import StoreSimulation


def random_hex(rng: random.Random, bits: int = 128) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


class LeadState:
    """One lead's status path, assignments and events while it is simulated."""

    __slots__ = ("sim", "lead_id", "customer_id", "received", "first", "vehicle", "status", "closed",
                 "changes", "first_touch_after")

    def __init__(self, sim: StoreSimulation, lead_id: int, customer_id: int, received: int, first: str,
                 vehicle: Vehicle):
        self.sim = sim
        self.lead_id = lead_id
        self.customer_id = customer_id
        self.received = received
        self.first = first
        self.vehicle = vehicle
        self.status = "new"
        self.closed = math.inf
        self.changes: list[tuple[str, str, int | None, int]] = [("", "new", None, received)]
        self.first_touch_after = received

    # ---- status and ownership -----------------------------------------------------------

    def move(self, to: str, t: int, by: Person | None) -> bool:
        """Record a status change if it happened before now; False means the story stops."""
        if t > self.sim.now or self.closed != math.inf:
            return False
        if to == self.status:
            return True
        self.changes.append((self.status, to, by.staff_id if by else None, t))
        self.status = to
        return True

    def close(self, to: str, t: int, by: Person | None) -> None:
        if self.status not in ("shown",) and to == "sold":
            return
        if self.move(to, t, by):
            self.closed = t

    def write_status(self, created_by: int | None) -> None:
        sink = self.sim.sink
        rows, ids = sink.rows["status"], sink.ids["status"]
        for index, (from_status, to_status, by, t) in enumerate(self.changes):
            rows.append((ids.take(), self.lead_id, from_status, to_status, created_by if index == 0 else by, to_datetime(t)))

    def assign(self, previous: Person | None, to: Person | None, by: Person | None, t: int, reason: str) -> None:
        sink = self.sim.sink
        sink.rows["assignment"].append((
            sink.ids["assignment"].take(), self.lead_id, previous.staff_id if previous else None,
            to.staff_id if to else None, by.staff_id if by else None, reason[:300], to_datetime(t),
        ))

    # ---- events ----------------------------------------------------------------------------

    def _event(self, t: int, staff: Person | None, channel: str, direction: str, outcome: str, evidence: str,
               body: str = "", talk: int | None = None, answered: bool | None = None, call_sid: str = "",
               message_sid: str = "", recording_sid: str = "", email_id: str = "", outside: bool = False,
               recorded_after: int = 2) -> bool:
        sim = self.sim
        if t > sim.now:
            return False
        recorded = min(t + recorded_after, sim.now)
        sim.events.append((
            sim.event_ids.take(), sim.store_id, self.customer_id, self.lead_id, staff.staff_id if staff else None,
            channel, direction, outcome, to_datetime(t), to_datetime(recorded), evidence, outside, body, talk, answered, call_sid,
            message_sid, recording_sid, email_id, "", "",
        ))
        return True

    def call(self, staff: Person, t: int, direction: str, outcome: str, talk: int, verified: bool) -> bool:
        rng = self.sim.rng
        if not verified:
            return self._event(t, staff, "call", direction, outcome, "self_reported",
                               body={"connected": "spoke with customer", "voicemail": "left message"}.get(outcome,
                                                                                                        "no answer"),
                               recorded_after=rng.randint(30, 4 * HOUR))
        answered = True if outcome == "connected" else (False if outcome == "voicemail" else None)
        recording = f"RE{random_hex(rng)}" if outcome in ("connected", "voicemail") else ""
        return self._event(t, staff, "call", direction, outcome, "verified", talk=talk, answered=answered,
                           call_sid=f"CA{random_hex(rng)}", recording_sid=recording, recorded_after=talk + rng.randint(1, 5))

    def call_attempt(self, staff: Person, t: int) -> int:
        """An outbound call nobody two-way answers; returns when the agent hung up."""
        rng = self.sim.rng
        r = rng.random()
        if r < 0.5:
            outcome, talk = "voicemail", rng.randint(18, 50)
        elif r < 0.93:
            outcome, talk = "no_answer", 0
        elif r < 0.97:
            outcome, talk = "busy", 0
        else:
            outcome, talk = "connected", rng.randint(6, 28)  # "can't talk now": under the minimum talk time
        self.call(staff, t, "outbound", outcome, talk, verified=True)
        return t + talk + rng.randint(20, 45)

    def text(self, staff: Person, t: int, direction: str, body: str) -> bool:
        rng = self.sim.rng
        if direction == "inbound":
            outcome = "reply"
        else:
            r = rng.random()
            outcome = "delivered" if r < 0.93 else ("sent" if r < 0.975 else "failed")
        return self._event(t, staff, "text", direction, outcome, "verified", body=body,
                           message_sid=f"SM{random_hex(rng)}", recorded_after=rng.randint(1, 8))

    def email(self, staff: Person, t: int, direction: str, body: str) -> bool:
        sim = self.sim
        rng = sim.rng
        if direction == "inbound":
            message_id = f"<{random_hex(rng, 64)}.{random_hex(rng, 32)}@mail.{rng.choice(EMAIL_DOMAINS)}>"
            outcome = "reply"
        else:
            message_id = f"<{to_datetime(t):%Y%m%d%H%M%S}.{random_hex(rng, 64)}@{sim.ctx.spec.slug}.dealercrm.example>"
            outcome = "sent"
        return self._event(t, staff, "email", direction, outcome, "verified", body=body, email_id=message_id,
                           recorded_after=rng.randint(1, 20))

    def note(self, staff: Person, t: int, body: str, outside: bool = False, channel: str = "note",
             outcome: str = "note") -> bool:
        rng = self.sim.rng
        direction = "" if channel == "note" else "outbound"
        return self._event(t, staff, channel, direction, outcome, "self_reported", body=body, outside=outside,
                           recorded_after=rng.randint(5, 600))

    def visit(self, staff: Person, t: int, body: str, verified: bool) -> bool:
        return self._event(t, staff, "visit", "inbound", "visited", "verified" if verified else "self_reported",
                           body=body, recorded_after=30)

    def fill(self, template: str, staff: Person) -> str:
        """A wording template with this lead's customer, vehicle and the staff member."""
        v = self.vehicle
        return template.format(first=self.first, agent=staff.first_name, store=self.sim.store_name,
                               vehicle=f"{v.year} {v.model}", model=v.model)
