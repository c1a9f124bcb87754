"""Click-to-call: the REST request, the TwiML, the callbacks that settle the attempt, and the
webhook rules (signature, idempotency, order, unknown sids, bad parameters).

Twilio is faked only at its HTTP boundary: a FakeTwilioHttp behind a real twilio.rest.Client,
and correctly signed webhooks posted through the Django test client.
"""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse
from factories import LeadFactory

from leads import contact
from leads.models import Channel, ContactEvent, Direction, EvidenceLevel, Outcome
from leads.selectors import lead_timeline
from telephony import call_verdicts, calls
from telephony.models import Call, CallStatus, DealerNumber, NumberPurpose, WebhookReceipt
from telephony.twilio import public_url
from tests.telephony import call_fixtures
from tests.telephony.call_fixtures import (
    AGENT_DESK,
    AGENT_LINE,
    AMD,
    CUSTOMER_PHONE,
    DIAL,
    LEG,
    MAIN_LINE,
    OUTBOUND,
    RECORDING,
    STATUS,
    amd,
    amd_path,
    dial_complete,
    leg_path,
    leg_status,
    new_leg,
    parent_status,
    xml,
)
from tests.telephony.twilio_helpers import signed_post

# Shared fixtures, bound here so pytest finds them in this module.
agent_client, agent_lead, lines, twilio_http = call_fixtures.agent_client, call_fixtures.agent_lead, call_fixtures.lines, call_fixtures.twilio_http

pytestmark = pytest.mark.django_db


def start_call(client, lead, **data):
    response = client.post(reverse("telephony:call_start", args=[lead.pk]), data, HTTP_HX_REQUEST="true")
    return response


@pytest.fixture
def started(agent_client, agent_lead, lines, twilio_http):
    """A click-to-call Twilio has accepted: (call, lead)."""
    response = start_call(agent_client, agent_lead)
    assert response.status_code == 200, response.content
    return Call.objects.get(lead=agent_lead), agent_lead


def events(call) -> list[ContactEvent]:
    return list(ContactEvent.objects.filter(call_sid=call.call_sid).order_by("id"))


def current(call) -> ContactEvent:
    [event] = ContactEvent.objects.filter(call_sid=call.call_sid, superseded_by__isnull=True)
    return event


def answered_and_talked(client, call, seconds: int, answered_by: str = "human") -> str:
    """The happy path's callbacks, in Twilio's usual order. Returns the customer leg's sid."""
    leg = new_leg()
    for status in ("initiated", "ringing", "in-progress"):
        assert signed_post(client, STATUS, parent_status(call.call_sid, status)).status_code == 200
    assert signed_post(client, OUTBOUND, parent_status(call.call_sid, "in-progress")).status_code == 200
    for status in ("initiated", "ringing", "in-progress"):
        assert signed_post(client, leg_path(call.call_sid), leg_status(call.call_sid, leg, status)).status_code == 200
    assert signed_post(client, amd_path(call.call_sid), amd(leg, answered_by)).status_code == 200
    done = leg_status(call.call_sid, leg, "completed", CallDuration=str(seconds))
    assert signed_post(client, leg_path(call.call_sid), done).status_code == 200
    assert signed_post(client, DIAL, dial_complete(call.call_sid, leg, "completed", seconds)).status_code == 200
    assert signed_post(client, STATUS, parent_status(call.call_sid, "completed")).status_code == 200
    return leg


# --- Starting the call --------------------------------------------------------------------


