"""Real Celery workers on real Redis: the recording fetch (the recording callback
commits, its on_commit sends the task, a worker process downloads the audio) and the beat
sweep that settles a call whose callbacks never came."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.conf import settings
from django.utils import timezone
from factories import CustomerPhoneFactory, LeadFactory

from dealercrm.celery import app as celery_app
from telephony.models import Call
from telephony.twilio import account_sid
from tests.telephony import call_fixtures
from tests.telephony.call_fixtures import AUDIO, RECORDING, FakeRecordings
from tests.telephony.twilio_helpers import sid, signed_post
from tests.test_celery_worker import start_worker, stop

# Shared fixtures, bound here so pytest finds them in this module.
lines, recording_server = call_fixtures.lines, call_fixtures.recording_server

pytestmark = [pytest.mark.clock, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def empty_queue():
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    yield


def test_a_worker_fetches_the_recording_the_callback_announced(
    tmp_path, monkeypatch, client, store, org, lines, recording_server, empty_queue
):
    # The worker is another process: it learns the public URL and the media root from its env.
    monkeypatch.setenv("PUBLIC_BASE_URL", recording_server)
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    settings.MEDIA_ROOT = tmp_path / "media"
    lead = LeadFactory(store=store, owner=org["agent"])
    CustomerPhoneFactory(customer=lead.customer, number="+13125550142")
    call = Call.objects.create(
        store=store, call_sid=sid("CA"), direction="outbound", staff=org["agent"], customer=lead.customer, lead=lead,
        dealer_number=lines["agent"], customer_number="+13125550142", status="completed", settled_at=timezone.now(),
    )
    recording_sid = sid("RE")
    worker = start_worker(tmp_path, with_beat=False)
    try:
        response = signed_post(client, RECORDING, {
            "AccountSid": account_sid(), "CallSid": call.call_sid, "RecordingSid": recording_sid,
            "RecordingUrl": f"{recording_server}/2010-04-01/Accounts/{account_sid()}/Recordings/{recording_sid}",
            "RecordingStatus": "completed", "RecordingDuration": "12",
        })
        assert response.status_code == 200
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            call.refresh_from_db()
            if call.recording_file:
                break
            time.sleep(0.3)
    finally:
        stop(worker)
    assert call.recording_file, (tmp_path / "worker.log").read_text()[-2000:]
    assert call.recording_fetch_due_at is None
    with call.recording_file.open("rb") as stored:
        assert stored.read() == AUDIO
    assert [path for path, _ in FakeRecordings.seen] == [
        f"/2010-04-01/Accounts/{account_sid()}/Recordings/{recording_sid}.mp3"
    ]
    assert "call_recording_fetch_task" in (tmp_path / "worker.log").read_text()


def test_a_worker_with_beat_settles_a_call_whose_callbacks_never_came(tmp_path, monkeypatch, store, org, lines,
                                                                      settings, empty_queue):
    """Beat runs the reconcile sweep; the worker asks the sandbox's REST API (its state is in
    the shared Redis) how the call ended and settles it."""
    from leads.events import contact_event_record
    from leads.models import ContactEvent, Outcome
    from telephony.sandbox import rest as sandbox_rest
    from telephony.sandbox import state as sandbox_state

    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("CALL_RECONCILE_SWEEP_SECONDS", "1")
    lead = LeadFactory(store=store, owner=org["agent"])
    CustomerPhoneFactory(customer=lead.customer, number="+13125550147")
    parent, child = sandbox_state.new_sid("CA"), sandbox_state.new_sid("CA")
    sandbox_state.resource_put(parent, {**sandbox_rest.call_resource(parent, to="+13125550111", from_="+13125550151",
                                                                     direction="outbound-api"), "status": "completed"})
    sandbox_state.resource_put(child, {**sandbox_rest.call_resource(child, to="+13125550147", from_="+13125550151",
                                                                    direction="outbound-dial", parent_sid=parent),
                                       "status": "completed", "duration": "95", "answered_by": "human"})
    sandbox_state._child_add(parent, child)
    now = timezone.now()
    call = Call.objects.create(
        store=store, call_sid=parent, direction="outbound", staff=org["agent"], customer=lead.customer, lead=lead,
        dealer_number=lines["agent"], customer_number="+13125550147", agent_number="+13125550111",
        status="ringing", created_at=now - dt.timedelta(minutes=6),
        reconcile_due_at=now - dt.timedelta(minutes=1),
    )
    contact_event_record(store=store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=org["agent"].pk,
                         channel="call", direction="outbound", outcome=Outcome.ATTEMPT, evidence_level="verified",
                         occurred_at=call.created_at, call_sid=parent)
    worker = start_worker(tmp_path, with_beat=True)
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            call.refresh_from_db()
            if call.settled_at:
                break
            time.sleep(0.3)
        time.sleep(2.5)  # later sweeps run too, and change nothing
    finally:
        stop(worker)
    log = (tmp_path / "worker.log").read_text()
    assert call.settled_at is not None, log[-3000:]
    [attempt, settled] = ContactEvent.objects.filter(call_sid=parent).order_by("id")
    assert settled.supersedes == attempt
    assert (settled.outcome, settled.talk_seconds, settled.answered_by_person) == (Outcome.CONNECTED, 95, True)
    assert "calls_reconcile_task" in log
