"""Beat's sweeps (issue 14, faults), on real PostgreSQL with real threads: two never run at once,
and a backlog of due leads is shared by every worker, with round robin exact.

Before: beat queued a sweep every 5 s with nothing to stop two overlapping, and each routed its
list of due ids one by one, two at once contending for the same rows, so a backlog after an
outage drained at a few leads a second while new leads kept arriving.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from factories import LeadFactory

from dealercrm.celery import app as celery_app
from distribution import sweeper, tasks
from distribution.models import RoutingRule
from leads.models import Lead, LeadAssignment
from tests.distribution.floor import rule
from tests.distribution.test_races import ALL_DAY, run_threads, team_of

pytestmark = [pytest.mark.clock, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def floor_store(db):
    from factories import StoreFactory

    return StoreFactory(slug="sweep-motors", name="Sweep Motors", business_hours=ALL_DAY)


@pytest.fixture
def sweep_queue():
    """The sweeps' own queue on the test Redis, empty before and after."""
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        channel.queue_purge(settings.SWEEP_QUEUE)
        channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
        yield channel
        channel.queue_purge(settings.SWEEP_QUEUE)
        channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)


def due_leads(store, count: int, now: dt.datetime) -> list[Lead]:
    """Leads accepted a minute ago whose nudges were lost: due for the sweeper."""
    received = now - dt.timedelta(minutes=1)
    return [LeadFactory(store=store, owner=None, routed_at=None, routing_due_at=received, received_at=received)
            for _ in range(count)]


def assert_each_routed_once_in_turn(store, leads: list[Lead], working) -> None:
    ids = [lead.pk for lead in leads]
    assert not Lead.objects.filter(pk__in=ids, routed_at__isnull=True).exists()
    per_lead = Counter(LeadAssignment.objects.filter(lead_id__in=ids).values_list("lead_id", flat=True))
    assert set(per_lead) == set(ids) and set(per_lead.values()) == {1}  # none skipped, none twice
    owners = Counter(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True))
    assert sorted(owners.values()) == [len(ids) // len(working)] * len(working)  # round robin exact
    assert set(owners) == {person.pk for person in working}


def advisory_lock_held(key: int) -> bool:
    """Whether some session holds the advisory lock `key` (a bigint: pg_locks splits it in two)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND classid::bigint = %s AND objid::bigint = %s",
            [key >> 32, key & 0xFFFFFFFF],
        )
        return cursor.fetchone()[0] > 0


def test_a_sweep_that_starts_while_another_runs_does_nothing(floor_store):
    team, working, _ = team_of(floor_store, on=4)
    the_rule = rule(floor_store, team=team, strategy="round_robin")
    now = timezone.now()
    leads = due_leads(floor_store, 8, now)
    rule_taken, let_go = threading.Event(), threading.Event()
    first: dict = {}

    def hold_the_rotation(index: int) -> None:
        """Someone routing a lead by hand: the rule's rotation is locked for a while."""
        with transaction.atomic():
            RoutingRule.objects.select_for_update().get(pk=the_rule.pk)
            rule_taken.set()
            let_go.wait(timeout=60)

    def sweep_first(index: int) -> None:
        rule_taken.wait(timeout=30)
        first.update(sweeper.sweep_exclusive(now=now))

    holder = threading.Thread(target=run_threads, args=(1, hold_the_rotation))
    sweeping = threading.Thread(target=run_threads, args=(1, sweep_first))
    holder.start()
    sweeping.start()
    try:
        for _ in range(300):  # the first sweep has its lock and waits on the rotation
            if advisory_lock_held(sweeper.SWEEP_LOCK):
                break
            time.sleep(0.1)  # not Event.wait: a timed wait never returns under libfaketime (the clock step)
        assert advisory_lock_held(sweeper.SWEEP_LOCK)

        second = sweeper.sweep_exclusive(now=now)

        assert second == {"overlapping": 1}
        assert not Lead.objects.filter(routed_at__isnull=False).exists()  # the second one routed nothing
    finally:
        let_go.set()
        holder.join(timeout=60)
        sweeping.join(timeout=60)
    assert first["routed"] == 8 and first["chunks"] == 0  # no broker here: the pass routed them itself
    assert not advisory_lock_held(sweeper.SWEEP_LOCK)
    assert_each_routed_once_in_turn(floor_store, leads, working)


def test_chunks_running_at_once_share_the_backlog_and_keep_round_robin_exact(floor_store):
    team, working, _ = team_of(floor_store, on=4)
    rule(floor_store, team=team, strategy="round_robin")
    now = timezone.now()
    leads = due_leads(floor_store, 60, now)
    routed = [0] * 4

    def chunk(index: int) -> None:
        routed[index] = sweeper.route_due(now=now, limit=60)

    assert run_threads(4, chunk) == []

    assert sum(routed) == 60
    assert sum(1 for n in routed if n) >= 2, routed  # shared, not one after another
    assert_each_routed_once_in_turn(floor_store, leads, working)


def test_a_sweep_hands_a_backlog_to_the_workers_in_chunks_on_the_sweep_queue(floor_store, sweep_queue, settings):
    settings.SWEEP_CHUNK_LEADS = 10
    team, working, _ = team_of(floor_store, on=4)
    rule(floor_store, team=team, strategy="round_robin")
    leads = due_leads(floor_store, 36, timezone.now())

    result = tasks.sweep_task()  # as beat's message runs it in a worker

    assert result["chunks"] == 4 and result["routed"] == 0
    assert sweep_queue.client.llen(settings.SWEEP_QUEUE) == 4
    assert sweep_queue.client.llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 0  # nudges' queue untouched
    assert not Lead.objects.filter(routed_at__isnull=False).exists()

    done = [0] * 4

    def worker(index: int) -> None:
        done[index] = tasks.route_due_task()

    assert run_threads(4, worker) == []
    assert sum(done) == 36 and max(done) <= 10
    assert_each_routed_once_in_turn(floor_store, leads, working)