def test_click_to_call_rings_the_agent_from_their_line_and_records_an_attempt(started, twilio_http, org):
    call, lead = started
    [request] = twilio_http.calls_created()
    assert request.data["To"] == AGENT_DESK
    assert request.data["From"] == AGENT_LINE
    assert request.data["Url"] == public_url(OUTBOUND)
    assert request.data["StatusCallback"] == public_url(STATUS)
    assert request.data["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert request.data["Method"] == "POST"
    assert (call.call_sid, call.direction, call.staff, call.customer_id) == (
        twilio_http.created_sids[0], "outbound", org["agent"], lead.customer_id
    )
    assert str(call.customer_number) == CUSTOMER_PHONE and str(call.dealer_number.number) == AGENT_LINE
    [attempt] = events(call)
    assert (attempt.channel, attempt.direction, attempt.outcome, attempt.evidence_level) == (
        Channel.CALL, Direction.OUTBOUND, Outcome.ATTEMPT, EvidenceLevel.VERIFIED
    )
    assert (attempt.staff, attempt.lead, attempt.customer_id) == (org["agent"], lead, lead.customer_id)


def test_the_agent_calls_from_their_own_line_else_the_main_line(store, org, lines):
    assert calls.dealer_number_for(org["agent"]) == lines["agent"]
    assert calls.dealer_number_for(org["agent2"]) == lines["main"]
    lines["agent"].is_active = False
    lines["agent"].save()
    assert calls.dealer_number_for(org["agent"]) == lines["main"]
    DealerNumber.objects.filter(purpose=NumberPurpose.MAIN).update(is_active=False)
    assert calls.dealer_number_for(org["agent2"]) is None


def test_an_agent_without_a_line_calls_from_the_main_line_and_a_cell_when_no_desk(
    client, store, org, lines, twilio_http
):
    agent2 = org["agent2"]
    agent2.cell_phone = "+17735550199"
    agent2.save()
    lead = LeadFactory(store=store, owner=agent2)
    lead.customer.phones.create(store=store, number="+13125550143")
    client.force_login(agent2.user)
    assert start_call(client, lead).status_code == 200
    [request] = twilio_http.calls_created()
    assert (request.data["To"], request.data["From"]) == ("+17735550199", MAIN_LINE)


def test_the_twiml_dials_the_customer_from_the_dealer_number_recorded_with_machine_detection(started, agent_client):
    call, _ = started
    response = signed_post(agent_client, OUTBOUND, parent_status(call.call_sid, "in-progress"))
    assert response.status_code == 200
    root = xml(response)
    [dial] = root.findall("Dial")
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("callerId") == AGENT_LINE
    assert dial.get("action") == public_url(DIAL)
    assert dial.get("recordingStatusCallback") == public_url(RECORDING)
    [number] = dial.findall("Number")
    assert number.text == CUSTOMER_PHONE
    assert number.get("statusCallback") == public_url(f"{LEG}?parent={call.call_sid}")
    assert number.get("statusCallbackEvent") == "initiated ringing answered completed"
    assert number.get("machineDetection") == "Enable"
    assert number.get("amdStatusCallback") == public_url(f"{AMD}?parent={call.call_sid}")
    call.refresh_from_db()
    assert call.status == CallStatus.IN_PROGRESS


def test_only_who_works_the_lead_can_call_from_it(client, store, org, lines, twilio_http, lead_for):
    pool_lead = lead_for(owner=None, in_claim_pool=True)
    pool_lead.customer.phones.create(store=store, number="+13125550144")
    client.force_login(org["agent"].user)
    response = start_call(client, pool_lead)
    assert response.status_code == 422
    assert b"Only the lead&#x27;s owner" in response.content
    theirs = lead_for(owner=org["agent2"])
    assert start_call(client, theirs).status_code == 404
    assert twilio_http.requests == []
    assert not Call.objects.exists() and not ContactEvent.objects.exists()


def test_twilio_refusing_the_call_stores_nothing_and_says_so(agent_client, agent_lead, lines, twilio_http):
    twilio_http.fail_with = (400, 21211, "The 'To' number is not a valid phone number.")
    response = start_call(agent_client, agent_lead)
    assert response.status_code == 422
    assert b"did not accept the call" in response.content
    assert len(twilio_http.calls_created()) == 1
    assert not Call.objects.exists() and not ContactEvent.objects.exists()


def test_a_double_click_starts_one_call(started, agent_client, twilio_http):
    call, lead = started
    response = start_call(agent_client, lead)
    assert response.status_code == 422
    assert b"already under way" in response.content
    assert len(twilio_http.calls_created()) == 1


def test_no_dealer_number_falls_back_to_a_plain_tel_link(agent_client, agent_lead, twilio_http):
    response = agent_client.get(reverse("telephony:call_panel", args=[agent_lead.pk]))
    body = response.content.decode()
    assert f'href="tel:{CUSTOMER_PHONE}"' in body
    assert reverse("telephony:call_start", args=[agent_lead.pk]) not in body
    assert "mailto:" not in body or 'class="btn secondary"' in body
    assert start_call(agent_client, agent_lead).status_code == 422
    assert twilio_http.requests == []


def test_the_lead_page_loads_the_call_panel_which_offers_click_to_call(agent_client, agent_lead, lines):
    agent_lead.customer.emails.create(store=agent_lead.store, email="maria@example.com")
    page = agent_client.get(reverse("leads:detail", args=[agent_lead.pk])).content.decode()
    panel_url = reverse("telephony:call_panel", args=[agent_lead.pk])
    assert f'hx-get="{panel_url}"' in page
    assert f'href="tel:{CUSTOMER_PHONE}"' in page  # before htmx swaps the panel in
    panel = agent_client.get(panel_url).content.decode()
    assert f'action="{reverse("telephony:call_start", args=[agent_lead.pk])}"' in panel
    assert "Call (312) 555-0142" in panel
    assert "mailto:" not in panel  # email goes through the tracked Email form
    assert "tel:" not in panel
    assert 'data-live="call"' not in panel and "data-poll" not in panel  # nothing live to reload


# --- Settling the outcome ----------------------------------------------------------------------


def test_a_connected_call_of_30_seconds_is_verified_two_way_contact(started, agent_client, org):
    call, lead = started
    answered_and_talked(agent_client, call, 95)
    attempt, outcome = events(call)
    assert outcome.supersedes == attempt
    assert (outcome.channel, outcome.direction, outcome.outcome, outcome.evidence_level) == (
        Channel.CALL, Direction.OUTBOUND, Outcome.CONNECTED, EvidenceLevel.VERIFIED
    )
    assert (outcome.talk_seconds, outcome.answered_by_person, outcome.call_sid) == (95, True, call.call_sid)
    assert (outcome.staff, outcome.lead, outcome.occurred_at) == (org["agent"], lead, attempt.occurred_at)
    assert outcome.is_two_way
    assert "two-way" in outcome.body
    assert [e.pk for e in lead_timeline(lead)] == [outcome.pk]
    call.refresh_from_db()
    assert (call.status, call.customer_leg_status, call.talk_seconds, call.answered_by) == (
        "completed", "completed", 95, "human"
    )
    assert call.settled_at is not None


@pytest.mark.parametrize(("seconds", "minimum", "two_way"), [(29, 30, False), (30, 30, True), (44, 45, False)])
def test_talk_time_decides_two_way_at_the_stores_minimum(started, agent_client, store, seconds, minimum, two_way):
    store.min_talk_seconds = minimum
    store.save(update_fields=["min_talk_seconds"])
    call, _ = started
    answered_and_talked(agent_client, call, seconds)
    outcome = current(call)
    assert (outcome.outcome, outcome.talk_seconds, outcome.answered_by_person) == (Outcome.CONNECTED, seconds, True)
    assert outcome.is_two_way is two_way


def test_is_two_way_needs_a_person_a_connection_and_the_minimum():
    def rule(**kwargs):
        return contact.is_two_way(channel="call", direction="outbound", evidence_level="verified", **kwargs)

    assert rule(outcome="connected", answered_by_person=True, talk_seconds=30, min_talk_seconds=30)
    assert not rule(outcome="connected", answered_by_person=None, talk_seconds=300, min_talk_seconds=30)
    assert not rule(outcome="connected", answered_by_person=False, talk_seconds=300, min_talk_seconds=30)
    assert not rule(outcome="voicemail", answered_by_person=True, talk_seconds=300, min_talk_seconds=30)
    assert not rule(outcome="connected", answered_by_person=True, talk_seconds=None, min_talk_seconds=30)


@pytest.mark.parametrize(
    ("leg_end", "outcome"),
    [("no-answer", Outcome.NO_ANSWER), ("busy", Outcome.BUSY), ("failed", Outcome.FAILED),
     ("canceled", Outcome.NO_ANSWER)],
)
def test_an_unanswered_customer_leg_settles_the_attempt(started, agent_client, leg_end, outcome):
    call, _ = started
    leg = new_leg()
    signed_post(agent_client, STATUS, parent_status(call.call_sid, "in-progress"))
    signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, "ringing"))
    signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, leg_end))
    response = signed_post(agent_client, DIAL, dial_complete(call.call_sid, leg, leg_end))
    assert response.status_code == 200
    assert xml(response).find("Hangup") is not None
    attempt, settled = events(call)
    assert settled.supersedes == attempt
    assert (settled.outcome, settled.talk_seconds, settled.answered_by_person) == (outcome, None, None)
    assert not settled.is_two_way


