"""The telephony sandbox: its REST answers, the signed Twilio-format requests its drivers send,
TwiML execution, the generated recordings, the page and the command; then click-to-call,
voicemail drops, inbound calls and texts end to end through the app's real webhooks on a
live server.

The drivers normally run in a Celery worker; here `telephony.sandbox.state.dispatch` is
replaced by a list, and each test runs the driver it finds there in its own thread, against
`live_server` (with PUBLIC_BASE_URL pointing at it, so every request is signed for the URL it
really reaches).

This module is also the URLconf of the tests that need a stand-in app (`FAKE_APP`): tiny
endpoints behind the real `twilio_webhook` signature check, recording what they receive.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.urls import path, reverse
from factories import CustomerPhoneFactory, LeadFactory, ShiftFactory, StaffFactory
from twilio.base.exceptions import TwilioRestException

from dealercrm.urls import urlpatterns as app_urlpatterns
from leads.models import Channel, ContactEvent, EvidenceLevel, IntakeChannel, Lead, Outcome, Task
from org.models import Role
from telephony import twilio as tw
from telephony.models import Call, DealerNumber, MessageStatus, NumberPurpose, OptOut, TextMessage, WebhookReceipt
from telephony.sandbox import drivers as sandbox_drivers
from telephony.sandbox import outcomes as sandbox_outcomes
from telephony.sandbox import recordings as sandbox_recordings
from telephony.sandbox import rest as sandbox_rest
from telephony.sandbox import state as sandbox_state
from telephony.sandbox import twiml as sandbox_twiml
from telephony.sandbox import webhooks as sandbox_webhooks

pytestmark = pytest.mark.clock

FAST = sandbox_outcomes.Pace(first_callback=0, step=0, talk=0.02, voicemail_drop_window=0.2, poll=0.01)

MAIN_LINE = "+13125550100"
AGENT_LINE = "+13125550101"
TRACKING_LINE = "+13125550102"
AGENT_DESK = "+13125550181"
STORE_MAIN_PHONE = "+13125550190"
CUSTOMER = "+13125550147"  # ends in 7: a person answers and talks 95 s


# --------------------------------------------------------------------------------------
# A stand-in app: records every (signed) request and answers TwiML like a click-to-call app
# --------------------------------------------------------------------------------------

RECEIVED: list[tuple[str, dict[str, str]]] = []
BEHAVIOUR: dict[str, str] = {}


def _record(request) -> dict[str, str]:
    params = {key: request.POST.get(key) for key in request.POST}
    RECEIVED.append((request.path, params))
    return params


@tw.twilio_webhook
def fake_ok(request):
    params = _record(request)
    if request.path.endswith("/leg/") and params.get("CallStatus") == "in-progress" and BEHAVIOUR.get("agent_hangs_up"):
        tw.client().calls(params["ParentCallSid"]).update(status="completed")
    if request.path.endswith("/amd/") and params["AnsweredBy"].startswith("machine") and BEHAVIOUR.get("drop"):
        tw.client().calls(params["CallSid"]).update(twiml="<Response><Say>Hi, this is Sam, call me back</Say>"
                                                          "<Hangup/></Response>")
    return HttpResponse("")


@tw.twilio_webhook
def fake_outbound(request):
    _record(request)
    customer = request.GET["customer"]
    return tw.twiml_response(
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Dial action="/fake/dial-action/?call=1" method="POST" callerId="+13125550100" timeout="30" '
        'record="record-from-answer-dual" recordingStatusCallback="/fake/recording/">'
        '<Number statusCallback="/fake/leg/" statusCallbackEvent="initiated ringing answered completed" '
        f'machineDetection="DetectMessageEnd" amdStatusCallback="/fake/amd/">{customer}</Number>'
        "</Dial><Say>Never reached: the action's TwiML goes on.</Say></Response>"
    )


@tw.twilio_webhook
def fake_dial_action(request):
    _record(request)
    return tw.twiml_response("<Response><Say>The call has ended.</Say><Hangup/></Response>")


@tw.twilio_webhook
def fake_voicemail_box(request):
    _record(request)
    return tw.twiml_response(
        "<Response><Pause length='1'/><Gather timeout='3'><Say>Press 1</Say></Gather>"
        "<Say>Please leave a message.</Say>"
        "<Record action='/fake/record-action/' maxLength='30' recordingStatusCallback='/fake/recording/'/>"
        "</Response>"
    )


urlpatterns = [
    path("fake/outbound/", fake_outbound),
    path("fake/dial-action/", fake_dial_action),
    path("fake/voicemail-box/", fake_voicemail_box),
    *[path(f"fake/{name}/", fake_ok) for name in ("status", "leg", "amd", "recording", "sms-status", "record-action")],
    *app_urlpatterns,
]
FAKE_APP = pytest.mark.urls(__name__)


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _sandbox_on(settings):
    """The sandbox explicitly enabled (as `./dev start` does), with no Twilio credentials."""
    settings.TELEPHONY_SANDBOX = True
    settings.TWILIO_ACCOUNT_SID = ""
    settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_HTTP_CLIENT = ""
    RECEIVED.clear()
    BEHAVIOUR.clear()


@pytest.fixture
def dispatched(monkeypatch):
    """The sandbox tasks the REST client would have queued: [(task name, args)]."""
    queued: list[tuple[str, tuple]] = []
    monkeypatch.setattr(sandbox_state, "dispatch", lambda name, *args: queued.append((name, args)))
    return queued


@pytest.fixture
def live(live_server, settings, tmp_path):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path
    return live_server.url


@pytest.fixture
def lines(store, org):
    store.main_phone = STORE_MAIN_PHONE
    store.save(update_fields=["main_phone"])
    agent = org["agent"]
    agent.desk_phone = AGENT_DESK
    agent.save(update_fields=["desk_phone"])
    return {
        "main": DealerNumber.objects.create(store=store, number=MAIN_LINE, purpose=NumberPurpose.MAIN),
        "agent": DealerNumber.objects.create(store=store, number=AGENT_LINE, purpose=NumberPurpose.AGENT, staff=agent),
        "tracking": DealerNumber.objects.create(store=store, number=TRACKING_LINE, purpose=NumberPurpose.TRACKING,
                                                source_type="third_party", provider="Cars.com listing"),
    }


def lead_with_phone(store, owner, number: str) -> Lead:
    lead = LeadFactory(store=store, owner=owner, customer__first_name="Maria", customer__last_name="Gonzalez")
    CustomerPhoneFactory(customer=lead.customer, number=number)
    return lead


def drive(name: str, args: tuple) -> sandbox_webhooks.Run:
    """Run a queued sandbox task's driver here, fast."""
    drivers = {
        "sandbox_call_task": lambda sid, form: sandbox_drivers.call_drive(sid, form, pace=FAST),
        "sandbox_message_task": lambda sid, form: sandbox_drivers.message_drive(sid, form, pace=FAST),
    }
    run = drivers[name](*args)
    assert not run.failures, [(e.kind, e.path, e.status, e.body[:200]) for e in run.failures]
    return run


