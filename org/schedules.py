"""Staff schedules: a person's weekly shifts, typed the way a manager writes a schedule
("9-6", "9:00-13:00, 15:00-19:00", "10pm-2am", "off"), and their time off.

The page (org/views.py) and the API call these; distribution reads the rows (pools.members).
Changing who works nudges the store's leads that are waiting for someone on shift."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from org import hours
from org.models import WEEKDAYS, Shift, Staff, Store, TimeOff

_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm|a|p)?$")
MAX_TIME_OFF_DAYS = 366


def _time(text: str) -> dt.time:
    found = _TIME.match(text.strip().lower().replace(".", ""))
    if not found:
        raise ValueError(text)
    hour, minute, half = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(text)
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    if hour == 24 and minute == 0:
        return dt.time(23, 59, 59, 999999)  # "to midnight"
    if hour > 23 or minute > 59:
        raise ValueError(text)
    return dt.time(hour, minute)


def _has_half(text: str) -> bool:
    return bool(re.search(r"[ap]\.?m?\.?\s*$", text.strip().lower()))


def day_parse(text: str) -> list[tuple[dt.time, dt.time]]:
    """One day's shifts from what a manager typed; [] for a day off ("", "off", "-").

    "9-5" is read as a paper schedule means it, 9:00 to 17:00: an end earlier than a morning
    start, neither written with am/pm, is in the afternoon. An overnight shift starts in the
    afternoon or evening ("22-2", "10pm-2am"). Raises ValueError with a sentence saying what is wrong."""
    text = re.sub(r"\s+to\s+", "-", text.strip().replace("–", "-").replace("—", "-"), flags=re.IGNORECASE)
    if text.lower() in ("", "off", "-", "day off", "x"):
        return []
    spans = []
    for part in (p.strip() for p in text.split(",")):
        if part.count("-") != 1:
            raise ValueError(f"“{part}” is not a shift: write it as start-end, like 9:00-18:00.")
        start_text, end_text = part.split("-")
        try:
            starts, ends = _time(start_text), _time(end_text)
        except ValueError as exc:
            raise ValueError(f"“{exc}” is not a time of day: write 9, 9:30, 17:00 or 5pm.") from None
        if (ends < starts and starts.hour < 12 and ends.hour < 12 and not _has_half(start_text)
                and not _has_half(end_text)):
            ends = ends.replace(hour=ends.hour + 12)
        if starts == ends:
            raise ValueError(f"“{part}” starts and ends at the same time.")
        spans.append((starts, ends))
    return spans


def day_text(spans: list[tuple[dt.time, dt.time]]) -> str:
    """The inverse of day_parse, for the form: "9:00-18:00, 19:00-21:00" or "off"."""
    if not spans:
        return "off"

    def clock(t: dt.time) -> str:
        return "24:00" if t == dt.time(23, 59, 59, 999999) else f"{t.hour}:{t.minute:02d}"

    def morning(t: dt.time) -> str:
        return f"{t.hour or 12}:{t.minute:02d}am"

    def span(starts: dt.time, ends: dt.time) -> str:
        if ends < starts and starts.hour < 12:  # overnight from the morning: say so, or it reads as "9-5"
            return f"{morning(starts)}-{morning(ends)}"
        return f"{clock(starts)}-{clock(ends)}"

    return ", ".join(span(s, e) for s, e in spans)


def week_of(staff: Staff) -> dict[int, list[tuple[dt.time, dt.time]]]:
    week: dict[int, list[tuple[dt.time, dt.time]]] = {day: [] for day in range(7)}
    for shift in staff.shifts.all():
        week[shift.weekday].append((shift.starts, shift.ends))
    return week


def week_save(*, staff: Staff, days: dict[int, str]) -> dict[int, list[tuple[dt.time, dt.time]]]:
    """Replace a person's weekly shifts with what was typed for each weekday (0 = Monday).

    Every day is checked first; any error is a ValidationError naming the day and nothing is saved."""
    parsed: dict[int, list[tuple[dt.time, dt.time]]] = {}
    errors: dict[str, str] = {}
    for day in range(7):
        try:
            parsed[day] = day_parse(days.get(day, ""))
        except ValueError as exc:
            errors[WEEKDAYS[day]] = str(exc)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Staff.objects.select_for_update().filter(pk=staff.pk).first()
        Shift.objects.filter(staff=staff).delete()
        Shift.objects.bulk_create(
            [Shift(staff=staff, weekday=day, starts=s, ends=e) for day, spans in parsed.items() for s, e in spans]
        )
        _nudge_waiting(staff)
    return parsed


def time_off_add(*, staff: Staff, first_day: dt.date, last_day: dt.date | None, reason: str = "") -> TimeOff:
    last_day = last_day or first_day
    if last_day < first_day:
        raise ValidationError({"last_day": "The last day is before the first day."})
    if (last_day - first_day).days >= MAX_TIME_OFF_DAYS:
        raise ValidationError({"last_day": f"Time off runs at most {MAX_TIME_OFF_DAYS} days; mark a person who left inactive."})
    with transaction.atomic():
        off = TimeOff.objects.create(staff=staff, first_day=first_day, last_day=last_day, reason=reason.strip()[:200])
    return off


def time_off_remove(*, time_off: TimeOff) -> None:
    with transaction.atomic():
        staff = time_off.staff
        time_off.delete()
        _nudge_waiting(staff)


def _nudge_waiting(staff: Staff) -> None:
    """Someone may be on shift now who was not: leads waiting for a shift are tried on the next sweep."""
    from distribution.services import waiting_leads_retry

    waiting_leads_retry(store_id=staff.store_id)


# --- who is working --------------------------------------------------------------------------

@dataclass
class Whereabouts:
    staff: Staff
    on_now: bool
    text: str  # "On until 6:00 PM", "Next on Tue 9:00 AM", "Time off until Fri 27 Nov", ...
    next_start: dt.datetime | None


def _clock(at: dt.datetime) -> str:
    return at.strftime("%-I:%M %p")


def whereabouts(people: list[Staff], *, store: Store, now: dt.datetime) -> list[Whereabouts]:
    """Who is on shift now (and until when) and when the others are next on, in the store's
    zone; people on the floor first, then by who comes in next. `people` come with shifts
    and time_off prefetched."""
    tz = store.tz
    today = hours.local_date(tz, now)
    found = []
    for person in people:
        shifts = [(s.weekday, s.starts, s.ends) for s in person.shifts.all()]
        away = next((off for off in person.time_off.all() if off.first_day <= today <= off.last_day), None)
        upcoming = hours.shift_intervals(shifts, tz, now, now + dt.timedelta(days=8))
        if away is not None:
            after = dt.datetime.combine(away.last_day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
            later = [start for start, _ in upcoming if start >= after]
            found.append(Whereabouts(person, False, f"Time off until {away.last_day:%a %-d %b}", later[0] if later else None))
            continue
        current = next(((start, end) for start, end in upcoming if start <= now < end), None)
        if current is not None and person.available:
            found.append(Whereabouts(person, True, f"On until {_clock(current[1].astimezone(tz))}", now))
        elif current is not None:
            found.append(Whereabouts(person, False, "On shift, switched to away", now))
        elif upcoming:
            start = upcoming[0][0].astimezone(tz)
            day = "today" if start.date() == today else ("tomorrow" if start.date() == today + dt.timedelta(days=1)
                                                         else start.strftime("%a"))
            found.append(Whereabouts(person, False, f"Next on {day} {_clock(start)}", upcoming[0][0]))
        else:
            found.append(Whereabouts(person, False, "No shifts set", None))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda w: (not w.on_now, w.next_start or far, w.staff.display_name))