@pytest.mark.parametrize("answered_by", ["machine_start", "machine_end_beep", "fax"])
def test_a_machine_answering_is_a_voicemail_not_a_conversation(started, agent_client, answered_by):
    call, _ = started
    answered_and_talked(agent_client, call, 75, answered_by=answered_by)
    outcome = current(call)
    assert (outcome.outcome, outcome.answered_by_person, outcome.talk_seconds) == (Outcome.VOICEMAIL, False, 75)
    assert not outcome.is_two_way
    assert len(events(call)) == 2


@pytest.mark.parametrize("agent_end", ["no-answer", "busy", "failed"])
def test_the_agent_not_answering_their_phone_fails_the_attempt_without_calling_the_customer(
    started, agent_client, agent_end
):
    call, _ = started
    signed_post(agent_client, STATUS, parent_status(call.call_sid, "ringing"))
    signed_post(agent_client, STATUS, parent_status(call.call_sid, agent_end))
    attempt, settled = events(call)
    assert settled.supersedes == attempt
    assert settled.outcome == Outcome.FAILED
    assert "(312) 555-0111" in settled.body and "the customer was not called" in settled.body
    call.refresh_from_db()
    assert (call.status, call.customer_leg_status, call.child_call_sid) == (agent_end, "", "")


def test_the_parent_completing_first_waits_for_the_customer_leg(started, agent_client):
    call, _ = started
    leg = new_leg()
    signed_post(agent_client, STATUS, parent_status(call.call_sid, "in-progress"))
    signed_post(agent_client, STATUS, parent_status(call.call_sid, "completed"))
    assert len(events(call)) == 1  # the agent answered, so the customer's leg decides
    signed_post(agent_client, amd_path(call.call_sid), amd(leg, "human"))
    signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, "completed", CallDuration="40"))
    assert (current(call).outcome, current(call).talk_seconds) == (Outcome.CONNECTED, 40)


