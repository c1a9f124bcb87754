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
from django.dispatch import Signal
from django.utils import timezone

from org import hours
from org.models import WEEKDAYS, ScheduleVersion, Shift, Staff, Store, TimeOff

MAX_TIME_OFF_DAYS = 366
# Days a calendar can mean; outside them (year 1, year 9999) the day before or after does not exist.
TIME_OFF_YEARS = range(2000, 2200)
MIDNIGHT = dt.time(23, 59, 59, 999999)  # an end "at midnight": the last instant of the day
ALL_DAY = (dt.time(0), MIDNIGHT)
DAY_OFF_WORDS = {"", "off", "day off", "-", "x", "closed", "none"}
ALL_DAY_WORDS = {"all day", "24h", "24 hours", "0-24"}
_READING = re.compile(r"^(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?\s*(?P<half>am|pm|a|p)?$")
_WORDS = {"noon": "12pm", "midday": "12pm", "midnight": "12am"}
_SHIFT_HELP = "write a shift as start-end, like 9-6, 9:30am-6pm or 10pm-2am, or off for a day off"


@dataclass
class _Reading:
    """A time as typed. A bare 1-12 ("9", "5:30") is ambiguous between morning and evening;
    a 24-hour time ("17:00", "07:30", "0") or one with am/pm is not."""

    hour: int
    minute: int
    certain: bool

    @property
    def time(self) -> dt.time:
        return dt.time(self.hour, self.minute)


def _reading(text: str) -> _Reading:
    raw = text.strip().lower()
    raw = _WORDS.get(raw, raw)
    raw = re.sub(r"([ap])\.?\s*m\.?$", r"\1m", raw)  # "p.m." -> "pm"
    found = _READING.match(raw)
    if not found:
        raise ValueError(text.strip())
    hour, minute, half = int(found["hour"]), int(found["minute"] or 0), found["half"]
    if minute > 59:
        raise ValueError(text.strip())
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(text.strip())
        return _Reading(hour % 12 + (12 if half.startswith("p") else 0), minute, True)
    if hour == 24 and minute == 0:
        return _Reading(0, 0, True)  # "to 24:00": midnight
    if hour > 23:
        raise ValueError(text.strip())
    zero_padded = found["hour"].startswith("0") and len(found["hour"]) == 2
    return _Reading(hour, minute, certain=hour == 0 or hour > 12 or zero_padded)


def _start(reading: _Reading) -> dt.time:
    """A bare start hour is read as a dealership's day: 7-11 in the morning, 12 noon, 1-6 in
    the afternoon ("1-9" is a closer's shift, 13:00-21:00)."""
    if reading.certain or 7 <= reading.hour <= 12:
        return reading.time
    return dt.time(reading.hour + 12, reading.minute)


def _end(reading: _Reading, starts: dt.time) -> dt.time:
    """A bare end hour is the first of its two readings after the start ("9-5" ends at 17:00,
    "12-9" at 21:00, "9-9" at 21:00); when neither is, the shift runs past midnight ("22-2")."""
    if reading.certain:
        return reading.time
    morning = dt.time(reading.hour % 12, reading.minute)
    evening = dt.time(reading.hour % 12 + 12, reading.minute)
    for candidate in (morning, evening):
        if candidate > starts:
            return candidate
    return morning


