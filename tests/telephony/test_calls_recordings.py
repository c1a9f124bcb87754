"""Recordings: the callback, the fetch (a real HTTP download from a local server standing in
for Twilio), retries through the deadline column and the sweeper, and who may listen."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from factories import StaffFactory, StoreFactory, TeamFactory

from dealercrm.celery import app as celery_app
from leads.models import ContactEvent, Outcome
from org.models import Role
from telephony import calls, tasks
from telephony.models import Call, WebhookReceipt
from telephony.twilio import account_sid
from tests.telephony import call_fixtures
from tests.telephony.call_fixtures import (
    AUDIO,
    RECORDING,
    FakeRecordings,
)
from tests.telephony.twilio_helpers import sid, signed_post

# Shared fixtures, bound here so pytest finds them in this module.
agent_lead, lines, recording_server, twilio_http = call_fixtures.agent_lead, call_fixtures.lines, call_fixtures.recording_server, call_fixtures.twilio_http

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

@pytest.fixture
def eager_celery():
    """Tasks enqueued after commit run in-process (the on_commit path is what is under test)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def settled_call(store, org, agent_lead, lines):
    """A finished click-to-call of the agent's, its outcome recorded."""
    call = Call.objects.create(
        store=store, call_sid=sid("CA"), child_call_sid=sid("CA"), direction="outbound", staff=org["agent"],
        customer=agent_lead.customer, lead=agent_lead, dealer_number=lines["agent"], customer_number="+13125550142",
        agent_number="+13125550111", status="completed", customer_leg_status="completed", answered_by="human",
        talk_seconds=80, settled_at=timezone.now(),
    )
    ContactEvent.objects.create(
        store=store, customer=agent_lead.customer, lead=agent_lead, staff=org["agent"], channel="call",
        direction="outbound", outcome=Outcome.CONNECTED, evidence_level="verified", call_sid=call.call_sid,
        talk_seconds=80, answered_by_person=True,
    )
    return call


def recording_params(call, recording_sid, base_url, status="completed"):
    return {
        "AccountSid": account_sid(), "CallSid": call.call_sid, "RecordingSid": recording_sid,
        "RecordingUrl": f"{base_url}/2010-04-01/Accounts/{account_sid()}/Recordings/{recording_sid}",
        "RecordingStatus": status, "RecordingDuration": "81", "RecordingChannels": "2", "RecordingSource": "DialVerb",
    }


def test_the_recording_callback_stores_the_sid_and_a_worker_fetches_the_audio(
    client, settled_call, recording_server, eager_celery, django_capture_on_commit_callbacks
):
    recording_sid = sid("RE")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signed_post(client, RECORDING, recording_params(settled_call, recording_sid, recording_server))
    assert response.status_code == 200
    assert len(callbacks) == 1
    call = Call.objects.get(pk=settled_call.pk)
    assert (call.recording_sid, call.recording_seconds) == (recording_sid, 81)
    assert call.recording_url.endswith(f"/Recordings/{recording_sid}")
    assert call.recording_fetch_due_at is None and call.recording_fetch_attempts == 1
    assert call.recording_file.name.endswith(f"{call.call_sid}.mp3")
    with call.recording_file.open("rb") as stored:
        assert stored.read() == AUDIO
    [(path, _)] = FakeRecordings.seen
    assert path == f"/2010-04-01/Accounts/{account_sid()}/Recordings/{recording_sid}.mp3"


def test_the_stored_file_takes_the_type_the_server_sent(client, org, settled_call, recording_server):
    """Asked for ".mp3", a server answering WAV (as the sandbox does) gives a .wav played as WAV."""
    FakeRecordings.content_type = "audio/wav"
    Call.objects.filter(pk=settled_call.pk).update(
        recording_sid=sid("RE"), recording_url=f"{recording_server}/Recordings/RE1", recording_fetch_due_at=timezone.now()
    )
    assert calls.call_recording_fetch(call_id=settled_call.pk) is True
    call = Call.objects.get(pk=settled_call.pk)
    assert call.recording_file.name.endswith(f"{call.call_sid}.wav")
    client.force_login(org["agent"].user)
    response = client.get(reverse("telephony:call_recording", args=[call.pk]))
    assert response["Content-Type"] == "audio/wav"
    assert f'filename="{call.call_sid}.wav"' in response["Content-Disposition"]