# --- Order, repeats, unknowns, signatures ----------------------------------------------------


def test_callbacks_out_of_order_settle_once_and_never_regress(started, agent_client):
    call, _ = started
    leg = new_leg()
    # The customer leg's completion first, then the dial action, then everything that came before.
    signed_post(agent_client, amd_path(call.call_sid), amd(leg, "human"))
    signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, "completed", CallDuration="61"))
    signed_post(agent_client, DIAL, dial_complete(call.call_sid, leg, "completed", 61))
    signed_post(agent_client, STATUS, parent_status(call.call_sid, "completed"))
    for status in ("ringing", "in-progress", "initiated"):
        signed_post(agent_client, STATUS, parent_status(call.call_sid, status))
        signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, status))
    call.refresh_from_db()
    assert (call.status, call.customer_leg_status, call.talk_seconds) == ("completed", "completed", 61)
    assert [e.outcome for e in events(call)] == [Outcome.ATTEMPT, Outcome.CONNECTED]
    assert current(call).talk_seconds == 61


def test_a_late_machine_detection_verdict_corrects_the_settled_call(started, agent_client):
    call, lead = started
    leg = new_leg()
    signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, "completed", CallDuration="50"))
    settled = current(call)
    assert (settled.outcome, settled.answered_by_person) == (Outcome.CONNECTED, None)
    assert not settled.is_two_way  # no verdict: not counted
    signed_post(agent_client, amd_path(call.call_sid), amd(leg, "human"))
    corrected = current(call)
    assert corrected.supersedes == settled
    assert (corrected.outcome, corrected.answered_by_person, corrected.talk_seconds) == (Outcome.CONNECTED, True, 50)
    assert corrected.is_two_way
    assert [e.pk for e in lead_timeline(lead)] == [corrected.pk]
    signed_post(agent_client, DIAL, dial_complete(call.call_sid, leg, "completed", 50))
    assert len(events(call)) == 3


