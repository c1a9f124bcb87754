"""Distribution timers with a real Celery worker and beat on real Redis, against the test database.

The beat sweeps every second here (SWEEP_SECONDS=1; 5 s by default). Deadlines are columns, so
the tests move a deadline by writing LeadRouting.response_due_at, exactly what the sweeper reads.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone
from factories import ShiftFactory, StaffFactory, StoreFactory, TeamFactory

from distribution.models import LeadRouting, Notification, NotificationKind
from distribution.tasks import sweep_task
from leads import services as lead_services
from leads.models import IntakeChannel, Lead, LeadAssignment, SourceType
from org.models import Role
from tests.distribution.floor import rule
from tests.test_celery_worker import empty_queue, start_worker, stop  # noqa: F401 - empty_queue: a fixture

pytestmark = [pytest.mark.clock, pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_queue")]

SWEEP_SECONDS = 1
ALL_DAY = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
END_OF_DAY = dt.time(23, 59, 59, 999999)


@pytest.fixture(autouse=True)
def _fast_sweeps(monkeypatch):
    """start_worker passes os.environ on to the worker, so beat sweeps every second."""
    monkeypatch.setenv("SWEEP_SECONDS", str(SWEEP_SECONDS))


@pytest.fixture
def floor_all_day(db):
    store = StoreFactory(slug="timer-motors", name="Timer Motors", business_hours=ALL_DAY)
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="timer-manager")
    team = TeamFactory(store=store, name="Internet", manager=manager)
    agents = []
    for name in ("ann", "bob", "cat", "dan"):
        person = StaffFactory(store=store, team=team, role=Role.INTERNET_AGENT, user__username=f"timer-{name}",
                              user__first_name=name.capitalize(), user__last_name="Agent")
        for weekday in range(7):
            ShiftFactory(staff=person, weekday=weekday, starts=dt.time(0), ends=END_OF_DAY)
        agents.append(person)
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20, max_moves=3)
    return store, agents


def lead_data(n: int) -> lead_services.LeadData:
    return lead_services.LeadData(
        source_type=SourceType.THIRD_PARTY,
        intake_channel=IntakeChannel.API,
        first_name="Timer",
        last_name=f"Shopper{n}",
        phones=[(f"+1312557{n:04d}", "mobile")],
        provider="CarGurus",
        provider_lead_id=f"TIMER-{n}",
    )


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s")


def owner_other_than(lead_id: int, previous: int | None):
    def check():
        owner = Lead.objects.filter(pk=lead_id).values_list("owner_id", flat=True).first()
        return owner if owner is not None and owner != previous else None

    return check


def due_in(lead_id: int, seconds: float) -> None:
    """Bring the owner's response deadline (the column the sweeper reads) to `seconds` from now."""
    updated = LeadRouting.objects.filter(lead_id=lead_id, response_due_at__isnull=False).update(
        response_due_at=timezone.now() + dt.timedelta(seconds=seconds), warn_at=None
    )
    assert updated == 1


def moves(lead_id: int) -> list[tuple[int | None, int | None]]:
    return list(LeadAssignment.objects.filter(lead_id=lead_id).order_by("id").values_list("from_staff_id", "to_staff_id"))


def test_lead_accepted_while_no_worker_ran_is_routed_and_its_owner_notified_once(tmp_path, floor_all_day):
    store, agents = floor_all_day
    # Accepted with every worker down: its routing nudge waits in Redis, its deadline in the database.
    lead = lead_services.lead_create(store=store, data=lead_data(1)).lead
    time.sleep(SWEEP_SECONDS * 1.5)
    assert Lead.objects.get(pk=lead.pk).owner_id is None
    worker = start_worker(tmp_path, with_beat=True)
    try:
        owner = wait_for(owner_other_than(lead.pk, None), 30, "routing the waiting lead")
        wait_for(lambda: Notification.objects.filter(lead=lead, kind=NotificationKind.NEW_LEAD).exists(), 10,
                 "the owner's notification")
        time.sleep(SWEEP_SECONDS * 3)  # the nudge and the sweeper both had their go
    finally:
        stop(worker)
    assert owner in {a.pk for a in agents}
    assert moves(lead.pk) == [(None, owner)]
    notes = list(Notification.objects.filter(lead=lead).values_list("staff_id", "kind"))
    assert notes == [(owner, NotificationKind.NEW_LEAD)]
    assert LeadRouting.objects.get(lead=lead).response_due_at is not None  # the owner's clock runs


def test_silent_owner_loses_the_lead_at_the_deadline_and_a_restart_past_it_moves_it_once(tmp_path, floor_all_day):
    store, agents = floor_all_day
    worker = start_worker(tmp_path, with_beat=True)
    try:
        lead = lead_services.lead_create(store=store, data=lead_data(2)).lead
        first = wait_for(owner_other_than(lead.pk, None), 30, "routing the new lead")
        # (a) The owner makes no attempt; the deadline passes while the worker and beat run.
        due_in(lead.pk, 2)
        second = wait_for(owner_other_than(lead.pk, first), 20, "the reassignment at the deadline")
    finally:
        stop(worker)
    assert moves(lead.pk) == [(None, first), (first, second)]
    assert Notification.objects.filter(lead=lead, staff_id=second, kind=NotificationKind.REASSIGNED).count() == 1
    assert Notification.objects.filter(lead=lead, staff_id=first, kind=NotificationKind.REASSIGNED).count() == 1
    reason = LeadAssignment.objects.filter(lead=lead).order_by("-id").first().reason
    assert "made no first attempt within 20 business minutes" in reason

    # (b) Everything is down while the second owner's deadline passes; beat had kept queueing
    # sweeps that nobody ran. Two workers (one with beat) start together and all of them run.
    due_in(lead.pk, 1)
    for _ in range(5):
        sweep_task.apply_async()
    time.sleep(1.5)
    assert Lead.objects.get(pk=lead.pk).owner_id == second  # nothing moves without a worker
    restarted, extra = tmp_path / "restarted", tmp_path / "extra"
    restarted.mkdir()
    extra.mkdir()
    workers = [start_worker(restarted, with_beat=True), start_worker(extra, with_beat=False)]
    try:
        third = wait_for(owner_other_than(lead.pk, second), 30, "the reassignment after the restart")
        time.sleep(SWEEP_SECONDS * 4)  # a few more sweeps: none may move it again
    finally:
        for proc in workers:
            stop(proc)
    assert moves(lead.pk) == [(None, first), (first, second), (second, third)]
    assert len({first, second, third}) == 3  # nobody gets it twice in one chain
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.moves == 2
    assert routing.response_due_at > timezone.now() + dt.timedelta(minutes=15)  # third's own fresh clock
    assert Notification.objects.filter(lead=lead, staff_id=third, kind=NotificationKind.REASSIGNED).count() == 1
    logs = (restarted / "worker.log").read_text() + (extra / "worker.log").read_text()
    assert "distribution.tasks.sweep_task" in logs