def test_a_repeated_recording_callback_changes_nothing(client, settled_call, recording_server, eager_celery,
                                                       django_capture_on_commit_callbacks):
    recording_sid = sid("RE")
    params = recording_params(settled_call, recording_sid, recording_server)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            assert signed_post(client, RECORDING, params).status_code == 200
    assert len(FakeRecordings.seen) == 1
    assert WebhookReceipt.objects.filter(kind="recording", sid=recording_sid).count() == 1


def test_a_second_recording_of_the_same_call_is_not_kept(client, settled_call, twilio_http):
    first, second = sid("RE"), sid("RE")
    for recording_sid in (first, second):
        params = recording_params(settled_call, recording_sid, "https://api.twilio.com")
        assert signed_post(client, RECORDING, params).status_code == 200
    assert Call.objects.get(pk=settled_call.pk).recording_sid == first


def test_a_failed_fetch_retries_with_backoff_through_the_sweeper_and_keeps_the_event(
    client, settled_call, recording_server, django_capture_on_commit_callbacks
):
    FakeRecordings.failures = 2
    with django_capture_on_commit_callbacks(execute=False):
        signed_post(client, RECORDING, recording_params(settled_call, sid("RE"), recording_server))
    assert calls.call_recordings_due() == [settled_call.pk]
    before = timezone.now()
    assert calls.call_recording_fetch(call_id=settled_call.pk) is False
    call = Call.objects.get(pk=settled_call.pk)
    assert call.recording_fetch_attempts == 1 and not call.recording_file
    assert before + dt.timedelta(seconds=55) < call.recording_fetch_due_at < before + dt.timedelta(minutes=2)
    assert calls.call_recordings_due() == []  # not before its time
    assert calls.call_recording_fetch(call_id=settled_call.pk) is False  # nor by a stray task
    assert len(FakeRecordings.seen) == 1

    Call.objects.filter(pk=call.pk).update(recording_fetch_due_at=timezone.now())  # a minute later
    assert calls.call_recording_fetch(call_id=call.pk) is False
    call.refresh_from_db()
    assert call.recording_fetch_attempts == 2
    assert call.recording_fetch_due_at - timezone.now() > dt.timedelta(minutes=1, seconds=50)  # doubled

    Call.objects.filter(pk=call.pk).update(recording_fetch_due_at=timezone.now())
    enqueued = []
    tasks.call_recording_fetch_task.delay = enqueued.append  # the sweeper only nudges
    try:
        assert tasks.call_recordings_due_task() == 1
    finally:
        del tasks.call_recording_fetch_task.delay
    assert enqueued == [call.pk]
    assert tasks.call_recording_fetch_task(call.pk) is True
    call.refresh_from_db()
    assert call.recording_file and call.recording_fetch_due_at is None and call.recording_fetch_attempts == 3
    assert ContactEvent.objects.filter(call_sid=call.call_sid).count() == 1


def test_the_fetch_gives_up_after_its_last_attempt(client, settled_call, recording_server):
    FakeRecordings.failures = 99
    Call.objects.filter(pk=settled_call.pk).update(
        recording_sid=sid("RE"), recording_url=f"{recording_server}/Recordings/RE1",
        recording_fetch_due_at=timezone.now(), recording_fetch_attempts=calls.RECORDING_FETCH_MAX_ATTEMPTS - 1,
    )
    assert calls.call_recording_fetch(call_id=settled_call.pk) is False
    call = Call.objects.get(pk=settled_call.pk)
    assert call.recording_fetch_due_at is None and call.recording_fetch_attempts == calls.RECORDING_FETCH_MAX_ATTEMPTS


