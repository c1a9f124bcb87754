"""A store floor for distribution tests: a team of four agents on weekly shifts, and helpers
to route leads at a chosen local time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from factories import LeadFactory, ShiftFactory, StaffFactory, TeamFactory

from distribution import pools
from distribution.models import RoutingRule
from leads.models import LeadVehicle
from org.models import Role

CHICAGO = ZoneInfo("America/Chicago")
MONDAY = dt.date(2026, 11, 23)


def local(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=CHICAGO)


def at(hour: int, minute: int = 0, second: int = 0, day: dt.date = MONDAY) -> dt.datetime:
    return local(day, hour, minute, second)


def agent(store, team, name: str, *, days=range(6), starts=dt.time(9), ends=dt.time(18), **kwargs):
    person = StaffFactory(store=store, team=team, role=Role.INTERNET_AGENT, user__username=name,
                          user__first_name=name.capitalize(), user__last_name="Agent", **kwargs)
    for weekday in days:
        ShiftFactory(staff=person, weekday=weekday, starts=starts, ends=ends)
    return person


def floor(store, names=("ann", "bob", "cat", "dan")):
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username=f"mgr-{store.slug}",
                           user__first_name="Max", user__last_name="Manager")
    team = TeamFactory(store=store, name="Internet", manager=manager)
    people = {name: agent(store, team, name) for name in names}
    return team, manager, people


def rule(store, *, team=None, staff=(), role="", **fields) -> RoutingRule:
    fields.setdefault("name", "Everything")
    fields.setdefault("strategy", "round_robin")
    made = RoutingRule(store=store, **fields)
    return pools.rule_save(made, teams=[team] if team else [], staff=list(staff))


def new_lead(store, *, received_at=None, condition="", make="", stock="", interest="buy", **kwargs):
    lead = LeadFactory(store=store, owner=None, routed_at=None, routing_due_at=received_at,
                       received_at=received_at or dt.datetime.now(dt.UTC), **kwargs)
    if condition or make or stock or interest != "buy":
        LeadVehicle.objects.create(lead=lead, interest=interest, condition=condition, make=make, stock_number=stock)
    return lead