def test_the_same_callback_three_times_records_one_event(started, agent_client):
    call, _ = started
    leg = new_leg()
    signed_post(agent_client, amd_path(call.call_sid), amd(leg, "human"))
    for _ in range(3):
        params = leg_status(call.call_sid, leg, "completed", CallDuration="45")
        assert signed_post(agent_client, leg_path(call.call_sid), params).status_code == 200
        assert signed_post(agent_client, DIAL, dial_complete(call.call_sid, leg, "completed", 45)).status_code == 200
        assert signed_post(agent_client, STATUS, parent_status(call.call_sid, "completed")).status_code == 200
    assert [e.outcome for e in events(call)] == [Outcome.ATTEMPT, Outcome.CONNECTED]
    assert WebhookReceipt.objects.filter(kind="call-leg", sid=leg, status="completed").count() == 1
    assert WebhookReceipt.objects.filter(kind="call", sid=call.call_sid, status="completed").count() == 1


def test_a_bad_signature_is_refused_and_nothing_is_stored(started, agent_client, caplog):
    call, _ = started
    leg = new_leg()
    params = leg_status(call.call_sid, leg, "completed", CallDuration="45")
    with caplog.at_level(logging.WARNING, logger="telephony.webhooks"):
        response = signed_post(agent_client, leg_path(call.call_sid), params, signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    assert "bad signature" in caplog.text
    unsigned = agent_client.post(STATUS, parent_status(call.call_sid, "busy"))
    assert unsigned.status_code == 403
    # A signature over other parameters does not cover these.
    tampered = signed_post(agent_client, STATUS, parent_status(call.call_sid, "busy"),
                           signature=_signature_for(STATUS, parent_status(call.call_sid, "completed")))
    assert tampered.status_code == 403
    assert not WebhookReceipt.objects.exists()
    call.refresh_from_db()
    assert (call.status, call.customer_leg_status, call.settled_at) == ("queued", "", None)
    assert len(events(call)) == 1


def _signature_for(path, params):
    from telephony.twilio import sign

    return sign(public_url(path), params)


def test_behind_a_proxy_the_signature_over_the_public_url_is_checked(settings, started, agent_client):
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    call, _ = started
    params = parent_status(call.call_sid, "ringing")
    # What Twilio signs: the public https URL, although the app sees http://testserver.
    assert signed_post(agent_client, STATUS, params).status_code == 200
    from telephony.twilio import sign

    as_seen_inside = sign(f"http://testserver{STATUS}", parent_status(call.call_sid, "in-progress"))
    response = agent_client.post(STATUS, parent_status(call.call_sid, "in-progress"), HTTP_X_TWILIO_SIGNATURE=as_seen_inside)
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.status == "ringing"


def test_an_unknown_call_sid_is_answered_200_and_logged(agent_client, twilio_http, caplog):
    from tests.telephony.twilio_helpers import sid

    stranger = sid("CA")
    with caplog.at_level(logging.INFO, logger="telephony.calls"):
        assert signed_post(agent_client, STATUS, parent_status(stranger, "completed")).status_code == 200
        assert signed_post(agent_client, leg_path(stranger), leg_status(stranger, sid("CA"), "busy")).status_code == 200
        assert signed_post(agent_client, DIAL, dial_complete(stranger, sid("CA"), "busy")).status_code == 200
        response = signed_post(agent_client, OUTBOUND, parent_status(stranger, "in-progress"))
    assert response.status_code == 200 and xml(response).find("Hangup") is not None
    assert stranger in caplog.text
    assert not WebhookReceipt.objects.exists() and not ContactEvent.objects.exists()


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (STATUS, {"CallStatus": "completed"}),
        (STATUS, {"CallSid": "CA123", "CallStatus": "completed"}),
        (STATUS, {"CallSid": "CA" + "a" * 32, "CallStatus": "exploded"}),
        (STATUS, {"CallSid": "CA" + "a" * 32, "CallStatus": "completed", "CallDuration": "ten"}),
        (LEG, {"CallSid": "CA" + "a" * 32, "CallStatus": "completed", "ParentCallSid": "nope"}),
        (AMD, {"CallSid": "CA" + "a" * 32}),
        (DIAL, {"CallSid": "CA" + "a" * 32, "DialCallStatus": ""}),
        (OUTBOUND, {"From": AGENT_LINE}),
        (RECORDING, {"CallSid": "CA" + "a" * 32, "RecordingSid": "RE1", "RecordingStatus": "completed"}),
    ],
)
def test_missing_or_malformed_parameters_are_a_400(agent_client, twilio_http, path, params):
    response = signed_post(agent_client, path, params)
    assert response.status_code == 400
    assert not WebhookReceipt.objects.exists()


