"""Coverage ending judges only the customers whose coverage can still be live (engine.live_since):
the same verdicts as judging every open lead's customer, on a store with old and recent history,
days off pausing the window and a daylight-saving change inside it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from factories import ContactEventFactory, CustomerFactory, LeadFactory, ShiftFactory

from dealcoverage import engine, services
from dealcoverage.live import coverage_ending
from dealcoverage.presets import preset
from leads.models import EvidenceLevel
from org.models import Role, TimeOff

# The two tests pin their own clock with time_machine; the clock step also runs them at an awkward real hour.
pytestmark = pytest.mark.clock

CHICAGO = ZoneInfo("America/Chicago")
# Tuesday noon, two days after the clocks went back (Sunday Nov 1, 2026): the windows below run
# across the change, a day of vacation and a weekend off.
NOW = dt.datetime(2026, 11, 3, 12, 0, tzinfo=CHICAGO)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


def test_no_window_started_before_live_since_is_open():
    """live_since is window_end walked backwards: every start whose window still holds at the
    moment is at or after it, and on a working day the bound is exact."""
    schedule = engine.Schedule(staff_id=1, days_off=frozenset({5, 6}), time_zone="America/Chicago",
                               dates_off=frozenset({dt.date(2026, 10, 30), dt.date(2026, 10, 20)}))
    for moment in (NOW, local(2, 0), local(1, 9), local(31, 23, 30, month=10)):  # Monday midnight, days off
        for pause in (True, False):
            for hours in (1, 24, 72, 100):
                since = engine.live_since(moment, hours, schedule, pause)
                start = moment - dt.timedelta(days=21)
                while start <= moment:
                    end, _ = engine.window_end(start, hours, schedule, pause)
                    if end >= moment:
                        assert start >= since, (moment, pause, hours, start, since)
                    start += dt.timedelta(minutes=30)
    for hours in (1, 72, 100):
        since = engine.live_since(NOW, hours, schedule, True)
        assert engine.window_end(since, hours, schedule, True)[0] == NOW  # nothing later would do


@pytest.fixture
def book(store, org):
    """The agent works Monday to Friday, took Friday Oct 30 off, under internet-72h with the
    days-off pause; a year of customers, most long past their window."""
    agent = org["agent"]
    for weekday in range(5):
        ShiftFactory(staff=agent, weekday=weekday)
    TimeOff.objects.create(staff=agent, first_day=dt.date(2026, 10, 30), last_day=dt.date(2026, 10, 30))
    params = preset("internet-72h", pause_on_days_off=True).to_dict()
    services.policy_version_create(store=store, role=Role.INTERNET_AGENT, effective_from=NOW - dt.timedelta(days=400),
                                   created_by=None, **{k: params[k] for k in services.POLICY_FIELDS})

    def customer(name: str, *events: tuple[str, dt.datetime]):
        lead = LeadFactory(store=store, owner=agent, customer=CustomerFactory(store=store, first_name=name))
        for kind, when in events:
            answered = kind == "talk"
            ContactEventFactory(
                lead=lead, staff=agent, channel="call", direction="outbound",
                outcome="connected" if answered else "no_answer", talk_seconds=372 if answered else 0,
                answered_by_person=answered, evidence_level=EvidenceLevel.VERIFIED, occurred_at=when,
                call_sid=f"CA{lead.pk:08d}{int(when.timestamp()):024d}",
            )
        return lead

    return {
        # 72 working hours from Wednesday noon: Wed 12 h, Thu 24 h, Friday's vacation and the weekend
        # off (Sunday's 25 hours as the clocks went back), Mon 24 h, Tue 12 h: it ends exactly now,
        # and the end counts.
        "ends now": customer("Edge", ("talk", local(28, 12, month=10))),
        "ended an hour ago": customer("Gone", ("talk", local(28, 11, month=10))),
        # Thursday noon: Thu 12 h, Fri, Sat, Sun off, Mon 24 h, Tue 24 h, Wed 12 h: until Wednesday noon.
        "paused": customer("Paused", ("talk", local(29, 12, month=10))),
        "talked today": customer("Fresh", ("talk", local(3, 11))),
        "talked long ago": customer("Old", ("talk", local(1, 10, month=3)), ("attempt", local(2, 10, month=10))),
        "never answered": customer("Silent", ("attempt", local(5, 10, month=6)), ("attempt", local(2, 9))),
        "no events": customer("Nobody"),
    }


def test_coverage_ending_judges_only_live_customers_with_the_same_verdicts(store, org, book):
    agent = org["agent"]
    with time_machine.travel(NOW, tick=False):
        bounded = coverage_ending(agent.user, agent, hours=24)
        everyone = coverage_ending(agent.user, agent, hours=24, bounded=False)
    rows = lambda result: [(row.lead.pk, row.covered_until, row.explanation) for row in result[1]]  # noqa: E731
    assert bounded[0] and rows(bounded) == rows(everyone)
    assert [row.lead for row in bounded[1]] == [book["ends now"], book["paused"]]
    assert bounded[1][0].covered_until == NOW
    assert bounded[1][1].covered_until == local(4, 12)
    # With a week of hours, the same: the bound follows the policy in force, not a constant.
    with time_machine.travel(NOW, tick=False):
        assert rows(coverage_ending(agent.user, agent, hours=24 * 7)) == rows(
            coverage_ending(agent.user, agent, hours=24 * 7, bounded=False))
