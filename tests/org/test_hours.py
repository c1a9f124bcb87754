"""org.hours: business hours and weekly shifts in the store's zone, across midnight and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from org import hours
from org.hours import (
    add_business_minutes,
    business_minutes_between,
    local_date,
    next_open,
    next_shift_start,
    on_shift,
    open_intervals,
    shift_intervals,
    store_is_open,
)

pytestmark = pytest.mark.clock

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")

# The default store hours (org.models.default_business_hours): weekdays 09-20, Saturday 09-18, Sunday closed.
WEEKDAY = [["09:00", "20:00"]]
HOURS = {
    "mon": WEEKDAY,
    "tue": WEEKDAY,
    "wed": WEEKDAY,
    "thu": WEEKDAY,
    "fri": WEEKDAY,
    "sat": [["09:00", "18:00"]],
    "sun": [],
}
# Open early on Sundays too, so the DST nights (both on a Sunday in Chicago) fall in open time.
SUNDAY_NIGHT_HOURS = {**HOURS, "sun": [["00:00", "06:00"]]}

MON, FRI, SAT, SUN = 0, 4, 5, 6
# January 2026 is standard time in Chicago (UTC-6): Monday 5th .. Sunday 11th, Monday 12th.


def chi(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=CHICAGO, fold=fold)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_utc(value: datetime, expected: datetime) -> None:
    assert value == expected
    assert value.tzinfo is UTC


# ----------------------------------------------------------------------------- open / closed


def test_open_from_opening_inclusive_to_closing_exclusive():
    assert not store_is_open(HOURS, CHICAGO, chi(2026, 1, 5, 8, 59, 59, 999999))
    assert store_is_open(HOURS, CHICAGO, chi(2026, 1, 5, 9, 0))
    assert store_is_open(HOURS, CHICAGO, utc(2026, 1, 5, 15, 0))  # the same instant given in UTC
    assert store_is_open(HOURS, CHICAGO, chi(2026, 1, 5, 19, 59, 59))
    assert not store_is_open(HOURS, CHICAGO, chi(2026, 1, 5, 20, 0))
    assert not store_is_open(HOURS, CHICAGO, chi(2026, 1, 11, 12, 0))  # Sunday
    assert store_is_open(HOURS, CHICAGO, chi(2026, 1, 10, 17, 59))  # Saturday closes at 18:00
    assert not store_is_open(HOURS, CHICAGO, chi(2026, 1, 10, 18, 0))


def test_open_intervals_are_utc_clipped_and_sorted():
    result = open_intervals(HOURS, CHICAGO, chi(2026, 1, 9, 12, 0), chi(2026, 1, 12, 10, 0))
    assert result == [
        (utc(2026, 1, 9, 18, 0), utc(2026, 1, 10, 2, 0)),  # Friday from noon (clipped) to 20:00
        (utc(2026, 1, 10, 15, 0), utc(2026, 1, 11, 0, 0)),  # Saturday 09-18
        (utc(2026, 1, 12, 15, 0), utc(2026, 1, 12, 16, 0)),  # Monday 09-10 (clipped)
    ]
    assert all(begin.tzinfo is UTC and end.tzinfo is UTC for begin, end in result)
    assert open_intervals(HOURS, CHICAGO, chi(2026, 1, 6), chi(2026, 1, 6)) == []
    assert open_intervals(HOURS, CHICAGO, chi(2026, 1, 7), chi(2026, 1, 6)) == []


def test_open_intervals_merge_adjacent_and_overlapping_spans():
    split = {"mon": [["13:00", "17:00"], ["09:00", "12:00"], ["12:00", "14:00"], ["16:00", "16:30"]]}
    assert open_intervals(split, CHICAGO, chi(2026, 1, 5), chi(2026, 1, 6)) == [
        (utc(2026, 1, 5, 15, 0), utc(2026, 1, 5, 23, 0)),
    ]
    lunch = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    assert open_intervals(lunch, CHICAGO, chi(2026, 1, 5), chi(2026, 1, 6)) == [
        (utc(2026, 1, 5, 15, 0), utc(2026, 1, 5, 18, 0)),
        (utc(2026, 1, 5, 19, 0), utc(2026, 1, 5, 23, 0)),
    ]
    assert not store_is_open(lunch, CHICAGO, chi(2026, 1, 5, 12, 30))


def test_next_open():
    at = chi(2026, 1, 5, 10, 0)
    assert_utc(next_open(HOURS, CHICAGO, at), utc(2026, 1, 5, 16, 0))  # open now: `at` itself, in UTC
    assert_utc(next_open(HOURS, CHICAGO, chi(2026, 1, 5, 20, 0)), utc(2026, 1, 6, 15, 0))
    assert_utc(next_open(HOURS, CHICAGO, chi(2026, 1, 10, 18, 0)), utc(2026, 1, 12, 15, 0))  # Sat -> Mon
    only_wednesday = {"wed": [["10:00", "11:00"]]}
    assert_utc(next_open(only_wednesday, CHICAGO, chi(2026, 1, 7, 11, 0)), utc(2026, 1, 14, 16, 0))


# ----------------------------------------------------------------------------- business minutes


def test_lead_at_1955_with_20_minutes_is_due_0915_next_day():
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 5, 19, 55), 20), utc(2026, 1, 6, 15, 15))


def test_saturday_evening_to_monday_over_closed_sunday():
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 10, 17, 50), 20), utc(2026, 1, 12, 15, 10))
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 10, 21, 0), 45), utc(2026, 1, 12, 15, 45))
    assert business_minutes_between(HOURS, CHICAGO, chi(2026, 1, 10, 17, 50), chi(2026, 1, 12, 9, 10)) == 20


def test_start_before_opening_starts_the_clock_at_opening():
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 6, 7, 30), 30), utc(2026, 1, 6, 15, 30))
    assert business_minutes_between(HOURS, CHICAGO, chi(2026, 1, 6, 7, 30), chi(2026, 1, 6, 9, 30)) == 30


def test_zero_minutes_is_next_open():
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 6, 10, 0), 0), utc(2026, 1, 6, 16, 0))
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 6, 20, 0), 0), utc(2026, 1, 7, 15, 0))


def test_deadline_that_uses_up_the_day_is_the_closing_instant():
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 5, 19, 40), 20), utc(2026, 1, 6, 2, 0))
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 5, 19, 40), 21), utc(2026, 1, 6, 15, 1))


def test_exact_multi_day_accumulation():
    start = chi(2026, 1, 5, 10, 0)
    # Monday 10-20 (600) + Tuesday (660) + Wednesday (660) = 1920, then 80 minutes on Thursday.
    assert_utc(add_business_minutes(HOURS, CHICAGO, start, 2000), utc(2026, 1, 8, 16, 20))
    assert business_minutes_between(HOURS, CHICAGO, start, chi(2026, 1, 8, 10, 20)) == 2000
    # A whole week: five 11-hour weekdays and a 9-hour Saturday.
    assert business_minutes_between(HOURS, CHICAGO, chi(2026, 1, 5), chi(2026, 1, 12)) == 5 * 660 + 540
    # Three whole weeks and a bit: the 14-day windows of add_business_minutes join up exactly.
    week = 5 * 660 + 540
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 5), 3 * week + 61), utc(2026, 1, 26, 16, 1))


def test_fractional_minutes():
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 5, 19, 59), 1.5), utc(2026, 1, 6, 15, 0, 30))
    assert business_minutes_between(HOURS, CHICAGO, chi(2026, 1, 5, 9, 0), utc(2026, 1, 5, 15, 0, 45)) == 0.75


def test_between_is_zero_for_an_empty_or_reversed_window():
    assert business_minutes_between(HOURS, CHICAGO, chi(2026, 1, 5, 12), chi(2026, 1, 5, 12)) == 0
    assert business_minutes_between(HOURS, CHICAGO, chi(2026, 1, 5, 13), chi(2026, 1, 5, 12)) == 0
    assert business_minutes_between({}, CHICAGO, chi(2026, 1, 5, 13), chi(2026, 1, 5, 12)) == 0


def test_negative_minutes_are_refused():
    with pytest.raises(ValueError):
        add_business_minutes(HOURS, CHICAGO, chi(2026, 1, 5, 12), -1)


@pytest.mark.parametrize("no_hours", [{}, None, {day: [] for day in hours.WEEKDAYS}])
def test_store_with_no_hours_at_all_counts_plain_minutes(no_hours):
    start = chi(2026, 1, 11, 23, 50)  # a Sunday night: the clock never pauses
    assert_utc(add_business_minutes(no_hours, CHICAGO, start, 20), utc(2026, 1, 12, 6, 10))
    assert_utc(add_business_minutes(no_hours, CHICAGO, start, 0), utc(2026, 1, 12, 5, 50))
    assert business_minutes_between(no_hours, CHICAGO, start, chi(2026, 1, 12, 1, 0)) == 70
    assert next_open(no_hours, CHICAGO, start) is None
    assert not store_is_open(no_hours, CHICAGO, start)
    assert open_intervals(no_hours, CHICAGO, start, start + timedelta(days=30)) == []


# ----------------------------------------------------------------------------- DST


def test_spring_forward_night_in_chicago():
    # 2026-03-08: 02:00 CST jumps to 03:00 CDT. Sunday 00:00-06:00 local is 5 real hours.
    assert open_intervals(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 3, 8), chi(2026, 3, 9)) == [
        (utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 11, 0)),
    ]
    assert business_minutes_between(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 3, 8), chi(2026, 3, 9)) == 300
    assert_utc(add_business_minutes(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 3, 8), 180), utc(2026, 3, 8, 9, 0))
    # Past the 5 real hours the clock pauses until Monday 09:00, now CDT (UTC-5).
    assert_utc(add_business_minutes(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 3, 8), 310), utc(2026, 3, 9, 14, 10))


def test_fall_back_night_in_chicago():
    # 2026-11-01: 02:00 CDT falls back to 01:00 CST. Sunday 00:00-06:00 local is 7 real hours.
    assert business_minutes_between(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 11, 1), chi(2026, 11, 2)) == 420
    assert_utc(add_business_minutes(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 11, 1), 180), utc(2026, 11, 1, 8, 0))
    assert_utc(add_business_minutes(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 11, 1), 400), utc(2026, 11, 1, 11, 40))
    # Both 01:30s exist and both are open.
    assert store_is_open(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 11, 1, 1, 30, fold=0))
    assert store_is_open(SUNDAY_NIGHT_HOURS, CHICAGO, chi(2026, 11, 1, 1, 30, fold=1))


def test_saturday_to_monday_across_the_dst_weekends():
    # The UTC offset changes over the closed Sunday; Monday 09:10 is still 09:10 on the wall.
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 3, 7, 17, 50), 20), utc(2026, 3, 9, 14, 10))
    assert_utc(add_business_minutes(HOURS, CHICAGO, chi(2026, 10, 31, 17, 50), 20), utc(2026, 11, 2, 15, 10))


def test_shift_0100_0400_is_2_real_hours_at_spring_forward_and_4_at_fall_back():
    shifts = [(SUN, time(1, 0), time(4, 0))]
    assert shift_intervals(shifts, CHICAGO, chi(2026, 3, 8), chi(2026, 3, 9)) == [
        (utc(2026, 3, 8, 7, 0), utc(2026, 3, 8, 9, 0)),
    ]
    assert shift_intervals(shifts, CHICAGO, chi(2026, 11, 1), chi(2026, 11, 2)) == [
        (utc(2026, 11, 1, 6, 0), utc(2026, 11, 1, 10, 0)),
    ]
    # An ordinary Sunday: 3 hours.
    assert shift_intervals(shifts, CHICAGO, chi(2026, 1, 11), chi(2026, 1, 12)) == [
        (utc(2026, 1, 11, 7, 0), utc(2026, 1, 11, 10, 0)),
    ]
    assert on_shift(shifts, CHICAGO, chi(2026, 11, 1, 1, 30, fold=1))  # the repeated hour is worked too


def test_wall_time_in_the_spring_forward_gap_moves_forward_by_the_gap():
    # 02:00 does not exist on 2026-03-08; with fold=0 it is read as CST, i.e. 03:00 CDT (08:00 UTC).
    shifts = [(SUN, time(2, 0), time(5, 0))]
    assert_utc(next_shift_start(shifts, CHICAGO, chi(2026, 3, 7, 12, 0)), utc(2026, 3, 8, 8, 0))
    assert shift_intervals(shifts, CHICAGO, chi(2026, 3, 8), chi(2026, 3, 9)) == [
        (utc(2026, 3, 8, 8, 0), utc(2026, 3, 8, 10, 0)),
    ]


def test_overnight_shift_across_dst_in_berlin():
    shifts = [(SAT, time(22, 0), time(4, 0))]
    # 2026-03-29: 02:00 CET -> 03:00 CEST; Saturday 22:00 CET to Sunday 04:00 CEST is 5 real hours.
    berlin_march = datetime(2026, 3, 28, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)
    assert shift_intervals(shifts, BERLIN, *berlin_march) == [(utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 2, 0))]
    # 2026-10-25: 03:00 CEST -> 02:00 CET; Saturday 22:00 CEST to Sunday 04:00 CET is 7 real hours.
    berlin_october = datetime(2026, 10, 24, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN)
    assert shift_intervals(shifts, BERLIN, *berlin_october) == [(utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 3, 0))]


def test_other_zone_with_a_half_hour_offset():
    daily = {day: [["10:00", "19:00"]] for day in hours.WEEKDAYS}
    assert store_is_open(daily, KOLKATA, utc(2026, 1, 5, 4, 30))  # 10:00 IST
    assert not store_is_open(daily, KOLKATA, utc(2026, 1, 5, 4, 29))
    assert not store_is_open(daily, KOLKATA, utc(2026, 1, 5, 13, 30))  # 19:00 IST
    start = datetime(2026, 1, 5, 18, 30, tzinfo=KOLKATA)
    assert_utc(add_business_minutes(daily, KOLKATA, start, 60), utc(2026, 1, 6, 5, 0))  # 10:30 IST next day
    assert local_date(KOLKATA, utc(2026, 1, 5, 18, 30)) == date(2026, 1, 6)
    # The zone may also be given by name.
    assert_utc(add_business_minutes(daily, "Asia/Kolkata", start, 60), utc(2026, 1, 6, 5, 0))


# ----------------------------------------------------------------------------- property: between(add) == m

ZONES = st.sampled_from([CHICAGO, BERLIN, KOLKATA])
INSTANTS = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 1, 31)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)
HOUR_SETS = st.sampled_from([HOURS, SUNDAY_NIGHT_HOURS, {"wed": [["10:00", "11:00"]]}, {}])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tz=ZONES, start=INSTANTS, minutes=st.integers(min_value=0, max_value=20_000), business_hours=HOUR_SETS)
def test_between_undoes_add(tz, start, minutes, business_hours):
    due = add_business_minutes(business_hours, tz, start, minutes)
    assert due >= start
    assert business_minutes_between(business_hours, tz, start, due) == minutes
    if minutes and business_hours:
        # The deadline is the first instant with that much open time behind it: a tick earlier is short.
        earlier = due - timedelta(microseconds=1)
        assert business_minutes_between(business_hours, tz, start, earlier) < minutes


@pytest.mark.parametrize("minutes", [0, 1, 5, 20, 59, 600, 661, 1440, 4000, 10_000])
@pytest.mark.parametrize("start", [chi(2026, 1, 5, 19, 55), chi(2026, 3, 7, 17, 0), chi(2026, 10, 31, 23, 0)])
def test_between_undoes_add_examples(start, minutes):
    for business_hours in (HOURS, SUNDAY_NIGHT_HOURS):
        due = add_business_minutes(business_hours, CHICAGO, start, minutes)
        assert business_minutes_between(business_hours, CHICAGO, start, due) == minutes


# ----------------------------------------------------------------------------- shifts

OVERNIGHT_FRIDAY = [(FRI, time(22, 0), time(2, 0))]


def test_overnight_friday_shift_covers_saturday_early_hours():
    assert not on_shift(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 9, 21, 59))
    assert on_shift(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 9, 22, 0))
    assert on_shift(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 10, 0, 0))
    assert on_shift(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 10, 1, 0))
    assert not on_shift(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 10, 2, 0))
    # Thursday night and Sunday early morning are not covered.
    assert not on_shift(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 9, 1, 0))
    assert not on_shift(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 11, 1, 0))


def test_shift_intervals_include_an_overnight_shift_from_the_day_before_the_window():
    # The window is Saturday only; the Friday shift spills into it.
    assert shift_intervals(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 10), chi(2026, 1, 11)) == [
        (utc(2026, 1, 10, 6, 0), utc(2026, 1, 10, 8, 0)),
    ]
    # A Friday-to-Saturday week view, from Friday 23:00: 3 real hours.
    assert shift_intervals(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 9, 23), chi(2026, 1, 17)) == [
        (utc(2026, 1, 10, 5, 0), utc(2026, 1, 10, 8, 0)),
        (utc(2026, 1, 17, 4, 0), utc(2026, 1, 17, 6, 0)),  # next Friday 22:00 .. window end (Sat 00:00)
    ]


def test_overnight_shift_merges_with_a_following_shift():
    shifts = [(FRI, time(22, 0), time(2, 0)), (SAT, time(2, 0), time(6, 0))]
    assert shift_intervals(shifts, CHICAGO, chi(2026, 1, 9), chi(2026, 1, 11)) == [
        (utc(2026, 1, 10, 4, 0), utc(2026, 1, 10, 12, 0)),
    ]


def test_sunday_overnight_shift_wraps_into_monday():
    shifts = [(SUN, time(23, 0), time(1, 0))]
    assert on_shift(shifts, CHICAGO, chi(2026, 1, 12, 0, 30))  # Monday 00:30
    assert not on_shift(shifts, CHICAGO, chi(2026, 1, 6, 0, 30))  # Tuesday 00:30


def test_next_shift_start():
    weekdays = [(day, time(8, 0), time(17, 0)) for day in range(5)]
    # From a day off (Saturday) the next start is Monday 08:00.
    assert_utc(next_shift_start(weekdays, CHICAGO, chi(2026, 1, 10, 10, 0)), utc(2026, 1, 12, 14, 0))
    # After Tuesday's shift, Wednesday 08:00.
    assert_utc(next_shift_start(weekdays, CHICAGO, chi(2026, 1, 6, 17, 0)), utc(2026, 1, 7, 14, 0))
    # On shift: `at` itself, in UTC.
    assert_utc(next_shift_start(weekdays, CHICAGO, chi(2026, 1, 6, 12, 34)), utc(2026, 1, 6, 18, 34))
    # Only one shift a week, just missed: a week ahead.
    assert_utc(next_shift_start(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 10, 2, 0)), utc(2026, 1, 17, 4, 0))
    assert_utc(next_shift_start(OVERNIGHT_FRIDAY, CHICAGO, chi(2026, 1, 10, 1, 0)), utc(2026, 1, 10, 7, 0))


def test_shifts_can_be_any_iterable_such_as_a_generator():
    rows = ((day, time(8, 0), time(17, 0)) for day in (MON,))
    assert_utc(next_shift_start(rows, CHICAGO, chi(2026, 1, 10)), utc(2026, 1, 12, 14, 0))


def test_no_shifts():
    assert next_shift_start([], CHICAGO, chi(2026, 1, 5, 12)) is None
    assert not on_shift([], CHICAGO, chi(2026, 1, 5, 12))
    assert shift_intervals([], CHICAGO, chi(2026, 1, 5), chi(2026, 2, 5)) == []


def test_shift_with_equal_start_and_end_is_empty():
    shifts = [(MON, time(9, 0), time(9, 0))]
    assert not on_shift(shifts, CHICAGO, chi(2026, 1, 5, 9, 0))
    assert next_shift_start(shifts, CHICAGO, chi(2026, 1, 5, 8, 0)) is None


def test_bad_weekday_is_refused():
    with pytest.raises(ValueError):
        on_shift([(7, time(9), time(17))], CHICAGO, chi(2026, 1, 5, 12))


# ----------------------------------------------------------------------------- conventions


def test_local_date():
    assert local_date(CHICAGO, utc(2026, 1, 6, 3, 0)) == date(2026, 1, 5)
    assert local_date(CHICAGO, utc(2026, 1, 6, 6, 0)) == date(2026, 1, 6)
    assert local_date(BERLIN, utc(2026, 1, 5, 23, 30)) == date(2026, 1, 6)


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 1, 5, 12, 0)
    with pytest.raises(ValueError):
        store_is_open(HOURS, CHICAGO, naive)
    with pytest.raises(ValueError):
        add_business_minutes(HOURS, CHICAGO, naive, 5)
    with pytest.raises(ValueError):
        local_date(CHICAGO, naive)
    with pytest.raises(ValueError):
        shift_intervals(OVERNIGHT_FRIDAY, CHICAGO, naive, naive + timedelta(days=1))


# ----------------------------------------------------------------------------- a person's own shift share
# (the sales board's pace: the share of the shift time starting on a local day that has gone by)

AUCKLAND = ZoneInfo("Pacific/Auckland")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
MON_EVENING = [(0, time(18), time(2))]  # Monday 6 pm - 2 am


def _at(tz, *parts):
    return datetime(*parts, tzinfo=tz)


@pytest.mark.parametrize(
    ("local", "share"),
    [
        ((2026, 3, 16, 9, 0), 0.0),  # Monday morning: the evening shift has not started
        ((2026, 3, 16, 17, 59), 0.0),
        ((2026, 3, 16, 18, 0), 0.0),
        ((2026, 3, 16, 20, 0), 2 / 8),
        ((2026, 3, 17, 1, 0), 7 / 8),  # after midnight: still Monday's shift
        ((2026, 3, 17, 2, 0), 1.0),
        ((2026, 3, 17, 9, 0), 1.0),
    ],
)
def test_evening_shift_share_runs_past_midnight(local, share):
    assert hours.shift_elapsed_share(MON_EVENING, CHICAGO, date(2026, 3, 16), _at(CHICAGO, *local)) == pytest.approx(share)


def test_evening_shift_belongs_to_the_day_it_starts_on():
    # Tuesday has no shift of its own: Monday's spill past midnight is not Tuesday's shift.
    assert hours.shift_elapsed_share(MON_EVENING, CHICAGO, date(2026, 3, 17), _at(CHICAGO, 2026, 3, 17, 1)) is None
    assert hours.day_shift_intervals(MON_EVENING, CHICAGO, date(2026, 3, 16)) == [
        (datetime(2026, 3, 16, 23, tzinfo=UTC), datetime(2026, 3, 17, 7, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    ("clock", "share"),
    [((8, 0), 0.0), ((11, 0), 2 / 8), ((13, 0), 4 / 8), ((14, 0), 4 / 8), ((16, 0), 5 / 8), ((19, 30), 1.0)],
)
def test_split_shift_share_skips_the_break(clock, share):
    split = [(2, time(9), time(13)), (2, time(15), time(19))]  # Wednesday 9-1 and 3-7: 8 hours
    now = _at(CHICAGO, 2026, 3, 18, *clock)
    assert hours.shift_elapsed_share(split, CHICAGO, date(2026, 3, 18), now) == pytest.approx(share)


def test_dst_nights_count_real_minutes():
    # Spring forward (Sun 8 Mar 2026, 2:00 -> 3:00): Saturday 22:00 - Sunday 06:00 lasts 7 hours.
    saturday = [(5, time(22), time(6))]
    at = _at(CHICAGO, 2026, 3, 8, 5, 0)  # 5 am CDT: 6 real hours after 10 pm CST
    assert hours.shift_elapsed_share(saturday, CHICAGO, date(2026, 3, 7), at) == pytest.approx(6 / 7)
    # Fall back (Sun 1 Nov 2026, 2:00 -> 1:00): the same shift lasts 9 hours; at 2 am CST 5 are gone.
    at = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 2:00 CST
    assert hours.shift_elapsed_share(saturday, CHICAGO, date(2026, 10, 31), at) == pytest.approx(5 / 9)
    # A day shift on the spring-forward Sunday itself: 9-5 is 8 real hours, the clock change is before it.
    sunday = [(6, time(9), time(17))]
    assert hours.shift_elapsed_share(sunday, CHICAGO, date(2026, 3, 8), _at(CHICAGO, 2026, 3, 8, 13)) == pytest.approx(0.5)


def test_a_zone_whose_local_date_differs_from_utc():
    # Auckland (UTC+13 in December): Monday 8 am - noon is Sunday 19:00-23:00 UTC.
    monday = [(0, time(8), time(12))]
    now = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)  # Sunday in UTC, Monday 10 am in Auckland
    assert local_date(AUCKLAND, now) == date(2026, 12, 7)
    assert hours.shift_elapsed_share(monday, AUCKLAND, date(2026, 12, 7), now) == pytest.approx(0.5)
    assert hours.shift_elapsed_share(monday, AUCKLAND, date(2026, 12, 6), now) is None  # the UTC date: no shift
    # Los Angeles: Monday 6 pm - 2 am is Tuesday 02:00-10:00 UTC.
    now = datetime(2026, 3, 17, 4, 0, tzinfo=UTC)  # Monday 9 pm PDT
    assert hours.shift_elapsed_share(MON_EVENING, LOS_ANGELES, date(2026, 3, 16), now) == pytest.approx(3 / 8)


def test_no_shift_or_naive_time():
    assert hours.shift_elapsed_share([], CHICAGO, date(2026, 3, 16), _at(CHICAGO, 2026, 3, 16, 12)) is None
    with pytest.raises(ValueError):
        hours.shift_elapsed_share(MON_EVENING, CHICAGO, date(2026, 3, 16), datetime(2026, 3, 16, 20))


def test_store_hours_as_shifts():
    assert hours.hours_as_shifts(HOURS)[0] == (0, time(9), time(20))
    assert {day for day, _, _ in hours.hours_as_shifts(HOURS)} == {0, 1, 2, 3, 4, 5}
    assert hours.hours_as_shifts(None) == []
