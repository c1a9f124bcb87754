"""Who works when, for one store's simulation: shifts (is a person working, when do they next
work, a moment on a later working day), the store's open hours for appointments, and the
next in line of a pool, among those on shift."""

from __future__ import annotations

import random

from .organization import Person, StoreContext
from .timekeeping import DAY, HOUR, MINUTE


class Rota:
    """A store's shifts and open hours in epoch seconds, and the turns of its round robins."""

    def __init__(self, ctx: StoreContext, rng: random.Random):
        self.cal = ctx.calendar
        self.hours = ctx.hours
        self.rng = rng
        self.turns = {"agent": 0, "retail": 0}

    def on_shift(self, person: Person, ts: float) -> bool:
        _, weekday, seconds = self.cal.local(ts)
        span = person.shifts[weekday]
        return span is not None and span[0] <= seconds < span[1]

    def next_on_shift(self, person: Person, ts: float) -> int:
        """The earliest moment at or after ts at which the person is working."""
        cal = self.cal
        index = cal.day(ts)
        for k in range(15):
            j = index + k
            if j >= len(cal.midnights):
                break
            span = person.shifts[cal.weekdays[j]]
            if span is None:
                continue
            begin, end = cal.midnights[j] + span[0], cal.midnights[j] + span[1]
            if ts < begin:
                return begin
            if ts < end:
                return int(ts)
        return int(ts)

    def work_day_at(self, person: Person, ts: float, days_ahead: int, tod: float | None = None) -> int:
        """A moment on the person's first working day at least days_ahead days after ts,
        near time of day tod (seed 002: call back at the hour the lead arrived)."""
        cal, rng = self.cal, self.rng
        index = cal.day(ts) + days_ahead
        for j in range(index, min(index + 15, len(cal.midnights))):
            span = person.shifts[cal.weekdays[j]]
            if span is None:
                continue
            seconds = tod + rng.uniform(-40, 40) * MINUTE if tod is not None else -1.0
            if not span[0] <= seconds < span[1] - 10 * MINUTE:
                if tod is not None and seconds >= span[1] - 10 * MINUTE:
                    seconds = span[1] - rng.uniform(15, 150) * MINUTE  # evening lead: late in the shift
                elif tod is not None:
                    seconds = span[0] + rng.uniform(5, 120) * MINUTE  # early lead: first thing
                else:
                    seconds = rng.uniform(span[0] + 15 * MINUTE, span[1] - 15 * MINUTE)
            moment = cal.midnights[j] + seconds
            if moment > ts:
                return int(moment)
        return int(ts + max(days_ahead, 1) * DAY)

    def store_open_at(self, ts: float, days_ahead: int) -> int:
        """An appointment slot: a time the store is open, days_ahead days after ts."""
        cal, rng = self.cal, self.rng
        index = cal.day(ts) + days_ahead
        for j in range(index, min(index + 10, len(cal.midnights))):
            span = self.hours[cal.weekdays[j]]
            if span is None:
                continue
            slot = rng.randrange(span[0] + HOUR, span[1] - HOUR, 30 * MINUTE)
            moment = cal.midnights[j] + slot
            if moment > ts:
                return moment
        return int(ts + days_ahead * DAY)

    def pick(self, pool: list[Person], ts: int, turn: str) -> Person:
        """Next in line among those on shift; after hours, those working next. `turn` names
        the round robin ("agent" or "retail") whose place moves on."""
        current = self.turns[turn]
        size = len(pool)
        for k in range(size):
            person = pool[(current + k) % size]
            if self.on_shift(person, ts):
                self.turns[turn] = (current + k + 1) % size
                return person
        best = min(range(size), key=lambda k: (self.next_on_shift(pool[(current + k) % size], ts), k))
        self.turns[turn] = (current + best + 1) % size
        return pool[(current + best) % size]
