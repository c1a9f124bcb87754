"""Schedule math for lead distribution: store business hours and staff weekly shifts.

Pure Python, no database: callers pass plain data.

Conventions
-----------
* Store zone. Business hours and shifts are wall-clock times in the store's IANA time zone
  (``tz``, a ``zoneinfo.ZoneInfo``; an IANA name string is accepted too). A wall-clock time on a
  local date becomes an instant through ``datetime.combine(local_date, time, tzinfo=tz)`` and is
  then normalized to UTC.
* Aware datetimes only. Every datetime passed in must be timezone-aware (``ValueError``
  otherwise); every datetime returned is aware and in ``datetime.timezone.utc``.
* Half-open intervals. An interval ``(start, end)`` covers ``start <= t < end``: a store open
  09:00-20:00 is open at 09:00 and closed at 20:00. Interval lists are sorted, clipped to the
  window asked for, and overlapping or touching intervals are merged.
* Business hours: ``{"mon": [["09:00", "20:00"]], ..., "sun": []}``; a missing or empty day is
  closed; each pair has open < close (validated by ``org.models.validate_business_hours``).
* Shifts: ``(weekday, starts, ends)`` with weekday 0 = Monday and ``datetime.time`` bounds. When
  ``ends < starts`` the shift is overnight: Friday 22:00-02:00 covers Friday 22:00-24:00 and
  Saturday 00:00-02:00. ``ends == starts`` is an empty shift and is ignored.
* DST. All lengths are measured between real instants (UTC), never as wall-clock differences:
  a shift 01:00-04:00 lasts 2 real hours on a spring-forward night and 4 on a fall-back night.
  A wall-clock time that does not exist (inside the spring-forward gap) takes the offset in
  force before the gap (``fold=0``), which lands it the length of the gap later; an ambiguous
  time (inside the repeated fall-back hour) means its first occurrence.

Efficiency: each call walks local dates from the day before the window (for overnight shifts)
to its last day and builds that day's intervals; there are no per-minute loops.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "WEEKDAYS",
    "add_business_minutes",
    "business_minutes_between",
    "day_shift_intervals",
    "hours_as_shifts",
    "local_date",
    "next_open",
    "next_shift_start",
    "on_shift",
    "open_intervals",
    "shift_elapsed_share",
    "shift_intervals",
    "store_is_open",
]

# The same keys as org.models.WEEKDAYS, kept here so this module does not import Django.
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

Interval = tuple[datetime, datetime]
# Per weekday (0 = Monday): (start, end, days the end is after the start's date: 0 or 1).
_WeeklyTemplate = list[list[tuple[time, time, int]]]

_NEXT_OPEN_HORIZON = timedelta(days=14)
_NEXT_SHIFT_HORIZON = timedelta(days=8)
_TICK = timedelta(microseconds=1)


# ----------------------------------------------------------------------------- small helpers


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _utc(at: datetime) -> datetime:
    """`at` as an aware UTC datetime; naive datetimes are a caller bug."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"Expected a timezone-aware datetime, got naive {at!r}.")
    return at.astimezone(UTC)


def _instant(day: date, wall: time, tz: tzinfo) -> datetime:
    """The UTC instant of wall-clock `wall` on local date `day` (fold=0 in gaps and overlaps)."""
    return datetime.combine(day, wall.replace(tzinfo=None, fold=0), tzinfo=tz).astimezone(UTC)


def local_date(tz: tzinfo | str, at: datetime) -> date:
    """The store's local calendar date at instant `at`."""
    return _utc(at).astimezone(_zone(tz)).date()


def _local_dates(tz: tzinfo, start: datetime, end: datetime) -> Iterator[date]:
    """Local dates from the day before `start`'s (for overnight spans) through `end`'s."""
    day = local_date(tz, start) - timedelta(days=1)
    last = local_date(tz, end)
    while day <= last:
        yield day
        day += timedelta(days=1)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined; empty intervals dropped."""
    merged: list[Interval] = []
    for begin, finish in sorted(intervals):
        if finish <= begin:
            continue
        if merged and begin <= merged[-1][1]:
            if finish > merged[-1][1]:
                merged[-1] = (merged[-1][0], finish)
        else:
            merged.append((begin, finish))
    return merged


def _clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    clipped = []
    for begin, finish in intervals:
        begin, finish = max(begin, start), min(finish, end)
        if begin < finish:
            clipped.append((begin, finish))
    return clipped


def _expand(template: _WeeklyTemplate, tz: tzinfo, start: datetime, end: datetime) -> list[Interval]:
    """The weekly template laid over the local dates around [start, end): UTC, clipped, merged."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    raw = [
        (_instant(day, begins, tz), _instant(day + timedelta(days=spill), ends, tz))
        for day in _local_dates(tz, start, end)
        for begins, ends, spill in template[day.weekday()]
    ]
    return _clip(_merge(raw), start, end)


def _minutes(intervals: Iterable[Interval]) -> float:
    return sum((finish - begin for begin, finish in intervals), timedelta()).total_seconds() / 60


# ----------------------------------------------------------------------------- business hours


def _hours_template(business_hours: dict | None) -> _WeeklyTemplate:
    """Business hours as a weekly template; spans with open >= close are ignored."""
    template: _WeeklyTemplate = [[] for _ in WEEKDAYS]
    for index, key in enumerate(WEEKDAYS):
        for opens, closes in (business_hours or {}).get(key) or []:
            begins, ends = time.fromisoformat(opens), time.fromisoformat(closes)
            if begins < ends:
                template[index].append((begins, ends, 0))
    return template


def _has_hours(template: _WeeklyTemplate) -> bool:
    return any(template)