def day_parse(text: str) -> list[tuple[dt.time, dt.time]]:
    """One day's shifts from what a manager typed, as on a paper schedule; [] for a day off.

    "9-6" is 9:00-18:00, "12-9" 12:00-21:00, "9-1, 3-7" 9:00-13:00 and 15:00-19:00, "9-9"
    9:00-21:00; am/pm or 24-hour times say it exactly ("10pm-2am", "06:00-14:00"). An end at
    midnight is stored as the day's last instant. Raises ValueError with a sentence saying
    what is wrong."""
    cleaned = text.strip().replace("–", "-").replace("—", "-")
    cleaned = re.sub(r"\s+(?:to|till|until)\s+", "-", cleaned, flags=re.IGNORECASE)
    lowered = re.sub(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s+", "", cleaned.lower())
    if lowered in DAY_OFF_WORDS:
        return []
    spans = []
    for part in (p.strip() for p in cleaned.split(",")):
        if not part:
            continue
        if part.lower() in ALL_DAY_WORDS:
            spans.append(ALL_DAY)
            continue
        pieces = [piece.strip() for piece in part.split("-")]
        if len(pieces) != 2 or not all(pieces):
            raise ValueError(f"“{part}” is not a shift: {_SHIFT_HELP}.")
        try:
            start_reading, end_reading = _reading(pieces[0]), _reading(pieces[1])
        except ValueError as exc:
            raise ValueError(f"“{exc}” is not a time of day: write 9, 9:30, 17:00, 5pm or noon.") from None
        starts = _start(start_reading)
        ends = _end(end_reading, starts)
        if starts == ends:
            raise ValueError(f"“{part}” starts and ends at the same time: write 9am-9pm for a twelve-hour day.")
        spans.append((starts, MIDNIGHT if ends == dt.time(0) else ends))
    return sorted(spans)


def _clock12(t: dt.time) -> str:
    hour = t.hour % 12 or 12
    minutes = f":{t.minute:02d}" if t.minute else ""
    return f"{hour}{minutes}{'am' if t.hour < 12 else 'pm'}"


def span_text(starts: dt.time, ends: dt.time) -> str:
    """One shift as a person reads it, exactly: "9am-6pm", "12pm-9pm", "10pm-2am", "2pm-12am"."""
    if (starts, ends) == ALL_DAY:
        return "all day"
    return f"{_clock12(starts)}-{'12am' if ends == MIDNIGHT else _clock12(ends)}"


def day_text(spans: list[tuple[dt.time, dt.time]]) -> str:
    """The inverse of day_parse, for the form and the week: "9am-1pm, 3pm-7pm" or "off"."""
    if not spans:
        return "off"
    return ", ".join(span_text(s, e) for s, e in sorted(spans))


def week_of(staff: Staff) -> dict[int, list[tuple[dt.time, dt.time]]]:
    week: dict[int, list[tuple[dt.time, dt.time]]] = {day: [] for day in range(7)}
    for shift in staff.shifts.all():
        week[shift.weekday].append((shift.starts, shift.ends))
    return week


def week_save(
    *, staff: Staff, days: dict[int, str], now: dt.datetime | None = None
) -> dict[int, list[tuple[dt.time, dt.time]]]:
    """Replace a person's weekly shifts with what was typed for each weekday (0 = Monday).

    Every day is checked first; any error is a ValidationError naming the day and nothing is saved.
    The new week takes effect today (the store's local date at `now`) and is recorded as a
    ScheduleVersion, so past days keep the targets of the schedule in force then: the first edit
    also records the week it replaces, in force since always."""
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
        _record_version(staff, parsed, now or timezone.now())
        Shift.objects.filter(staff=staff).delete()
        Shift.objects.bulk_create(
            [Shift(staff=staff, weekday=day, starts=s, ends=e) for day, spans in parsed.items() for s, e in spans]
        )
        _nudge_waiting(staff)
    return parsed


def _record_version(staff: Staff, parsed: dict[int, list[tuple[dt.time, dt.time]]], now: dt.datetime) -> None:
    """The schedule history (inside week_save's transaction, the person's row locked)."""
    history_baseline(staff, now)
    history_record(staff, [(day, s, e) for day, spans in parsed.items() for s, e in spans], now)


def history_baseline(staff: Staff, now: dt.datetime) -> None:
    """Before a person's Shift rows change: when their schedule has no history yet, record the
    week as it stands, in force since always, so the edit cannot rewrite the days before it."""
    if not ScheduleVersion.objects.filter(staff=staff).exists():
        before = Shift.objects.filter(staff=staff).values_list("weekday", "starts", "ends")
        ScheduleVersion.objects.create(
            staff=staff, effective_from=ScheduleVersion.BEGINNING, shifts=ScheduleVersion.encode(before),
            recorded_at=now,
        )


def history_record(staff: Staff, week: list[tuple[int, dt.time, dt.time]], now: dt.datetime) -> None:
    """After the change: `week` is in force from today (the store's local date at `now`); a
    second change the same day replaces today's version."""
    ScheduleVersion.objects.update_or_create(
        staff=staff, effective_from=hours.local_date(staff.store.tz, now),
        defaults={"shifts": ScheduleVersion.encode(week), "recorded_at": now},
    )


def time_off_add(*, staff: Staff, first_day: dt.date, last_day: dt.date | None, reason: str = "") -> TimeOff:
    last_day = last_day or first_day
    for field, day in (("first_day", first_day), ("last_day", last_day)):
        if day.year not in TIME_OFF_YEARS:
            raise ValidationError({field: f"Time off falls between {TIME_OFF_YEARS.start} and {TIME_OFF_YEARS.stop - 1}."})
    if last_day < first_day:
        raise ValidationError({"last_day": "The last day is before the first day."})
    if (last_day - first_day).days >= MAX_TIME_OFF_DAYS:
        raise ValidationError({"last_day": f"Time off runs at most {MAX_TIME_OFF_DAYS} days; mark a person who left inactive."})
    reason = reason.strip()
    with transaction.atomic():
        Staff.objects.select_for_update().filter(pk=staff.pk).first()
        # Time off that overlaps or touches the new days becomes one stretch, not two entries.
        touching = list(TimeOff.objects.filter(
            staff=staff, first_day__lte=last_day + dt.timedelta(days=1), last_day__gte=first_day - dt.timedelta(days=1)
        ).order_by("first_day"))
        if not touching:
            return TimeOff.objects.create(staff=staff, first_day=first_day, last_day=last_day, reason=reason[:200])
        off, others = touching[0], touching[1:]
        off.first_day = min([first_day, *(o.first_day for o in touching)])
        off.last_day = max([last_day, *(o.last_day for o in touching)])
        reasons = [r for r in dict.fromkeys([*(o.reason for o in touching), reason]) if r]
        off.reason = "; ".join(reasons)[:200]
        off.save(update_fields=["first_day", "last_day", "reason"])
        TimeOff.objects.filter(pk__in=[o.pk for o in others]).delete()
    return off


def time_off_remove(*, time_off: TimeOff) -> None:
    with transaction.atomic():
        staff = time_off.staff
        time_off.delete()
        _nudge_waiting(staff)


# Sent in the transaction that changed a person's schedule or time off (sender=Staff, staff=...):
# someone may be on shift now who was not, so distribution retries the leads waiting for a shift
# on its next sweep (distribution.signals). Org knows no app above it.
schedule_changed = Signal()


def _nudge_waiting(staff: Staff) -> None:
    schedule_changed.send(sender=Staff, staff=staff)


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
    zone, leaving out shifts that fall in their time off; people on the floor first, then by
    who comes in next. `people` come with shifts and time_off prefetched."""
    tz = store.tz
    today = hours.local_date(tz, now)
    found = []
    for person in people:
        shifts = [(s.weekday, s.starts, s.ends) for s in person.shifts.all()]
        leave = [(off.first_day, off.last_day) for off in person.time_off.all()]

        def working(interval, leave=leave):
            day = hours.local_date(tz, interval[0])
            return not any(first <= day <= last for first, last in leave)

        upcoming = [i for i in hours.shift_intervals(shifts, tz, now, now + dt.timedelta(days=21)) if working(i)]
        next_start = upcoming[0][0] if upcoming else None
        away = next((last for first, last in leave if first <= today <= last), None)
        current = next(((start, end) for start, end in upcoming if start <= now < end), None)
        if away is not None:
            back = f"; back {_when(next_start, tz, today)}" if next_start else ""
            text = f"Time off today{back}" if away == today else f"Time off through {away:%a %-d %b}{back}"
            found.append(Whereabouts(person, False, text, next_start))
        elif current is not None and person.available:
            found.append(Whereabouts(person, True, f"On until {_clock(current[1].astimezone(tz))}", now))
        elif current is not None:
            found.append(Whereabouts(person, False, "On shift, switched to away", now))
        elif next_start is not None:
            found.append(Whereabouts(person, False, f"Next on {_when(next_start, tz, today)}", next_start))
        else:
            found.append(Whereabouts(person, False, "No shifts set", None))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda w: (not w.on_now, w.next_start or far, w.staff.display_name.lower()))


def _when(at: dt.datetime, tz, today: dt.date) -> str:
    local = at.astimezone(tz)
    if local.date() == today:
        day = "today"
    elif local.date() == today + dt.timedelta(days=1):
        day = "tomorrow"
    elif local.date() < today + dt.timedelta(days=7):
        day = local.strftime("%a")
    else:
        day = local.strftime("%a %-d %b")
    return f"{day} {_clock(local)}"