def received(kind: str) -> list[dict[str, str]]:
    return [params for path_, params in RECEIVED if path_ == f"/fake/{kind}/"]


def place_fake_call(live: str, customer: str, dispatched) -> str:
    call = tw.client().calls.create(
        to=AGENT_DESK, from_=MAIN_LINE, url=f"{live}/fake/outbound/?customer={customer.replace('+', '%2B')}",
        status_callback=f"{live}/fake/status/", status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    [(name, args)] = dispatched
    assert name == "sandbox_call_task" and args[0] == call.sid
    return call.sid


# --------------------------------------------------------------------------------------
# The REST API
# --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_calls_create_answers_like_twilio_and_queues_the_driver_after_commit(lines, org, monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    queued = []
    # The driver is sent as a nudge (leads.nudges): apply_async on a connection of its own.
    monkeypatch.setattr("telephony.tasks.sandbox_call_task.apply_async", lambda args, **options: queued.append(tuple(args)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call = tw.client().calls.create(to=AGENT_DESK, from_=MAIN_LINE, url="https://example.test/twiml",
                                        status_callback_event=["initiated", "answered"])
        assert queued == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert (call.status, call.direction, call.to, call._from) == ("queued", "outbound-api", AGENT_DESK, MAIN_LINE)
    assert call.account_sid == tw.account_sid()
    [(sid, form)] = queued
    assert sid == call.sid and form["StatusCallbackEvent"] == ["initiated", "answered"] and form["To"] == AGENT_DESK
    fetched = tw.client().calls(call.sid).fetch()
    assert fetched.status == "queued" and fetched.uri.endswith(f"/Calls/{call.sid}.json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("to", "from_", "url", "code"),
    [
        ("not-a-number", MAIN_LINE, "https://x.test/", 21211),
        (AGENT_DESK, "+13125559999", "https://x.test/", 21210),  # not the account's number
        (AGENT_DESK, MAIN_LINE, None, 21205),
    ],
)
def test_calls_create_refuses_like_twilio(lines, org, dispatched, to, from_, url, code):
    with pytest.raises(TwilioRestException) as refused:
        tw.client().calls.create(to=to, from_=from_, **({"url": url} if url else {}))
    assert refused.value.code == code and refused.value.status == 400
    assert dispatched == []


@pytest.mark.django_db
def test_call_update_and_unknown_resources(lines, org, dispatched):
    with pytest.raises(TwilioRestException) as missing:
        tw.client().calls("CA" + "0" * 32).update(status="completed")
    assert (missing.value.status, missing.value.code) == (404, 20404)
    call = tw.client().calls.create(to=AGENT_DESK, from_=MAIN_LINE, url="https://x.test/")
    updated = tw.client().calls(call.sid).update(twiml="<Response><Hangup/></Response>")
    assert updated.sid == call.sid
    assert sandbox_state._update_pop([call.sid]) == (call.sid, {"Twiml": "<Response><Hangup/></Response>"})
    sandbox_state.resource_update(call.sid, status="completed")
    with pytest.raises(TwilioRestException) as ended:
        tw.client().calls(call.sid).update(url="https://x.test/other")
    assert ended.value.code == 21220


@pytest.mark.django_db
def test_a_wrong_account_or_token_is_refused():
    from twilio.rest import Client

    wrong_token = Client(tw.account_sid(), "not-the-token", http_client=sandbox_rest.SandboxHttpClient())
    with pytest.raises(TwilioRestException) as refused:
        wrong_token.calls.create(to=AGENT_DESK, from_=MAIN_LINE, url="https://x.test/")
    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert sandbox_rest.rest_answer("GET", "/2010-04-01/Accounts/AC123/Calls.json", {}, None)[0] == 404


@pytest.mark.django_db
def test_a_sandbox_failure_answers_like_a_twilio_outage(lines, org, dispatched, monkeypatch):
    def redis_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(sandbox_rest, "resource_put", redis_down)
    with pytest.raises(TwilioRestException) as refused:
        tw.client().calls.create(to=AGENT_DESK, from_=MAIN_LINE, url="https://x.test/")
    assert (refused.value.status, refused.value.code) == (503, 20503)
    assert dispatched == []


@pytest.mark.django_db
def test_messages_create_answers_like_twilio(lines, dispatched):
    message = tw.client().messages.create(to=CUSTOMER, from_=MAIN_LINE, body="Hi Maria", status_callback="https://x/")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.direction, message.body, message.num_segments) == (
        "queued", "outbound-api", "Hi Maria", "1")
    assert dispatched == [("sandbox_message_task", (message.sid, {
        "To": CUSTOMER, "From": MAIN_LINE, "Body": "Hi Maria", "StatusCallback": "https://x/"}))]
    for kwargs, code in [
        ({"to": CUSTOMER, "from_": "+13125559999", "body": "x"}, 21606),
        ({"to": "12", "from_": MAIN_LINE, "body": "x"}, 21211),
        ({"to": CUSTOMER, "from_": MAIN_LINE, "body": "x" * 1601}, 21617),
    ]:
        with pytest.raises(TwilioRestException) as refused:
            tw.client().messages.create(**kwargs)
        assert refused.value.code == code


@pytest.mark.django_db
def test_recordings_can_be_fetched_and_deleted(dispatched):
    simulation = sandbox_twiml.CallSimulation(sandbox_webhooks.Run("call", "CA1"), FAST)
    recording_sid = sandbox_state.new_sid("RE")
    simulation.store_recording(recording_sid, "CA" + "1" * 32, 95, channels=2, source="DialVerb")
    recording = tw.client().recordings(recording_sid).fetch()
    assert (recording.duration, recording.channels, recording.call_sid) == ("95", 2, "CA" + "1" * 32)
    assert tw.client().recordings(recording_sid).delete() is True
    with pytest.raises(TwilioRestException):
        tw.client().recordings(recording_sid).fetch()


def test_the_outcome_table():
    assert [sandbox_outcomes.outcome_for(f"+1312555014{d}").final_status for d in "0123456789"] == [
        "no-answer", "busy", "completed", "failed", "completed", "completed", "completed", "completed", "completed",
        "completed"]
    assert sandbox_outcomes.outcome_for("+13125550142").answer == "machine"
    assert sandbox_outcomes.outcome_for("+13125550144").talk_seconds == 12
    assert sandbox_outcomes.outcome_for("+13125550149").talk_seconds == 95
    assert sandbox_outcomes.outcome_for("+13125550143").message_status == "undelivered"


def test_the_recording_is_a_short_generated_wav():
    audio = sandbox_recordings.recording_wav("RE" + "a" * 32)
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        assert 3 <= wav.getnframes() / wav.getframerate() <= 6
        frames = wav.readframes(wav.getnframes())
    assert max(frames) > 0  # tones, not silence
    assert sandbox_recordings.recording_wav("RE" + "a" * 32) == audio  # the same sid gives the same audio


# --------------------------------------------------------------------------------------
# The drivers against the stand-in app (real signature checks, real HTTP)
# --------------------------------------------------------------------------------------


def kinds(run: sandbox_webhooks.Run) -> list[tuple[str, str, str]]:
    return [(e.kind, urlsplit(e.url).path, e.params.get("CallStatus") or e.params.get("RecordingStatus") or "")
            for e in run.exchanges]


@FAKE_APP
@pytest.mark.django_db(transaction=True)
def test_a_connected_click_to_call_in_twilios_order_and_format(live, lines, org, dispatched):
    parent = place_fake_call(live, CUSTOMER, dispatched)
    run = drive(*dispatched[0])
    assert kinds(run) == [
        ("status:outbound-api", "/fake/status/", "initiated"),
        ("status:outbound-api", "/fake/status/", "ringing"),
        ("status:outbound-api", "/fake/status/", "in-progress"),
        ("twiml:outbound-api", "/fake/outbound/", "in-progress"),
        ("status:outbound-dial", "/fake/leg/", "initiated"),
        ("status:outbound-dial", "/fake/leg/", "ringing"),
        ("status:outbound-dial", "/fake/leg/", "in-progress"),
        ("amd", "/fake/amd/", ""),
        ("status:outbound-dial", "/fake/leg/", "completed"),
        ("twiml:outbound-api", "/fake/dial-action/", "in-progress"),
        ("status:outbound-api", "/fake/status/", "completed"),
        ("recording", "/fake/recording/", "completed"),
    ]
    # Every request passed the app's own signature check (the stand-in views use twilio_webhook).
    assert all(e.status == 200 for e in run.exchanges)
    legs = received("leg")
    child = legs[0]["CallSid"]
    assert child != parent and child.startswith("CA")
    assert {p["ParentCallSid"] for p in legs} == {parent}
    assert {(p["Direction"], p["From"], p["To"]) for p in legs} == {("outbound-dial", MAIN_LINE, CUSTOMER)}
    assert [p["SequenceNumber"] for p in legs] == ["0", "1", "2", "3"]
    assert (legs[-1]["CallDuration"], legs[-1]["AnsweredBy"], legs[-1]["SipResponseCode"]) == ("95", "human", "200")
    assert received("amd")[0] == {"AccountSid": tw.account_sid(), "CallSid": child, "AnsweredBy": "human",
                                  "MachineDetectionDuration": "1800"}
    [action] = received("dial-action")
    assert (action["CallSid"], action["DialCallSid"], action["DialCallStatus"], action["DialCallDuration"],
            action["DialBridged"]) == (parent, child, "completed", "95", "true")
    completed = received("status")[-1]
    assert completed["Direction"] == "outbound-api" and int(completed["CallDuration"]) > 95
    [recording] = received("recording")
    assert (recording["CallSid"], recording["RecordingChannels"], recording["RecordingSource"]) == (
        parent, "2", "DialVerb")
    assert recording["RecordingUrl"] == action["RecordingUrl"] == sandbox_recordings.recording_url(recording["RecordingSid"])
    assert recording["RecordingUrl"].startswith(f"{live}/telephony/sandbox/recordings/RE")
    for suffix in ("", ".mp3", ".wav"):
        audio = requests.get(recording["RecordingUrl"] + suffix, timeout=5)
        assert audio.status_code == 200 and audio.headers["Content-Type"] == "audio/wav"
        assert audio.content.startswith(b"RIFF")
    assert tw.client().calls(parent).fetch().status == "completed"
    assert tw.client().calls(child).fetch().parent_call_sid == parent


@FAKE_APP
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("last_digit", "leg_statuses", "dial_status", "duration", "answered_by"),
    [
        ("0", ["initiated", "ringing", "no-answer"], "no-answer", None, None),
        ("1", ["initiated", "busy"], "busy", None, None),
        ("2", ["initiated", "ringing", "in-progress", "completed"], "completed", "35", "machine_end_beep"),
        ("3", ["initiated", "failed"], "failed", None, None),
        ("4", ["initiated", "ringing", "in-progress", "completed"], "completed", "12", "human"),
    ],
)
def test_each_outcome_of_the_table(live, lines, org, dispatched, last_digit, leg_statuses, dial_status, duration,
                                   answered_by):
    place_fake_call(live, f"+1312555014{last_digit}", dispatched)
    drive(*dispatched[0])
    legs = received("leg")
    assert [p["CallStatus"] for p in legs] == leg_statuses
    [action] = received("dial-action")
    assert action["DialCallStatus"] == dial_status
    assert action.get("DialCallDuration", "0") == (duration or "0")
    assert legs[-1].get("AnsweredBy") == answered_by
    assert [p["AnsweredBy"] for p in received("amd")] == ([answered_by] if answered_by else [])
    assert len(received("recording")) == (1 if duration else 0)
    assert received("status")[-1]["CallStatus"] == "completed"  # the agent's leg, after the action's TwiML


@FAKE_APP
@pytest.mark.django_db(transaction=True)
def test_a_voicemail_drop_on_the_customers_leg_plays_and_ends_the_dial(live, lines, org, dispatched):
    BEHAVIOUR["drop"] = "yes"  # the stand-in drops a voicemail as soon as AMD says machine
    place_fake_call(live, "+13125550142", dispatched)
    slow_window = sandbox_outcomes.Pace(first_callback=0, step=0, talk=0.02, voicemail_drop_window=30, poll=0.01)
    started = time.monotonic()
    run = sandbox_drivers.call_drive(*dispatched[0][1], pace=slow_window)
    assert time.monotonic() - started < 10  # the drop ended the wait for it
    assert not run.failures
    legs = received("leg")
    assert [p["CallStatus"] for p in legs] == ["initiated", "ringing", "in-progress", "completed"]
    assert int(legs[-1]["CallDuration"]) < 35  # cut short by the drop, not the voicemail's own end
    assert received("dial-action")[0]["DialCallStatus"] == "completed"
    assert received("status")[-1]["CallStatus"] == "completed"


@FAKE_APP
@pytest.mark.django_db(transaction=True)
def test_the_agent_hanging_up_through_the_api_ends_both_legs(live, lines, org, dispatched):
    BEHAVIOUR["agent_hangs_up"] = "yes"
    parent = place_fake_call(live, CUSTOMER, dispatched)
    sandbox_drivers.call_drive(*dispatched[0][1], pace=sandbox_outcomes.Pace(first_callback=0, step=0, talk=5, poll=0.01))
    assert [p["CallStatus"] for p in received("leg")] == ["initiated", "ringing", "in-progress", "completed"]
    [action] = received("dial-action")
    assert (action["CallSid"], action["CallStatus"], action["DialCallStatus"]) == (parent, "completed", "completed")
    assert received("status")[-1]["CallStatus"] == "completed"
    assert tw.client().calls(parent).fetch().status == "completed"


@FAKE_APP
@pytest.mark.django_db(transaction=True)
def test_twiml_redirect_gather_pause_and_record(live, lines, org, dispatched):
    tw.client().calls.create(to=AGENT_DESK, from_=MAIN_LINE,
                             twiml="<Response><Redirect>/fake/voicemail-box/</Redirect></Response>",
                             status_callback=f"{live}/fake/status/")
    run = drive(*dispatched[0])
    assert [k[1] for k in kinds(run)] == ["/fake/voicemail-box/", "/fake/record-action/", "/fake/status/",
                                          "/fake/recording/"]
    [action] = received("record-action")
    assert (action["RecordingDuration"], action["Digits"], action["CallStatus"]) == ("20", "hangup", "completed")
    [recording] = received("recording")
    assert (recording["RecordingSource"], recording["RecordingChannels"]) == ("RecordVerb", "1")
    assert [p["CallStatus"] for p in received("status")] == ["completed"]  # only what was asked for


@FAKE_APP
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("to", "statuses"), [(CUSTOMER, ["sent", "delivered"]), ("+13125550143", ["sent", "undelivered"])])
def test_a_text_reports_sent_then_delivered_or_undelivered(live, lines, dispatched, to, statuses):
    message = tw.client().messages.create(to=to, from_=MAIN_LINE, body="Hi", status_callback=f"{live}/fake/sms-status/")
    run = drive(*dispatched[0])
    callbacks = received("sms-status")
    assert [p["MessageStatus"] for p in callbacks] == statuses == [p["SmsStatus"] for p in callbacks]
    assert {(p["MessageSid"], p["From"], p["To"]) for p in callbacks} == {(message.sid, MAIN_LINE, to)}
    assert callbacks[-1].get("ErrorCode") == (None if statuses[-1] == "delivered" else "30003")
    assert tw.client().messages(message.sid).fetch().status == statuses[-1]
    assert run.summary.endswith(statuses[-1])


