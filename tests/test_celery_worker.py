"""Timers with a real Celery worker (and its beat) on real Redis, against the test database.

A lead is saved first; its routing is a Celery message sent after commit, and a deadline
column the beat sweeper checks every 5 s. These tests prove both paths with real processes:
the message path, and the sweeper that routes a lead whose message was lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from dealercrm.celery import app as celery_app
from leads import services
from leads.models import IntakeChannel, Lead, SourceType

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.clock, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def lead_data(n: int) -> services.LeadData:
    return services.LeadData(
        source_type=SourceType.THIRD_PARTY,
        intake_channel=IntakeChannel.API,
        first_name="Worker",
        last_name=f"Test{n}",
        phones=[(f"+1312555{n:04d}", "mobile")],
        provider="CarGurus",
        provider_lead_id=f"W-{n}",
    )


def service_env(**environ: str) -> dict[str, str]:
    """The environment of a process the test starts (a worker, a web server): the test database,
    the tests' Redis and queue."""
    db = connection.settings_dict
    return dict(
        os.environ,
        DATABASE_URL=f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE,
        DJANGO_DEBUG="1",
        **environ,
    )


def start_worker(tmp_path: Path, *, with_beat: bool, **environ: str) -> subprocess.Popen:
    env = service_env(**environ)
    command = [sys.executable, "-m", "celery", "-A", "dealercrm", "worker", "--pool", "solo", "--loglevel", "INFO"]
    if with_beat:
        command += ["--beat", "--schedule", str(tmp_path / "beat-schedule")]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=open(tmp_path / "worker.log", "wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until_routed(lead_id: int, timeout: float) -> Lead:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lead = Lead.objects.get(pk=lead_id)
        if lead.routed_at is not None:
            return lead
        time.sleep(0.3)
    raise AssertionError(f"lead {lead_id} was not routed within {timeout} s")


@pytest.fixture
def empty_queue():
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
        conn.default_channel.queue_purge(settings.SWEEP_QUEUE)
    yield


def test_worker_routes_a_new_lead_from_the_message(tmp_path, store, empty_queue):
    worker = start_worker(tmp_path, with_beat=False)
    try:
        lead = services.lead_create(store=store, data=lead_data(1)).lead  # commits; on_commit sends the task
        routed = wait_until_routed(lead.pk, timeout=30)
    finally:
        stop(worker)
    assert routed.routing.state == "manager"  # no routing rule yet: it waits for a manager
    assert routed.assignments.count() == 1
    assert "lead_route_task" in (tmp_path / "worker.log").read_text()


def test_lead_whose_message_was_lost_is_routed_by_the_beat_sweeper(tmp_path, store, empty_queue):
    """Accepted while every worker was down, then Redis lost the message (a restart without
    persistence): the deadline column still brings it to the sweeper once beat runs again."""
    lead = services.lead_create(store=store, data=lead_data(2)).lead
    with celery_app.connection_for_write() as conn:
        lost = conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    assert lost == 1
    assert Lead.objects.get(pk=lead.pk).routed_at is None
    worker = start_worker(tmp_path, with_beat=True)
    try:
        routed = wait_until_routed(lead.pk, timeout=45)
    finally:
        stop(worker)
    assert routed.routing.state == "manager"
    assert "distribution.tasks.sweep_task" in (tmp_path / "worker.log").read_text()


def test_intake_succeeds_when_the_broker_is_down(store, monkeypatch):
    """A lead that was accepted is never lost: with Redis unreachable the lead is still stored,
    with its routing deadline set for the sweeper."""
    # broker_write_url first: read after broker_url was patched it would fall back to the bad
    # address, and monkeypatch would "restore" that for the tests after this one.
    monkeypatch.setattr(celery_app.conf, "broker_write_url", None)
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(celery_app, "_pool", None)
    result = services.lead_create(store=store, data=lead_data(3))
    celery_app._pool = None
    lead = Lead.objects.get(pk=result.lead.pk)
    assert lead.routed_at is None and lead.routing_due_at is not None


def sessions_opened(database: str) -> int:
    """Connections ever opened to `database` (PostgreSQL's own counter, pg_stat_database.sessions)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [database])
        return cursor.fetchone()[0]


def test_worker_keeps_its_database_connection_from_task_to_task(tmp_path, store, empty_queue):
    """Celery's Django fixup would open a new PostgreSQL connection for every task (a backend
    process started and warmed each time: more than the routing work itself). dealercrm.celery
    lets a worker reuse it as a web process does, so twenty routings cost a couple of sessions."""
    leads = [services.lead_create(store=store, data=lead_data(100 + n)).lead for n in range(20)]
    database = connection.settings_dict["NAME"]
    before = sessions_opened(database)
    worker = start_worker(tmp_path, with_beat=False)
    try:
        for lead in leads:
            wait_until_routed(lead.pk, timeout=30)
    finally:
        stop(worker)  # a backend's counters reach pg_stat_database by the time it exits
    time.sleep(0.5)
    log = (tmp_path / "worker.log").read_text()
    assert log.count("lead_route_task") >= 20
    assert sessions_opened(database) - before <= 3


def test_a_new_leads_nudge_does_not_wait_behind_a_backlog_of_sweep_chunks(tmp_path, store, empty_queue):
    """After an outage the sweeps hand out a backlog in chunks; a lead arriving meanwhile is
    routed by its own nudge after at most a chunk or two, not after the whole backlog (before,
    nudges and sweeps shared one queue: first in, first out)."""
    import datetime as dt

    from django.utils import timezone
    from factories import LeadFactory

    from distribution.tasks import route_due_task
    from leads.nudges import nudge
    from tests.distribution.floor import rule
    from tests.distribution.test_races import team_of

    store.business_hours = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    store.save(update_fields=["business_hours"])
    team, _, _ = team_of(store, on=4)
    rule(store, team=team, strategy="round_robin")
    stale = timezone.now() - dt.timedelta(minutes=1)
    backlog = [LeadFactory(store=store, owner=None, routed_at=None, routing_due_at=stale, received_at=stale).pk
               for _ in range(160)]
    chunks = 16
    assert all(nudge(route_due_task) for _ in range(chunks))  # what a sweep sends for 160 due leads
    fresh = services.lead_create(store=store, data=lead_data(4)).lead  # its nudge comes after them
    worker = start_worker(tmp_path, with_beat=False, SWEEP_CHUNK_LEADS="10")
    try:
        routed = wait_until_routed(fresh.pk, timeout=60)
    finally:
        stop(worker)
    assert routed.owner_id is not None
    before_it = Lead.objects.filter(pk__in=backlog, routed_at__lt=routed.routed_at).count()
    assert before_it <= 2 * 10, f"{before_it} stale leads were routed before the new one"
