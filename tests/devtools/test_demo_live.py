"""The demo store makes sense at any hour of any day (issue 13, point 8): walk-ins and phone-ups
ring on the receptionist's board for the floor (seed 003), appointments are booked only in the
store's hours, and the agents' Today has live work whether the demo is built on a Tuesday morning
or on the closed Sunday at 23:00. The clock is pinned with time-machine; the demo is small."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from devtools import demo
from distribution.models import RoutingRule, RoutingState, Strategy
from distribution.pools import LeadFacts, rule_for
from leads.models import Appointment, Lead, SourceType
from org.hours import store_is_open
from org.models import Role, Staff, Store
from today.views import queue_for

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

CHICAGO = ZoneInfo("America/Chicago")
SUNDAY_NIGHT = dt.datetime(2026, 12, 6, 23, 0, tzinfo=CHICAGO)  # the store is closed all Sunday
TUESDAY_MORNING = dt.datetime(2026, 12, 8, 10, 0, tzinfo=CHICAGO)


def build_at(moment: dt.datetime) -> Store:
    with time_machine.travel(moment, tick=False):
        demo.build(months=1, leads_per_store=150, now=moment)
    return Store.objects.get(slug=demo.DEMO_STORE_SLUG)


def assert_appointments_in_hours(store: Store, now: dt.datetime) -> list[Appointment]:
    appointments = list(Appointment.objects.filter(store=store))
    for appointment in appointments:
        local = appointment.starts_at.astimezone(store.tz)
        assert store_is_open(store.business_hours, store.tz, appointment.starts_at), local
        # An appointment takes time: the store is still open 59 minutes later.
        assert store_is_open(store.business_hours, store.tz, appointment.starts_at + dt.timedelta(minutes=59)), local
        assert local.weekday() != 6 and appointment.starts_at > now
    return appointments


def queues(store: Store, now: dt.datetime) -> dict[str, object]:
    agents = Staff.objects.filter(store=store, role=Role.INTERNET_AGENT).select_related("user", "store")
    return {agent.user.username: queue_for(agent.user, agent, now=now) for agent in agents}


def test_walk_ins_and_phone_ups_ring_on_the_board_for_the_floor():
    store = build_at(TUESDAY_MORNING)
    for source in (SourceType.WALK_IN, SourceType.PHONE_UP):
        rule, _ = rule_for(store, LeadFacts(source_type=source, condition="used", make="Toyota"))
        assert rule.strategy == Strategy.RECEPTIONIST and rule.pool_role == Role.RETAIL, source
    fallback = RoutingRule.objects.get(store=store, is_fallback=True)
    assert fallback.pool_role == Role.INTERNET_AGENT
    # The live walk-in typed at the desk is on the board, not with an internet agent.
    walk_in = Lead.objects.get(store=store, provider_lead_id="LIVE-5")
    assert walk_in.source_type == SourceType.WALK_IN and walk_in.owner_id is None
    assert walk_in.routing.state == RoutingState.BOARD
    assert not Lead.objects.filter(store=store, source_type=SourceType.WALK_IN, owner__role=Role.INTERNET_AGENT).exists()


@pytest.mark.parametrize("moment", [SUNDAY_NIGHT, TUESDAY_MORNING], ids=["sunday-23h", "tuesday-10h"])
def test_the_demo_shows_live_work_at_any_hour_and_books_appointments_in_hours(moment):
    store = build_at(moment)
    now = moment.astimezone(dt.UTC)
    appointments = assert_appointments_in_hours(store, now)
    assert appointments
    by_agent = queues(store, now)
    for username, queue in by_agent.items():
        assert queue.new or queue.tasks, f"{username}'s Today is empty at {moment:%a %H:%M}"
    assert sum(len(q.new) for q in by_agent.values()) >= 1  # the live internet leads
    # The board has the live phone-up on it (and the walk-in while the showroom is open).
    on_board = set(Lead.objects.filter(store=store, routing__state=RoutingState.BOARD).values_list("source_type", flat=True))
    assert on_board == ({"phone_up"} if moment is SUNDAY_NIGHT else {"phone_up", "walk_in"})
    if moment is TUESDAY_MORNING:
        # Open now: work still due later today, and today's appointments.
        assert any(row.due_at > now for q in by_agent.values() for row in q.tasks)
        assert any(a.starts_at.astimezone(store.tz).date() == moment.date() for a in appointments)
    else:
        # Closed: what the last open hours left is overdue; nothing is booked on the closed Sunday.
        assert all(row.overdue for q in by_agent.values() for row in q.tasks if row.due_at <= now)