def test_webhooks_take_only_post(agent_client, twilio_http):
    assert agent_client.get(STATUS).status_code == 405


# --- The live call on the lead page, and the voicemail drop ---------------------------------


def test_the_panel_polls_while_the_call_is_live_and_stops_when_it_settles(started, agent_client):
    call, lead = started
    panel_url = reverse("telephony:call_panel", args=[lead.pk])
    body = agent_client.get(panel_url).content.decode()
    # Live: reloaded when the stream says the call changed, or every 2 s while no stream is open.
    assert "Ringing your phone" in body and 'hx-trigger="live"' in body
    assert f'data-live="call" data-live-lead="{lead.pk}" data-poll="2s"' in body
    leg = new_leg()
    signed_post(agent_client, STATUS, parent_status(call.call_sid, "in-progress"))
    signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, "in-progress"))
    signed_post(agent_client, amd_path(call.call_sid), amd(leg, "human"))
    body = agent_client.get(panel_url).content.decode()
    assert "Connected" in body and "Leave our voicemail" not in body
    signed_post(agent_client, DIAL, dial_complete(call.call_sid, leg, "completed", 33))
    body = agent_client.get(panel_url).content.decode()
    assert 'data-live="call"' not in body and "data-poll" not in body
    assert "Last call: Connected, 33 s" in body


def voicemail_on_the_line(client, call) -> str:
    leg = new_leg()
    signed_post(client, STATUS, parent_status(call.call_sid, "in-progress"))
    signed_post(client, leg_path(call.call_sid), leg_status(call.call_sid, leg, "in-progress"))
    signed_post(client, amd_path(call.call_sid), amd(leg, "machine_start"))
    return leg