# --------------------------------------------------------------------------------------
# End to end through the app's real webhooks
# --------------------------------------------------------------------------------------


def settled_event(call: Call) -> ContactEvent:
    return ContactEvent.objects.get(call_sid=call.call_sid, superseded_by__isnull=True)


@pytest.mark.django_db(transaction=True)
def test_click_to_call_end_to_end(live, client, store, org, lines, dispatched):
    lead = lead_with_phone(store, org["agent"], CUSTOMER)
    client.force_login(org["agent"].user)
    client.post(reverse("telephony:call_start", args=[lead.pk]), HTTP_HX_REQUEST="true")
    call = Call.objects.get(lead=lead)
    run = drive(*dispatched[0])
    assert [k[0] for k in kinds(run)][:4] == ["status:outbound-api"] * 3 + ["twiml:outbound-api"]
    call.refresh_from_db()
    assert (call.status, call.customer_leg_status, call.answered_by, call.talk_seconds) == (
        "completed", "completed", "human", 95)
    assert call.settled_at is not None and call.child_call_sid.startswith("CA")
    event = settled_event(call)
    assert (event.outcome, event.talk_seconds, event.answered_by_person, event.evidence_level) == (
        Outcome.CONNECTED, 95, True, "simulated")  # the sandbox played it: never verified
    assert event.supersedes.outcome == Outcome.ATTEMPT
    # The recording: its callback pointed at the sandbox, and the app's fetch gets the audio.
    assert call.recording_sid.startswith("RE") and call.recording_url == sandbox_recordings.recording_url(call.recording_sid)
    from telephony import calls

    assert calls.call_recording_fetch(call_id=call.pk) is True
    call.refresh_from_db()
    assert call.recording_file.read(4) == b"RIFF"
    # Each (sid, status) was received once.
    assert WebhookReceipt.objects.filter(sid=call.call_sid, kind="call").count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_voicemail_left_with_the_drop_button_end_to_end(live, client, store, org, lines, dispatched):
    lead = lead_with_phone(store, org["agent"], "+13125550142")  # voicemail answers
    client.force_login(org["agent"].user)
    client.post(reverse("telephony:call_start", args=[lead.pk]), HTTP_HX_REQUEST="true")
    call = Call.objects.get(lead=lead)
    pace = sandbox_outcomes.Pace(first_callback=0, step=0, talk=0.02, voicemail_drop_window=30, poll=0.01)
    outcome: dict = {}

    def play() -> None:
        from django.db import connection

        try:
            outcome["run"] = sandbox_drivers.call_drive(*dispatched[0][1], pace=pace)
        finally:
            connection.close()

    player = threading.Thread(target=play)
    player.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the agent hears the greeting; the page offers the drop
            call.refresh_from_db()
            if call.answered_by.startswith("machine"):
                break
            time.sleep(0.05)
        assert call.answered_by == "machine_start"
        response = client.post(reverse("telephony:call_voicemail_drop", args=[call.pk]))
        assert response.status_code == 302
    finally:
        player.join(timeout=30)
    assert not player.is_alive() and not outcome["run"].failures
    call.refresh_from_db()
    assert call.voicemail_dropped_at is not None and call.customer_leg_status == "completed"
    event = settled_event(call)
    assert (event.outcome, event.answered_by_person) == (Outcome.VOICEMAIL, False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("last_digit", "outcome"), [("0", Outcome.NO_ANSWER), ("1", Outcome.BUSY),
                                                      ("3", Outcome.FAILED), ("4", Outcome.CONNECTED)])