def test_a_recording_url_outside_twilio_is_refused(client, settled_call, twilio_http):
    """With real credentials, only Twilio's host is trusted with them."""
    params = recording_params(settled_call, sid("RE"), "https://recordings.example.net")
    assert signed_post(client, RECORDING, params).status_code == 400
    params = recording_params(settled_call, sid("RE"), "https://api.twilio.com")
    assert signed_post(client, RECORDING, params).status_code == 200
    assert Call.objects.get(pk=settled_call.pk).recording_url.startswith("https://api.twilio.com/")


def test_an_absent_recording_stores_no_url(client, settled_call, twilio_http):
    params = recording_params(settled_call, sid("RE"), "https://api.twilio.com", status="absent")
    assert signed_post(client, RECORDING, params).status_code == 200
    call = Call.objects.get(pk=settled_call.pk)
    assert call.recording_sid == "" and call.recording_fetch_due_at is None


# --- Playback -----------------------------------------------------------------------------


@pytest.fixture
def fetched(settled_call, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path
    settled_call.recording_sid = sid("RE")
    settled_call.recording_seconds = 81
    settled_call.recording_file.save(f"{settled_call.call_sid}.mp3", ContentFile(AUDIO), save=True)
    return settled_call


@pytest.mark.parametrize(
    ("who", "status"),
    [("agent", 200), ("manager", 200), ("director", 200), ("admin", 200), ("agent2", 404), ("retail", 404),
     ("receptionist", 404)],
)
def test_only_the_agent_their_manager_and_the_store_leaders_can_play_a_recording(client, org, fetched, who, status):
    client.force_login(org[who].user)
    response = client.get(reverse("telephony:call_recording", args=[fetched.pk]))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "audio/mpeg"
        assert response["Cache-Control"] == "private, no-store"
        assert b"".join(response.streaming_content) == AUDIO


def test_another_teams_manager_and_another_store_cannot_play_it(client, store, fetched):
    other_manager = StaffFactory(store=store, role=Role.SALES_MANAGER)
    TeamFactory(store=store, name="Team C", manager=other_manager)
    elsewhere = StoreFactory()
    for outsider in (other_manager, StaffFactory(store=elsewhere, role=Role.INTERNET_DIRECTOR),
                     StaffFactory(store=elsewhere, role=Role.ADMIN)):
        client.force_login(outsider.user)
        assert client.get(reverse("telephony:call_recording", args=[fetched.pk])).status_code == 404


def test_playback_needs_a_login_and_the_audio(client, org, settled_call):
    url = reverse("telephony:call_recording", args=[settled_call.pk])
    assert client.get(url).status_code == 302
    client.force_login(org["agent"].user)
    assert client.get(url).status_code == 404  # not fetched yet


def test_the_timeline_plays_the_recording_or_says_it_is_being_fetched(client, org, agent_lead, settled_call, settings,
                                                                      tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(org["agent"].user)
    page = reverse("leads:detail", args=[agent_lead.pk])
    assert "Recording being fetched" not in client.get(page).content.decode()
    Call.objects.filter(pk=settled_call.pk).update(recording_sid=sid("RE"))
    body = client.get(page).content.decode()
    assert "Recording being fetched" in body and "<audio" not in body
    from django.core.files.base import ContentFile

    call = Call.objects.get(pk=settled_call.pk)
    call.recording_file.save(f"{call.call_sid}.mp3", ContentFile(AUDIO), save=True)
    body = client.get(page).content.decode()
    assert f'<audio controls preload="none" src="{reverse("telephony:call_recording", args=[call.pk])}"' in body
    assert "Recording being fetched" not in body
    client.force_login(org["director"].user)
    assert "<audio" in client.get(page).content.decode()


def test_the_beat_schedule_runs_the_recording_sweeper(settings):
    [entry] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].startswith("telephony.tasks.call_")]
    assert entry["task"] == tasks.call_recordings_due_task.name and entry["task"] in celery_app.tasks
    assert entry["schedule"].run_every.total_seconds() <= 60