def test_leave_our_voicemail_plays_the_stores_script_on_the_live_call(started, agent_client, twilio_http, org, store):
    call, lead = started
    leg = voicemail_on_the_line(agent_client, call)
    panel = agent_client.get(reverse("telephony:call_panel", args=[lead.pk])).content.decode()
    drop_url = reverse("telephony:call_voicemail_drop", args=[call.pk])
    assert "Voicemail picked up" in panel and f'action="{drop_url}"' in panel and "Leave our voicemail" in panel

    response = agent_client.post(drop_url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    [update] = twilio_http.calls_updated()
    assert update.path.endswith(f"/Calls/{leg}.json")
    twiml = update.data["Twiml"]
    agent_name = org["agent"].display_name
    assert f"Hi Maria, this is {agent_name} with North Motors." in twiml
    assert "call me back at (312) 555-0151" in twiml  # the agent's own line
    assert twiml.rstrip().endswith("<Hangup /></Response>")
    call.refresh_from_db()
    assert call.voicemail_dropped_at is not None
    attempt, dropped = events(call)
    assert dropped.supersedes == attempt
    assert (dropped.outcome, dropped.answered_by_person, dropped.evidence_level) == (
        Outcome.VOICEMAIL, False, EvidenceLevel.VERIFIED
    )
    assert "Left the store's voicemail" in dropped.body

    # A second press does nothing; the leg ending later adds nothing either.
    again = agent_client.post(drop_url, HTTP_HX_REQUEST="true")
    assert again.status_code == 422 and len(twilio_http.calls_updated()) == 1
    signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, "completed", CallDuration="41"))
    response = signed_post(agent_client, DIAL, dial_complete(call.call_sid, leg, "completed", 41))
    assert b"voicemail is playing" in response.content
    assert len(events(call)) == 2


def test_no_voicemail_drop_for_a_person_or_for_someone_elses_call(started, agent_client, client, org, twilio_http):
    call, _ = started
    leg = new_leg()
    signed_post(agent_client, leg_path(call.call_sid), leg_status(call.call_sid, leg, "in-progress"))
    signed_post(agent_client, amd_path(call.call_sid), amd(leg, "human"))
    drop_url = reverse("telephony:call_voicemail_drop", args=[call.pk])
    assert agent_client.post(drop_url, HTTP_HX_REQUEST="true").status_code == 422
    client.force_login(org["agent2"].user)
    assert client.post(drop_url).status_code == 404
    assert twilio_http.calls_updated() == []
    assert Call.objects.get(pk=call.pk).voicemail_dropped_at is None


def test_a_refused_voicemail_drop_can_be_tried_again(started, agent_client, twilio_http):
    call, _ = started
    voicemail_on_the_line(agent_client, call)
    twilio_http.fail_with = (400, 21220, "Call is not in-progress. Cannot redirect.")
    drop_url = reverse("telephony:call_voicemail_drop", args=[call.pk])
    assert agent_client.post(drop_url, HTTP_HX_REQUEST="true").status_code == 422
    assert Call.objects.get(pk=call.pk).voicemail_dropped_at is None
    assert len(events(call)) == 1
    twilio_http.fail_with = None
    assert agent_client.post(drop_url, HTTP_HX_REQUEST="true").status_code == 200
    assert current(call).outcome == Outcome.VOICEMAIL


def test_the_voicemail_script_fills_only_known_placeholders():
    script = "Hi {customer_first_name}, {agent_name} at {store_name}: {callback_number}. {agent_name.__class__} {x}"
    text = call_verdicts.voicemail_text(script, {"customer_first_name": "Maria", "agent_name": "Dana", "store_name": "North",
                                                 "callback_number": "(312) 555-0151"})
    assert text == "Hi Maria, Dana at North: (312) 555-0151. {agent_name.__class__} {x}"