def open_intervals(business_hours: dict, tz: tzinfo | str, start: datetime, end: datetime) -> list[Interval]:
    """The store's open intervals within [start, end): UTC, clipped, merged, sorted."""
    return _expand(_hours_template(business_hours), _zone(tz), start, end)


def store_is_open(business_hours: dict, tz: tzinfo | str, at: datetime) -> bool:
    """Open at instant `at` (opening time inclusive, closing time exclusive)."""
    return bool(open_intervals(business_hours, tz, at, _utc(at) + _TICK))


def next_open(business_hours: dict, tz: tzinfo | str, at: datetime) -> datetime | None:
    """`at` (in UTC) if the store is open then, else the next opening instant.

    None when the store has no hours at all (looks ahead at most 14 days).
    """
    at = _utc(at)
    intervals = open_intervals(business_hours, tz, at, at + _NEXT_OPEN_HORIZON)
    return intervals[0][0] if intervals else None


def add_business_minutes(business_hours: dict, tz: tzinfo | str, start: datetime, minutes: float) -> datetime:
    """The instant when `minutes` of open time have elapsed counting from `start`.

    The clock pauses while the store is closed and, if `start` is in closed time, starts at the
    next opening. `minutes == 0` gives `next_open(start)`. A deadline that uses up an open
    interval exactly is that interval's closing instant. A store with no hours at all never
    pauses the clock: the result is `start + minutes`.
    """
    if minutes < 0:
        raise ValueError(f"minutes must be >= 0, got {minutes!r}.")
    template, zone, cursor = _hours_template(business_hours), _zone(tz), _utc(start)
    remaining = timedelta(minutes=minutes)
    if not _has_hours(template):
        return cursor + remaining
    # Every 14-day window holds at least one full week, so each pass consumes open time.
    while True:
        window_end = cursor + _NEXT_OPEN_HORIZON
        for begin, finish in _expand(template, zone, cursor, window_end):
            if remaining <= finish - begin:
                return begin + remaining
            remaining -= finish - begin
        cursor = window_end


def business_minutes_between(business_hours: dict, tz: tzinfo | str, start: datetime, end: datetime) -> float:
    """Open minutes within [start, end); 0 if end <= start. No hours at all: plain minutes."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0.0
    template = _hours_template(business_hours)
    if not _has_hours(template):
        return (end - start).total_seconds() / 60
    return _minutes(_expand(template, _zone(tz), start, end))


# ----------------------------------------------------------------------------- staff shifts


def _shift_template(shifts: Iterable[tuple[int, time, time]]) -> _WeeklyTemplate:
    """Weekly shifts as a template; overnight shifts end on the next day, empty ones are dropped."""
    template: _WeeklyTemplate = [[] for _ in WEEKDAYS]
    for weekday, starts, ends in shifts:
        if not 0 <= weekday <= 6:
            raise ValueError(f"Shift weekday must be 0 (Monday) .. 6 (Sunday), got {weekday!r}.")
        if starts != ends:
            template[weekday].append((starts, ends, 1 if ends < starts else 0))
    return template


def shift_intervals(
    shifts: Iterable[tuple[int, time, time]], tz: tzinfo | str, start: datetime, end: datetime
) -> list[Interval]:
    """The intervals covered by the weekly `shifts` within [start, end): UTC, clipped, merged, sorted."""
    return _expand(_shift_template(shifts), _zone(tz), start, end)


def on_shift(shifts: Iterable[tuple[int, time, time]], tz: tzinfo | str, at: datetime) -> bool:
    """Inside one of the weekly `shifts` at instant `at` (start inclusive, end exclusive)."""
    return bool(shift_intervals(shifts, tz, at, _utc(at) + _TICK))


def next_shift_start(shifts: Iterable[tuple[int, time, time]], tz: tzinfo | str, at: datetime) -> datetime | None:
    """`at` (in UTC) if on shift then, else the next instant a shift begins (looks 8 days ahead).

    None when there are no shifts.
    """
    at = _utc(at)
    intervals = shift_intervals(shifts, tz, at, at + _NEXT_SHIFT_HORIZON)
    return intervals[0][0] if intervals else None


def day_shift_intervals(shifts: Iterable[tuple[int, time, time]], tz: tzinfo | str, day: date) -> list[Interval]:
    """The intervals of the weekly `shifts` that START on local date `day`: UTC, merged, sorted.

    An overnight shift belongs wholly to the day it starts on: Monday 18:00-02:00 is Monday's
    shift and runs to Tuesday 02:00. A split shift (9-1, 3-7) gives two intervals."""
    zone = _zone(tz)
    template = _shift_template(shifts)
    return _merge(
        (_instant(day, begins, zone), _instant(day + timedelta(days=spill), ends, zone))
        for begins, ends, spill in template[day.weekday()]
    )


def shift_elapsed_share(
    shifts: Iterable[tuple[int, time, time]], tz: tzinfo | str, day: date, at: datetime
) -> float | None:
    """The share (0..1) of the shift time starting on local date `day` that has gone by at
    instant `at`, measured in real minutes (a DST night is as long as it really is): 0 before
    the first shift starts, 1 once the last one ends; a split shift's break does not count.
    None when no shift starts on `day` (a day off)."""
    at = _utc(at)
    intervals = day_shift_intervals(shifts, tz, day)
    whole = _minutes(intervals)
    if whole <= 0:
        return None
    first = intervals[0][0]
    gone = _minutes(_clip(intervals, first, at)) if at > first else 0.0
    return min(1.0, max(0.0, gone / whole))


def hours_as_shifts(business_hours: dict | None) -> list[tuple[int, time, time]]:
    """The store's business hours as weekly shifts: the schedule of a person with none entered."""
    return [
        (index, begins, ends)
        for index, day_spans in enumerate(_hours_template(business_hours))
        for begins, ends, _ in day_spans
    ]
