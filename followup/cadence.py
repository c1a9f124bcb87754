"""Follow-up timing, as pure functions: when each step of a new lead's cadence falls due, and
when the next keep-in-touch task does.

Conventions (seed 001, seed 002, DESIGN.md "Follow-up"):
- The best time to reach a customer is the time of day their lead arrived; for a walk-in it is
  the store's busiest showroom hour. Every due time is placed inside store hours, in the store's
  zone: a time before opening moves to the opening, a time after closing to an hour before it,
  a closed day to the next open day.
- Day 0 is the day the lead arrived: its steps are due at once (or at the next opening).
- Keep-in-touch tasks fall due `margin` before the customer would drop out of the agent's
  coverage window, at the best time on or before that day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from org import hours

DEFAULT_STEPS: list[tuple[int, str]] = [(day, channel) for day in range(5) for channel in ("call", "text", "email")]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LATE_SLACK = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Due:
    day: int
    channel: str
    due_at: dt.datetime


def _spans(business_hours: dict, day: dt.date) -> list[tuple[dt.time, dt.time]]:
    return [(dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in (business_hours or {}).get(WEEKDAYS[day.weekday()], [])]


def place_in_hours(business_hours: dict, tz, day: dt.date, wanted: dt.time) -> dt.datetime:
    """`wanted` on `day` in the store's zone, moved inside that day's hours (or to the next open
    day at the same time of day). A store with no hours at all: exactly `wanted`."""
    if not any((business_hours or {}).get(d) for d in WEEKDAYS):
        return dt.datetime.combine(day, wanted, tzinfo=tz).astimezone(dt.UTC)
    for offset in range(14):
        current = day + dt.timedelta(days=offset)
        spans = _spans(business_hours, current)
        if not spans:
            continue
        for opens, closes in spans:
            if opens <= wanted < closes:
                return dt.datetime.combine(current, wanted, tzinfo=tz).astimezone(dt.UTC)
        first_open = spans[0][0]
        if wanted < first_open:
            return dt.datetime.combine(current, first_open, tzinfo=tz).astimezone(dt.UTC)
        # After the last closing (or between spans): an hour before that span's close.
        before = [span for span in spans if span[1] <= wanted]
        opens, closes = before[-1] if before else spans[-1]
        late = dt.datetime.combine(current, closes, tzinfo=tz) - LATE_SLACK
        start = dt.datetime.combine(current, opens, tzinfo=tz)
        return max(late, start).astimezone(dt.UTC)
    return dt.datetime.combine(day, wanted, tzinfo=tz).astimezone(dt.UTC)


def best_time(received_at: dt.datetime, tz, *, walk_in: bool, busiest_hour: int) -> dt.time:
    if walk_in:
        return dt.time(busiest_hour)
    local = received_at.astimezone(tz)
    return dt.time(local.hour, local.minute)


def cadence_due(*, received_at: dt.datetime, start: dt.datetime, tz, business_hours: dict,
                steps: list[tuple[int, str]], wanted: dt.time) -> list[Due]:
    """When each (day, channel) step falls due. Day 0 steps are due at `start` (when the owner
    got the lead) or the next opening; later days at the best time on that local day."""
    arrival_day = received_at.astimezone(tz).date()
    first = hours.next_open(business_hours, tz, start) or start
    result = []
    for day, channel in sorted(steps, key=lambda step: (step[0], ("call", "text", "email").index(step[1]))):
        if day == 0:
            due = first
        else:
            due = max(place_in_hours(business_hours, tz, arrival_day + dt.timedelta(days=day), wanted), first)
        result.append(Due(day, channel, due))
    return result


def keep_in_touch_due(*, last_contact: dt.datetime, every: dt.timedelta, tz, business_hours: dict,
                      wanted: dt.time) -> dt.datetime:
    """The best time on or before `last_contact + every`, inside store hours, never before the
    contact itself."""
    target = last_contact + every
    day = target.astimezone(tz).date()
    for back in range(0, 8):
        candidate = place_in_hours(business_hours, tz, day - dt.timedelta(days=back), wanted)
        if last_contact < candidate <= target:
            return candidate
    return target
