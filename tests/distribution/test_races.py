"""Races on real PostgreSQL with real threads and processes: rotation, claims and the sweeper.

Every worker here opens its own database connection (Django keeps one per thread), so the row
locks, skip_locked and conditional UPDATEs are exercised exactly as several gunicorn and Celery
processes would exercise them.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import traceback
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.models import Max
from django.utils import timezone
from factories import ShiftFactory, StaffFactory, StoreFactory, TeamFactory

from dealercrm.celery import app as celery_app
from distribution import services, sweeper
from distribution.models import LeadRouting, RotationSlot, RoutingState
from leads import services as lead_services
from leads.models import IntakeChannel, Lead, LeadAssignment, SourceType
from org.models import Role
from tests.distribution.floor import rule

pytestmark = [pytest.mark.clock, pytest.mark.django_db(transaction=True)]

ALL_DAY = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
# Half-open intervals: ending a microsecond before midnight leaves no instant of the day uncovered.
END_OF_DAY = dt.time(23, 59, 59, 999999)


@pytest.fixture
def race_store(db):
    return StoreFactory(slug="race-motors", name="Race Motors", business_hours=ALL_DAY)


@pytest.fixture(autouse=True)
def _purge_queue_after():
    """lead_create sends a routing nudge per lead to Redis; no worker runs here, so drop them."""
    yield
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


def on_shift_agent(store, team, name: str):
    person = StaffFactory(store=store, team=team, role=Role.INTERNET_AGENT, user__username=name,
                          user__first_name=name.capitalize(), user__last_name="Racer")
    for weekday in range(7):
        ShiftFactory(staff=person, weekday=weekday, starts=dt.time(0), ends=END_OF_DAY)
    return person


def off_shift_agent(store, team, name: str):
    """Works every day, but an hour that starts six hours from now: off shift for the whole test."""
    person = StaffFactory(store=store, team=team, role=Role.INTERNET_AGENT, user__username=name,
                          user__first_name=name.capitalize(), user__last_name="Racer")
    starts = (timezone.now().astimezone(ZoneInfo(store.time_zone)) + dt.timedelta(hours=6)).replace(
        minute=0, second=0, microsecond=0
    )
    ends = (starts + dt.timedelta(hours=1)).time()
    for weekday in range(7):
        ShiftFactory(staff=person, weekday=weekday, starts=starts.time(), ends=ends)
    return person


def team_of(store, on: int, off: int = 0):
    team = TeamFactory(store=store, name="Internet")
    working = [on_shift_agent(store, team, f"on{i}") for i in range(on)]
    away = [off_shift_agent(store, team, f"off{i}") for i in range(off)]
    return team, working, away


def lead_data(n: int) -> lead_services.LeadData:
    return lead_services.LeadData(
        source_type=SourceType.THIRD_PARTY,
        intake_channel=IntakeChannel.API,
        first_name="Race",
        last_name=f"Shopper{n}",
        phones=[(f"+1312556{n:04d}", "mobile")],
        provider="CarGurus",
        provider_lead_id=f"RACE-{n}",
    )


def run_threads(count: int, work) -> list[str]:
    """Run work(index) in `count` threads released together; the tracebacks of any that failed."""
    barrier = threading.Barrier(count)
    errors: list[str] = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except Exception:  # noqa: BLE001 - reported to the test, which fails on it
            errors.append(traceback.format_exc())
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return errors


# --- 200 leads at once through two processes ------------------------------------------------

PROCESSES = 2
THREADS = 4
LEADS = 200


def _intake_process(store_id: int, first: int, count: int, errors) -> None:
    """A forked child: several threads each accept leads and route them, as the after-commit task does."""
    from org.models import Store

    # Whatever connection objects came through the fork belong to the parent: forget them
    # without closing (closing would end the parent's session on the shared socket).
    for alias in connections:
        connections[alias].connection = None
        connections[alias].closed_in_transaction = False
    try:
        store = Store.objects.get(pk=store_id)
        connection.close()
        numbers = list(range(first, first + count))

        def work(index: int) -> None:
            for n in numbers[index::THREADS]:
                lead = lead_services.lead_create(store=store, data=lead_data(n)).lead
                services.lead_route(lead_id=lead.pk)

        failed = run_threads(THREADS, work)
    except Exception:  # noqa: BLE001
        failed = [traceback.format_exc()]
    finally:
        connections.close_all()
    errors.put(failed)


def test_200_leads_through_two_processes_rotate_evenly_and_skip_whoever_is_off_shift(race_store):
    team, working, away = team_of(race_store, on=4, off=1)
    the_rule = rule(race_store, team=team, strategy="round_robin")
    connections.close_all()  # never share a socket with the children
    assert all(connections[alias].connection is None for alias in connections)
    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    per_process = LEADS // PROCESSES
    children = [
        ctx.Process(target=_intake_process, args=(race_store.pk, 1 + i * per_process, per_process, errors))
        for i in range(PROCESSES)
    ]
    for child in children:
        child.start()
    reports = [errors.get(timeout=180) for _ in children]
    for child in children:
        child.join(timeout=30)
    assert [child.exitcode for child in children] == [0] * PROCESSES
    assert reports == [[]] * PROCESSES, "\n".join(sum(reports, []))

    leads = Lead.objects.filter(store=race_store)
    assert leads.count() == LEADS
    assert not leads.filter(owner__isnull=True).exists()
    assert not leads.filter(routed_at__isnull=True).exists()
    counts = Counter(leads.values_list("owner_id", flat=True))
    assert set(counts) == {person.pk for person in working}
    assert max(counts.values()) - min(counts.values()) <= 1
    assert sorted(counts.values()) == [LEADS // len(working)] * len(working)
    assert counts[away[0].pk] == 0
    # Every lead routed once, with the absentee named among the skipped.
    assert LeadAssignment.objects.filter(lead__store=race_store).count() == LEADS
    assert Counter(LeadAssignment.objects.filter(lead__store=race_store).values_list("lead_id", flat=True)).most_common(1)[0][1] == 1
    skipped = LeadAssignment.objects.filter(lead__store=race_store).values_list("skipped", flat=True)
    assert all(entry == [{"staff": away[0].pk, "name": away[0].display_name, "reason": "off shift"}] for entry in skipped)
    # The persisted rotation agrees with the leads handed out.
    slots = {slot.staff_id: slot.assigned for slot in RotationSlot.objects.filter(rule=the_rule)}
    assert sum(slots.values()) == LEADS
    assert {staff_id: n for staff_id, n in slots.items() if n} == dict(counts)


# --- 50 claims of one lead ------------------------------------------------------------------

def test_50_simultaneous_claims_of_one_pool_lead_have_exactly_one_winner(race_store):
    team, working, _ = team_of(race_store, on=50)
    rule(race_store, team=team, strategy="claim_pool")
    lead = lead_services.lead_create(store=race_store, data=lead_data(9001)).lead
    assert services.lead_route(lead_id=lead.pk)
    assert Lead.objects.get(pk=lead.pk).in_claim_pool
    won: list[int] = []
    taken: list[int | None] = []

    def claim(index: int) -> None:
        mine = Lead.objects.get(pk=lead.pk)
        try:
            services.lead_claim(lead=mine, staff=working[index])
        except services.LeadTaken as exc:
            taken.append(exc.holder.pk if exc.holder else None)
        else:
            won.append(working[index].pk)

    errors = run_threads(len(working), claim)
    assert errors == []
    assert len(won) == 1
    assert len(taken) == len(working) - 1 and set(taken) == {won[0]}  # every loser is told who holds it
    claimed = Lead.objects.get(pk=lead.pk)
    assert claimed.owner_id == won[0] and claimed.in_claim_pool is False
    assert list(LeadAssignment.objects.filter(lead=lead, to_staff__isnull=False).values_list("to_staff_id", flat=True)) == won
    assert LeadRouting.objects.get(lead=lead).state == RoutingState.ASSIGNED


# --- two sweepers over the same overdue leads ---------------------------------------------------

def test_two_sweepers_at_once_move_each_overdue_lead_exactly_once(race_store):
    team, working, _ = team_of(race_store, on=4)
    rule(race_store, team=team, strategy="round_robin_reassign", response_minutes=20, max_moves=3)
    ids = []
    for n in range(30):
        lead = lead_services.lead_create(store=race_store, data=lead_data(8000 + n)).lead
        assert services.lead_route(lead_id=lead.pk)
        ids.append(lead.pk)
    first_owner = dict(Lead.objects.filter(pk__in=ids).values_list("pk", "owner_id"))
    assert None not in first_owner.values()
    deadline = LeadRouting.objects.filter(lead_id__in=ids).aggregate(last=Max("response_due_at"))["last"]
    assert deadline is not None
    later = deadline + dt.timedelta(seconds=1)
    moved: list[int] = []

    errors = run_threads(2, lambda _: moved.append(sweeper.responses_due(now=later)))
    assert errors == []
    assert sum(moved) == 30
    per_lead = Counter(LeadAssignment.objects.filter(lead_id__in=ids).values_list("lead_id", flat=True))
    assert per_lead == {pk: 2 for pk in ids}  # the first routing and one move
    for lead in Lead.objects.filter(pk__in=ids).select_related("routing"):
        assert lead.owner_id is not None and lead.owner_id != first_owner[lead.pk]
        assert lead.routing.moves == 1
        assert lead.routing.response_due_at > later  # the new owner's clock, not due again
    # A third pass at the same instant finds nothing left to do.
    assert sweeper.responses_due(now=later) == 0
