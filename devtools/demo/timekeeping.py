"""Time for the simulation: all arithmetic is in epoch seconds, in the store's zone. A Calendar
holds the local midnights of the simulated days, so a local time is one bisect away."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from zoneinfo import ZoneInfo

from org.models import WEEKDAYS

DAY = 86_400
HOUR = 3_600
MINUTE = 60

Span = tuple[int, int]  # seconds after local midnight


def hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * HOUR + int(minutes) * MINUTE


def ts(value: float) -> dt.datetime:
    """An aware UTC datetime for epoch seconds (whole seconds, as the rows store them)."""
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


def clock_time(seconds: int) -> dt.time:
    """The time of day `seconds` after midnight, to the minute."""
    return dt.time(seconds // HOUR, seconds % HOUR // MINUTE)


class Calendar:
    """Local midnights of a range of days, so local times are found with one bisect."""

    def __init__(self, tz: ZoneInfo, first: dt.date, last: dt.date):
        self.midnights: list[int] = []
        self.weekdays: list[int] = []
        day = first
        while day <= last:
            self.midnights.append(int(dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()))
            self.weekdays.append(day.weekday())
            day += dt.timedelta(days=1)

    def day(self, ts: float) -> int:
        index = bisect_right(self.midnights, ts) - 1
        return min(max(index, 0), len(self.midnights) - 1)

    def local(self, ts: float) -> tuple[int, int, float]:
        """(day index, weekday, seconds after local midnight)."""
        index = self.day(ts)
        return index, self.weekdays[index], ts - self.midnights[index]


def calendar_for(tz_name: str, start: int, now: int, cache_: dict[str, Calendar]) -> Calendar:
    """The calendar of a zone covering the simulated months (and the weeks after now that
    appointments and follow-ups look ahead to), built once per zone."""
    if tz_name not in cache_:
        tz = ZoneInfo(tz_name)
        first = (ts(start).astimezone(tz) - dt.timedelta(days=2)).date()
        last = (ts(now).astimezone(tz) + dt.timedelta(days=40)).date()
        cache_[tz_name] = Calendar(tz, first, last)
    return cache_[tz_name]


def hours_by_weekday(business_hours: dict) -> list[Span | None]:
    """A store's open hours by weekday (0 = Monday): first opening to last closing, or None."""
    hours: list[Span | None] = []
    for day in WEEKDAYS:
        spans = business_hours.get(day) or []
        if spans:
            hours.append((hhmm(spans[0][0]), hhmm(spans[-1][1])))
        else:
            hours.append(None)
    return hours