def test_click_to_call_outcomes_end_to_end(live, client, store, org, lines, dispatched, last_digit, outcome):
    lead = lead_with_phone(store, org["agent"], f"+1312555014{last_digit}")
    client.force_login(org["agent"].user)
    client.post(reverse("telephony:call_start", args=[lead.pk]), HTTP_HX_REQUEST="true")
    drive(*dispatched[0])
    event = settled_event(Call.objects.get(lead=lead))
    assert event.outcome == outcome
    if last_digit == "4":
        assert (event.talk_seconds, event.answered_by_person) == (12, True)  # connected, not two-way


@pytest.mark.django_db(transaction=True)
def test_a_new_caller_on_the_tracking_number_end_to_end(live, store, org, lines):
    run = sandbox_drivers.customer_calls("+13125550177", TRACKING_LINE, pace=FAST)
    assert not run.failures, [(e.path, e.status, e.body[:200]) for e in run.failures]
    assert run.exchanges[0].path == sandbox_webhooks.INBOUND_VOICE_PATH
    call = Call.objects.get(call_sid=run.sid)
    lead = call.lead
    assert (lead.intake_channel, lead.provider) == (IntakeChannel.PHONE, "Cars.com listing")
    event = settled_event(call)
    assert (event.channel, event.direction, event.outcome, event.talk_seconds) == (
        Channel.CALL, "inbound", Outcome.CONNECTED, 95)
    assert call.recording_sid.startswith("RE")


