"""Follow-up timers with a real Celery worker and beat on real Redis, against the test database:
a task that falls due is announced to its owner, and an appointment nobody checked in becomes a
no-show with a call task, and once only, also after the worker was down past the deadline."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone
from factories import CustomerFactory, LeadFactory, StaffFactory, StoreFactory

from distribution.models import Notification
from leads.models import Appointment, AppointmentStatus, Task, TaskKind
from org.models import Role
from tests.test_celery_worker import empty_queue, start_worker, stop  # noqa: F401 - empty_queue: a fixture

pytestmark = [pytest.mark.clock, pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_queue")]


@pytest.fixture(autouse=True)
def _fast_sweeps(monkeypatch):
    """start_worker passes os.environ on to the worker: the follow-up sweep runs every second."""
    monkeypatch.setenv("FOLLOWUP_SWEEP_SECONDS", "1")


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def test_a_due_task_is_announced_and_a_missed_appointment_becomes_a_no_show_once(tmp_path):
    store = StoreFactory(slug="follow-motors")
    agent = StaffFactory(store=store, role=Role.INTERNET_AGENT)
    customer = CustomerFactory(store=store, first_name="Nora", last_name="Due")
    lead = LeadFactory(store=store, customer=customer, owner=agent)
    now = timezone.now()
    task = Task.objects.create(store=store, customer=customer, lead=lead, staff=agent, kind=TaskKind.CALL_BACK,
                               channel="call", due_at=now - dt.timedelta(minutes=1), reason="Missed call.")
    # The no-show deadline passed while no worker ran.
    appointment = Appointment.objects.create(
        store=store, lead=lead, customer=customer, staff=agent, starts_at=now - dt.timedelta(hours=3),
        no_show_due_at=now - dt.timedelta(hours=1),
    )
    worker = start_worker(tmp_path, with_beat=True)
    try:
        wait_for(lambda: Notification.objects.filter(staff=agent, kind="task").exists(), 45, "the task notice")
        wait_for(lambda: Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.NO_SHOW, 45,
                 "the no-show")
        time.sleep(3)  # a few more sweeps: nothing happens twice
    finally:
        stop(worker)
    # Each task announced once: the call-back, and the call the no-show created.
    texts = sorted(Notification.objects.filter(staff=agent, kind="task").values_list("text", flat=True))
    assert len(texts) == 2
    assert texts[0].startswith("Due now: Call Nora Due. Missed call.")
    assert texts[1].startswith("Due now: Call Nora Due. Missed the appointment")
    task.refresh_from_db()
    assert task.notified_at is not None
    assert Task.objects.filter(lead=lead, kind=TaskKind.FOLLOW_UP, reason__startswith="Missed the appointment").count() == 1
    assert "leads.tasks.followup_sweep_task" in (tmp_path / "worker.log").read_text()
