"""Each strategy on its own: plain functions over a RouteContext, no database."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from distribution.strategies import claim_pool, manager, reassign, receptionist, round_robin
from distribution.strategies.base import Member, RouteContext, skip_reason

pytestmark = pytest.mark.clock

TZ = ZoneInfo("America/Chicago")
ALL_WEEK = [(d, dt.time(9), dt.time(18)) for d in range(7)]
HOURS = {d: [["09:00", "18:00"]] for d in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
MONDAY_10 = dt.datetime(2026, 11, 23, 10, tzinfo=TZ)


def member(staff_id: int, **kwargs) -> Member:
    kwargs.setdefault("shifts", ALL_WEEK)
    return Member(staff_id=staff_id, name=f"Person {staff_id}", **kwargs)


def ctx(members, **kwargs) -> RouteContext:
    kwargs.setdefault("now", MONDAY_10)
    return RouteContext(tz=TZ, business_hours=HOURS, members=members, **kwargs)


def test_pick_is_a_rotation_with_equal_weights_and_proportional_with_weights():
    credits: dict[int, int] = {}
    order = []
    for _ in range(6):
        chosen, credits = round_robin.pick(credits, {1: 1, 2: 1, 3: 1})
        order.append(chosen)
    assert order == [1, 2, 3, 1, 2, 3]
    weighted = round_robin.upcoming({}, {1: 2, 2: 1}, 6)
    assert weighted == [1, 2, 1, 1, 2, 1]  # interleaved, two of every three to weight 2


def test_someone_away_earns_nothing_and_comes_back_into_the_rotation_without_a_flood():
    credits: dict[int, int] = {}
    for _ in range(9):  # 3 is away for nine leads
        _, credits = round_robin.pick(credits, {1: 1, 2: 1})
    order = round_robin.upcoming(credits, {1: 1, 2: 1, 3: 1}, 6)
    assert Counter(order) == {1: 2, 2: 2, 3: 2}


def test_skip_reasons_in_order_of_what_a_manager_would_check():
    sunday_off = [(d, dt.time(9), dt.time(18)) for d in range(6)]
    assert skip_reason(member(1, active=False), ctx([])) == "inactive"
    today = MONDAY_10.date()
    assert skip_reason(member(1, time_off=[(today, today)]), ctx([])) == "time off"
    assert skip_reason(member(1, shifts=[(0, dt.time(12), dt.time(18))]), ctx([])) == "off shift"
    assert skip_reason(member(1, shifts=[(1, dt.time(9), dt.time(18))]), ctx([])) == "day off"
    assert skip_reason(member(1, available=False), ctx([])) == "unavailable"
    assert skip_reason(member(1, open_new=3), ctx([], cap=3)) == "at cap (3 open new leads)"
    assert skip_reason(member(1, open_new=2), ctx([], cap=3)) is None
    assert skip_reason(member(1, shifts=sunday_off), ctx([], now=dt.datetime(2026, 11, 29, 10, tzinfo=TZ))) == "day off"
    assert skip_reason(member(1), ctx([], exclude={1})) == "already had this lead"


def test_an_overnight_shift_covers_the_small_hours():
    night = [(4, dt.time(22), dt.time(2))]  # Friday 22:00 - Saturday 02:00
    saturday_1am = dt.datetime(2026, 11, 28, 1, tzinfo=TZ)
    assert skip_reason(member(1, shifts=night), ctx([], now=saturday_1am)) is None
    assert skip_reason(member(1, shifts=night), ctx([], now=saturday_1am + dt.timedelta(hours=1))) == "day off"


def test_round_robin_waits_for_the_next_shift_or_gives_it_to_the_after_hours_person():
    evening = dt.datetime(2026, 11, 23, 19, tzinfo=TZ)
    waiting = round_robin.route(ctx([member(1), member(2)], now=evening))
    assert waiting.state == "waiting" and waiting.owner_id is None
    assert waiting.retry_at == dt.datetime(2026, 11, 24, 9, tzinfo=TZ)
    assert {s["reason"] for s in waiting.skipped} == {"off shift"}
    night = round_robin.route(ctx([member(1)], now=evening, after_hours_staff_id=9, after_hours_name="Nia"))
    assert (night.state, night.owner_id) == ("assigned", 9)
    nobody = round_robin.route(ctx([member(1, shifts=[])], now=evening))
    assert nobody.state == "manager"


def test_round_robin_retries_soon_when_everyone_on_shift_is_busy():
    decision = round_robin.route(ctx([member(1, open_new=5), member(2, available=False)], cap=5))
    assert decision.state == "waiting" and decision.retry_at == MONDAY_10 + dt.timedelta(minutes=5)


def test_reassignment_starts_a_clock_and_moves_to_the_next_then_the_manager():
    first = reassign.route(ctx([member(1), member(2)], response_minutes=15))
    assert (first.owner_id, first.response_minutes) == (1, 15)
    moved = reassign.on_deadline(ctx([member(1), member(2)], exclude={1}, credits=first.credits, response_minutes=15),
                                 owner_name="Person 1")
    assert moved.owner_id == 2 and moved.moved and moved.response_minutes == 15
    assert moved.reason.startswith("Person 1 made no first attempt within 15 business minutes; next in line: Person 2")
    exhausted = reassign.on_deadline(ctx([member(1), member(2)], moves=2, max_moves=2), owner_name="Person 2")
    assert exhausted.state == "manager" and "moved 2 times" in exhausted.reason
    alone = reassign.on_deadline(ctx([member(1)], exclude={1}), owner_name="Person 1")
    assert alone.state == "manager" and "nobody else in the pool" in alone.reason


def test_claim_pool_then_round_robin_after_its_limit():
    placed = claim_pool.route(ctx([member(1)], claim_minutes=10))
    assert (placed.state, placed.claim_minutes, placed.owner_id) == ("pool", 10, None)
    fallback = claim_pool.on_deadline(ctx([member(1), member(2, available=False)], claim_minutes=10))
    assert fallback.owner_id == 1
    assert fallback.reason.startswith("Nobody claimed it within 10 business minutes")


def test_manager_queue_and_who_a_manager_may_pick():
    context = ctx([member(1), member(2, active=False)])
    assert manager.route(context).state == "manager"
    assert manager.can_receive(context, 1) is True
    assert manager.can_receive(context, 2) is False
    assert manager.can_receive(context, 3) is False


def test_the_board_and_who_is_on_the_floor_now():
    context = ctx([member(1), member(2, available=False), member(3, shifts=[(0, dt.time(12), dt.time(18))])])
    assert receptionist.route(context).state == "board"
    assert receptionist.floor(context) == [1]