@pytest.mark.django_db(transaction=True)
def test_a_known_customer_calls_and_nobody_answers_end_to_end(live, store, org, lines):
    agent = org["agent"]
    for weekday in range(7):
        ShiftFactory(staff=agent, weekday=weekday, starts="00:00", ends="23:59:59")
    lead = lead_with_phone(store, agent, CUSTOMER)
    run = sandbox_drivers.customer_calls(CUSTOMER, AGENT_LINE, staff_answers=False, pace=FAST)
    assert not run.failures
    call = Call.objects.get(call_sid=run.sid)
    assert (call.lead, call.staff) == (lead, agent)
    assert settled_event(call).outcome == Outcome.NO_ANSWER
    assert Task.objects.filter(lead=lead, staff=agent, completed_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_customer_texts_back_end_to_end(live, store, org, lines):
    lead = lead_with_phone(store, org["agent"], CUSTOMER)
    run = sandbox_drivers.customer_texts(CUSTOMER, AGENT_LINE, "Yes, still interested!")
    assert not run.failures and run.exchanges[0].path == sandbox_webhooks.INBOUND_SMS_PATH
    text = TextMessage.objects.get(message_sid=run.sid)
    assert (text.direction, text.customer, text.body) == ("inbound", lead.customer, "Yes, still interested!")
    reply = ContactEvent.objects.get(message_sid=run.sid)
    assert (reply.channel, reply.direction, reply.outcome) == (Channel.TEXT, "inbound", Outcome.REPLY)
    assert reply.evidence_level == EvidenceLevel.SIMULATED
    # STOP: the app records the opt-out, and the sandbox, like Twilio, refuses to text the number.
    sandbox_drivers.customer_texts(CUSTOMER, AGENT_LINE, "STOP")
    assert OptOut.objects.get(store=store, number=CUSTOMER).active
    with pytest.raises(TwilioRestException) as refused:
        tw.client().messages.create(to=CUSTOMER, from_=AGENT_LINE, body="Still there?")
    assert refused.value.code == 21610
    sandbox_drivers.customer_texts(CUSTOMER, AGENT_LINE, "START")
    assert not OptOut.objects.get(store=store, number=CUSTOMER).active


@pytest.mark.django_db(transaction=True)
def test_what_the_sandbox_records_is_simulated_and_shown_as_such(live, client, api_for, store, org, lines):
    lead = lead_with_phone(store, org["agent"], CUSTOMER)
    run = sandbox_drivers.customer_texts(CUSTOMER, AGENT_LINE, "Is it still there?")
    assert not run.failures
    assert tw.evidence_level() == EvidenceLevel.SIMULATED
    reply = ContactEvent.objects.get(message_sid=run.sid)
    assert reply.evidence_level == EvidenceLevel.SIMULATED

    client.force_login(org["agent"].user)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert '<span class="pill simulated"' in page and "Simulated (sandbox)" in page
    assert '<span class="pill verified" title=' not in page  # the legend's sample pill has no title

    answer = api_for(org["agent"]).get("/api/v1/contact-events/", {"lead": lead.pk}).json()
    rows = answer["results"] if isinstance(answer, dict) else answer
    assert [r["evidence_level"] for r in rows if r["id"] == reply.pk] == ["simulated"]


@pytest.mark.django_db
def test_a_production_like_config_has_no_sandbox_to_fake_a_customers_text(client, settings, store, org, lines,
                                                                           dispatched):
    """Debug off, no Twilio credentials, TELEPHONY_SANDBOX not set: before, missing credentials
    meant the sandbox, and staff could post a "customer's" text that recorded a verified reply."""
    settings.DEBUG, settings.TELEPHONY_SANDBOX = False, False
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    assert not tw.sandbox_enabled()
    client.force_login(org["agent"].user)
    response = client.post(reverse("telephony:sandbox-text"), {
        "text-from_number": CUSTOMER, "text-to_number": AGENT_LINE, "text-body": "Yes, I'll buy it"})
    assert response.status_code == 404
    assert client.get(reverse("telephony:sandbox")).status_code == 404
    assert dispatched == [] and not ContactEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_text_sent_from_the_lead_is_delivered_end_to_end(live, store, org, lines, dispatched):
    from telephony import sms

    lead = lead_with_phone(store, org["agent"], CUSTOMER)
    text = sms.text_send(staff=org["agent"], lead=lead, to=CUSTOMER, body="Hi Maria, it is still here.")
    drive(*dispatched[0])
    text.refresh_from_db()
    assert text.status == MessageStatus.DELIVERED
    assert ContactEvent.objects.get(message_sid=text.message_sid, superseded_by__isnull=True).outcome == \
        Outcome.DELIVERED


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_plays_the_sandbox_out(live, client, store, org, lines, tmp_path, settings):
    """No stand-ins: the REST client queues the Celery task after commit, a real worker on Redis
    runs it and calls the live server back (click-to-call, then a text from the sandbox page)."""
    from django.db import connection

    from dealercrm.celery import app as celery_app

    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    db = connection.settings_dict
    env = dict(
        os.environ, DJANGO_DEBUG="1", PUBLIC_BASE_URL=live, MEDIA_ROOT=str(tmp_path), REDIS_URL=settings.REDIS_URL,
        CELERY_QUEUE=settings.CELERY_TASK_DEFAULT_QUEUE, TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="",
        TWILIO_HTTP_CLIENT="", TELEPHONY_SANDBOX="1",
        DATABASE_URL=f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dealercrm", "worker", "--pool", "solo", "--loglevel", "INFO"],
        cwd=Path(__file__).resolve().parents[2], env=env, stdout=open(tmp_path / "worker.log", "wb"),
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        lead = lead_with_phone(store, org["agent"], CUSTOMER)
        client.force_login(org["agent"].user)
        client.post(reverse("telephony:call_start", args=[lead.pk]), HTTP_HX_REQUEST="true")
        call = Call.objects.get(lead=lead)
        client.post(reverse("telephony:sandbox-text"), {
            "text-from_number": CUSTOMER, "text-to_number": AGENT_LINE, "text-body": "Call me after 5"})
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            call.refresh_from_db()
            if call.settled_at and ContactEvent.objects.filter(lead=lead, channel=Channel.TEXT).exists():
                break
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    log = (tmp_path / "worker.log").read_text()
    assert "sandbox_call_task" in log and "sandbox_inbound_text_task" in log, log[-3000:]
    assert settled_event(call).outcome == Outcome.CONNECTED, log[-3000:]
    assert ContactEvent.objects.get(lead=lead, channel=Channel.TEXT).body == "Call me after 5"


# --------------------------------------------------------------------------------------
# The page and the command
# --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_lists_numbers_and_customers_and_explains_itself(client, store, org, lines):
    lead_with_phone(store, org["agent"], CUSTOMER)
    client.force_login(org["agent"].user)
    page = client.get(reverse("telephony:sandbox"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "This is a sandbox" in html and "last digit" in html
    assert "(312) 555-0102" in html and "Cars.com listing" in html  # the tracking number
    assert "Maria Gonzalez" in html and "a person answers and talks 95 s" in html
    assert 'id="sandbox-text"' in html and 'id="sandbox-call"' in html


@pytest.mark.django_db
def test_the_page_queues_the_customers_text_and_call(client, store, org, lines, dispatched):
    client.force_login(org["agent"].user)
    response = client.post(reverse("telephony:sandbox-text"), {
        "text-from_number": "(312) 555-0147", "text-to_number": AGENT_LINE, "text-body": "Saturday works"})
    assert response.status_code == 302
    response = client.post(reverse("telephony:sandbox-call"), {
        "call-to_number": TRACKING_LINE, "call-from_number": "", "call-nobody_answers": "on", "call-talk_seconds": ""})
    assert response.status_code == 302
    (text_task, text_args), (call_task, call_args) = dispatched
    assert (text_task, text_args) == ("sandbox_inbound_text_task", (CUSTOMER, AGENT_LINE, "Saturday works"))
    assert call_task == "sandbox_inbound_call_task"
    caller, to, staff_answers, talk = call_args
    assert caller.startswith("+1312555") and caller[-1] in "56789" and (to, staff_answers, talk) == (
        TRACKING_LINE, False, None)


@pytest.mark.django_db
def test_the_page_refuses_bad_input_and_other_stores_numbers(client, store, org, lines, other_store, dispatched):
    DealerNumber.objects.create(store=other_store, number="+13125550200", purpose=NumberPurpose.MAIN)
    client.force_login(org["agent"].user)
    response = client.post(reverse("telephony:sandbox-text"), {
        "text-from_number": "not a phone", "text-to_number": "+13125550200", "text-body": "x"})
    assert response.status_code == 400
    assert "not a valid phone number" in response.content.decode()
    assert dispatched == []


@pytest.mark.django_db
def test_who_sees_the_page(client, settings, store, org, lines):
    url = reverse("telephony:sandbox")
    assert client.get(url).status_code == 302  # to the login page
    from factories import UserFactory

    client.force_login(UserFactory(username="no-staff"))
    assert client.get(url).status_code == 403
    client.force_login(StaffFactory(store=store, role=Role.RECEPTIONIST).user)
    assert client.get(url).status_code == 200
    settings.TELEPHONY_SANDBOX = False
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "real-token"
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_the_recording_endpoint_serves_only_sandbox_recordings(client, settings):
    simulation = sandbox_twiml.CallSimulation(sandbox_webhooks.Run("call", "CA1"), FAST)
    recording_sid = sandbox_state.new_sid("RE")
    simulation.store_recording(recording_sid, "CA" + "1" * 32, 40, channels=1, source="RecordVerb")
    response = client.get(reverse("telephony:sandbox-recording", kwargs={"recording_sid": recording_sid}))
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert wav.getnchannels() == 1
    assert client.get(f"/telephony/sandbox/recordings/{sandbox_state.new_sid('RE')}.mp3").status_code == 404
    settings.TELEPHONY_SANDBOX = False
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "real-token"
    assert client.get(f"/telephony/sandbox/recordings/{recording_sid}").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_command_plays_the_customer(live, store, org, lines, capsys, monkeypatch):
    lead = lead_with_phone(store, org["agent"], CUSTOMER)
    call_command("sandbox_customer", "text", "--store", store.slug, "--from", "(312) 555-0147", "--to", AGENT_LINE,
                 "Can I test drive it?")
    assert ContactEvent.objects.get(lead=lead, channel=Channel.TEXT).body == "Can I test drive it?"
    out = capsys.readouterr().out
    assert f"POST {sandbox_webhooks.INBOUND_SMS_PATH} -> 200" in out
    monkeypatch.setattr(sandbox_drivers, "PACE", FAST)
    call_command("sandbox_customer", "call", "--store", store.slug)  # a new caller on the tracking number
    out = capsys.readouterr().out
    assert "A new caller" in out and f"POST {sandbox_webhooks.INBOUND_VOICE_PATH} -> 200" in out
    assert Lead.objects.filter(store=store, intake_channel=IntakeChannel.PHONE).count() == 1


@pytest.mark.django_db
def test_the_command_refuses_what_it_cannot_do(store, org, lines, other_store, settings):
    with pytest.raises(CommandError, match="Unknown store"):
        call_command("sandbox_customer", "text", "--store", "nope", "--from", CUSTOMER, "hi")
    with pytest.raises(CommandError, match="not a dealer number of"):
        call_command("sandbox_customer", "call", "--store", store.slug, "--to", "+13125550299")
    settings.TELEPHONY_SANDBOX = False
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "1" * 32, "real-token"
    with pytest.raises(CommandError, match="sandbox is off"):
        call_command("sandbox_customer", "text", "--store", store.slug, "--from", CUSTOMER, "hi")


# --------------------------------------------------------------------------------------
# Calls always settle: the sandbox answers the lookups telephony.reconcile makes
# --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_call_and_its_child_legs_can_be_fetched_like_twilio(lines, dispatched):
    parent = place_fake_call("http://testserver", CUSTOMER, dispatched)
    child = sandbox_state.new_sid("CA")
    sandbox_state.resource_put(child, {**sandbox_rest.call_resource(child, to=CUSTOMER, from_=MAIN_LINE,
                                                                    direction="outbound-dial", parent_sid=parent),
                                       "status": "completed", "duration": "95", "answered_by": "human"})
    sandbox_state._child_add(parent, child)
    client = tw.client()
    assert client.calls(parent).fetch().status == "queued"
    [leg] = client.calls.list(parent_call_sid=parent)
    assert (leg.sid, leg.status, leg.duration, leg.answered_by, leg.parent_call_sid) == (
        child, "completed", "95", "human", parent)
    assert client.calls.list(parent_call_sid=sandbox_state.new_sid("CA")) == []
    with pytest.raises(TwilioRestException) as error:
        client.calls(sandbox_state.new_sid("CA")).fetch()
    assert error.value.status == 404


@pytest.mark.django_db(transaction=True)
def test_a_click_to_call_whose_callbacks_are_lost_is_settled_from_the_sandboxs_answer(
    live, client, store, org, lines, dispatched, monkeypatch
):
    from telephony import reconcile

    lead = lead_with_phone(store, org["agent"], CUSTOMER)
    client.force_login(org["agent"].user)
    client.post(reverse("telephony:call_start", args=[lead.pk]), HTTP_HX_REQUEST="true")
    call = Call.objects.get(lead=lead)
    outbound_twiml = reverse("telephony:voice_outbound")
    real_send = sandbox_webhooks.Webhooks.send

    def only_the_outbound_twiml(self, kind, url, params, method="POST"):
        if kind.startswith("twiml:") and urlsplit(url).path == outbound_twiml:
            return real_send(self, kind, url, params, method)
        return None  # status, leg, machine-detection, dial-action and recording callbacks are lost

    monkeypatch.setattr(sandbox_webhooks.Webhooks, "send", only_the_outbound_twiml)
    [(name, args)] = dispatched
    sandbox_drivers.call_drive(*args, pace=FAST)
    call.refresh_from_db()
    assert call.settled_at is None and call.customer_leg_status == ""
    assert reconcile.calls_reconcile(now=call.created_at + dt.timedelta(minutes=6)) == {"settled": 1}
    call.refresh_from_db()
    assert (call.status, call.customer_leg_status, call.answered_by, call.talk_seconds) == (
        "completed", "completed", "human", 95)
    event = settled_event(call)
    assert (event.outcome, event.talk_seconds, event.answered_by_person) == (Outcome.CONNECTED, 95, True)
    assert event.supersedes.outcome == Outcome.ATTEMPT
