"""Calls always settle: a click-to-call whose status callbacks never arrive is looked up at
Twilio after its deadline (telephony.reconcile) and settled from Twilio's answer.

Twilio is faked at its HTTP boundary: a FakeTwilioHttp behind a real twilio.rest.Client,
answering GET Calls/CA... and Calls.json?ParentCallSid=... with Twilio-shaped JSON. The clock
is pinned by passing `now=` to the sweep.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from distribution.models import LeadRouting, RoutingState
from leads.models import ContactEvent, Outcome, Task, TaskKind
from telephony import calls, reconcile
from telephony.models import Call
from tests.telephony import call_fixtures
from tests.telephony.call_fixtures import (
    CUSTOMER_PHONE,
    INBOUND,
    LEG,
    MAIN_LINE,
    STATUS,
    leg_status,
    new_leg,
    on_shift_all_week,
    parent_status,
)
from tests.telephony.twilio_helpers import signed_post

agent_client, agent_lead, lines, twilio_http = (
    call_fixtures.agent_client, call_fixtures.agent_lead, call_fixtures.lines, call_fixtures.twilio_http
)

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


@pytest.fixture
def started(agent_client, agent_lead, lines, twilio_http, store):
    """A click-to-call Twilio accepted, on a lead with a routing (its response clock); none of
    its callbacks ever arrives."""
    LeadRouting.objects.create(lead=agent_lead, store=store, state=RoutingState.ASSIGNED)
    response = agent_client.post(reverse("telephony:call_start", args=[agent_lead.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content
    return Call.objects.get(lead=agent_lead), agent_lead


def after(call: Call, minutes: float) -> dt.datetime:
    return call.created_at + dt.timedelta(minutes=minutes)


def current(call: Call) -> ContactEvent:
    [event] = ContactEvent.objects.filter(call_sid=call.call_sid, superseded_by__isnull=True)
    return event


def panel(client, lead) -> str:
    return client.get(reverse("telephony:call_panel", args=[lead.pk])).content.decode()


def twilio_says_connected(http, call: Call, seconds: int = 95) -> str:
    leg = new_leg()
    http.call_state(call.call_sid, "completed", duration=seconds + 5)
    http.call_state(leg, "completed", parent=call.call_sid, duration=seconds, answered_by="human")
    return leg


def test_a_new_call_is_due_for_a_lookup_a_few_minutes_later(started, settings):
    call, _ = started
    assert call.reconcile_due_at == call.created_at + dt.timedelta(seconds=settings.CALL_RECONCILE_AFTER_SECONDS)
    assert settings.CALL_RECONCILE_AFTER_SECONDS == 300


def test_after_the_deadline_the_sweep_settles_the_call_as_twilio_says_connected(started, twilio_http):
    call, lead = started
    leg = twilio_says_connected(twilio_http, call)
    assert reconcile.calls_reconcile(now=after(call, 4.9)) == {}
    assert twilio_http.lookups() == []

    assert reconcile.calls_reconcile(now=after(call, 5.5)) == {"settled": 1}
    call.refresh_from_db()
    assert call.settled_at is not None
    assert (call.status, call.customer_leg_status, call.child_call_sid, call.talk_seconds, call.answered_by) == (
        "completed", "completed", leg, 95, "human")
    event = current(call)
    assert (event.outcome, event.talk_seconds, event.answered_by_person, event.is_two_way) == (
        Outcome.CONNECTED, 95, True, True)
    assert event.supersedes.outcome == Outcome.ATTEMPT
    assert "Confirmed with the phone system" in event.body
    fetch, children = twilio_http.lookups()
    assert fetch.path.endswith(f"/Calls/{call.call_sid}.json")
    assert children.path.endswith("/Calls.json") and children.params["ParentCallSid"] == call.call_sid


def test_a_repeat_sweep_does_nothing(started, twilio_http):
    call, _ = started
    twilio_says_connected(twilio_http, call)
    reconcile.calls_reconcile(now=after(call, 6))
    asked = len(twilio_http.requests)
    events = ContactEvent.objects.count()
    assert reconcile.calls_reconcile(now=after(call, 7)) == {}
    assert reconcile.calls_reconcile(now=after(call, 600)) == {}
    assert reconcile.call_reconcile(call_id=call.pk, now=after(call, 600)) == reconcile.NOT_DUE
    assert len(twilio_http.requests) == asked and ContactEvent.objects.count() == events


def test_the_customer_not_answering_settles_as_no_answer(started, twilio_http):
    call, _ = started
    leg = new_leg()
    twilio_http.call_state(call.call_sid, "completed", duration=40)
    twilio_http.call_state(leg, "no-answer", parent=call.call_sid, duration=0)
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"settled": 1}
    event = current(Call.objects.get(pk=call.pk))
    assert event.outcome == Outcome.NO_ANSWER and event.is_attempt and not event.is_two_way


def test_a_call_still_in_progress_gets_its_deadline_moved(started, twilio_http, agent_client):
    call, lead = started
    leg = new_leg()
    twilio_http.call_state(call.call_sid, "in-progress")
    twilio_http.call_state(leg, "in-progress", parent=call.call_sid, answered_by="human")
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"waiting": 1}
    call.refresh_from_db()
    assert call.settled_at is None
    assert (call.status, call.customer_leg_status, call.child_call_sid) == ("in-progress", "in-progress", leg)
    assert call.reconcile_due_at == after(call, 6 + 3)  # half the call's age
    assert current(call).outcome == Outcome.ATTEMPT
    assert calls.call_is_live(call, now=after(call, 8))
    assert reconcile.calls_reconcile(now=after(call, 8)) == {}  # not due again yet

    twilio_says_connected(twilio_http, call)
    twilio_http.call_state(leg, "completed", parent=call.call_sid, duration=400, answered_by="human")
    assert reconcile.calls_reconcile(now=after(call, 9)) == {"settled": 1}
    assert current(Call.objects.get(pk=call.pk)).talk_seconds == 400


def test_the_page_stops_showing_ringing_once_the_deadline_passes_and_shows_the_call_button(
    started, twilio_http, agent_client
):
    call, lead = started
    body = panel(agent_client, lead)
    assert "Ringing your phone" in body and 'data-live="call"' in body and 'data-poll="2s"' in body
    # The deadline passes (moved, not the clock) with no callback and before the sweep has run.
    Call.objects.filter(pk=call.pk).update(reconcile_due_at=timezone.now() - dt.timedelta(seconds=1))
    body = panel(agent_client, lead)
    assert "Ringing" not in body and 'data-live="call"' not in body and "data-poll" not in body
    assert reverse("telephony:call_start", args=[lead.pk]) in body and "Call (312) 555-0142" in body
    assert "outcome not confirmed yet" in body

    twilio_says_connected(twilio_http, call, seconds=61)
    assert reconcile.calls_reconcile(now=timezone.now()) == {"settled": 1}
    body = panel(agent_client, lead)
    assert "Ringing" not in body and "Last call: Connected, 61 s" in body
    assert "Call (312) 555-0142" in body


def test_an_agent_leg_failure_settled_by_the_sweep_removes_the_first_attempt_stamp(started, twilio_http):
    call, lead = started
    attempt = current(call)
    assert attempt.is_attempt
    assert LeadRouting.objects.get(lead=lead).first_attempt_at == attempt.occurred_at
    twilio_http.call_state(call.call_sid, "no-answer", duration=0)  # the agent's desk phone rang out
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"settled": 1}
    event = current(Call.objects.get(pk=call.pk))
    assert event.outcome == Outcome.FAILED and not event.is_attempt
    assert "did not answer, so the customer was not called" in event.body
    assert LeadRouting.objects.get(lead=lead).first_attempt_at is None


def test_twilio_errors_are_retried_then_the_call_settles_as_not_confirmed(started, twilio_http):
    call, lead = started
    twilio_http.fail_with = (404, 20404, "The requested resource was not found")
    now = after(call, 6)
    for failures in range(1, reconcile.MAX_FAILURES):
        assert reconcile.calls_reconcile(now=now) == {"retrying": 1}
        call.refresh_from_db()
        assert call.reconcile_failures == failures and call.settled_at is None
        assert call.reconcile_due_at == now + reconcile.failure_backoff(failures)
        now = call.reconcile_due_at
    assert reconcile.calls_reconcile(now=now) == {"unconfirmed": 1}
    call.refresh_from_db()
    assert call.settled_at is not None
    event = current(call)
    assert event.outcome == Outcome.FAILED and "could not be confirmed" in event.body
    assert LeadRouting.objects.get(lead=lead).first_attempt_at is None
    assert reconcile.calls_reconcile(now=now + dt.timedelta(days=1)) == {}


def test_not_confirmed_after_the_customer_leg_was_seen_counts_as_not_answered(started, twilio_http, agent_client):
    call, lead = started
    leg = new_leg()
    signed_post(agent_client, f"{LEG}?parent={call.call_sid}", leg_status(call.call_sid, leg, "ringing"))
    twilio_http.fail_with = (500, 20500, "Internal Server Error")
    Call.objects.filter(pk=call.pk).update(reconcile_failures=reconcile.MAX_FAILURES - 1)
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"unconfirmed": 1}
    event = current(Call.objects.get(pk=call.pk))
    assert event.outcome == Outcome.NO_ANSWER and event.is_attempt and "could not be confirmed" in event.body
    assert LeadRouting.objects.get(lead=lead).first_attempt_at == event.occurred_at


def test_a_callback_that_settles_the_call_during_the_lookup_wins(started, twilio_http, agent_client, monkeypatch):
    call, _ = started
    twilio_says_connected(twilio_http, call)
    real_answer = reconcile.twilio_answer

    def answer_while_the_callback_arrives(call_sid):
        answer = real_answer(call_sid)
        assert signed_post(agent_client, STATUS, parent_status(call_sid, "busy")).status_code == 200
        return answer

    monkeypatch.setattr(reconcile, "twilio_answer", answer_while_the_callback_arrives)
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"not-due": 1}
    [attempt, settled] = ContactEvent.objects.filter(call_sid=call.call_sid).order_by("id")
    assert settled.supersedes == attempt and settled.outcome == Outcome.FAILED  # the callback's verdict


def test_a_callback_after_the_sweep_settled_the_call_changes_nothing(started, twilio_http, agent_client):
    call, _ = started
    twilio_says_connected(twilio_http, call)
    reconcile.calls_reconcile(now=after(call, 6))
    assert signed_post(agent_client, STATUS, parent_status(call.call_sid, "busy")).status_code == 200
    assert ContactEvent.objects.filter(call_sid=call.call_sid).count() == 2
    assert current(Call.objects.get(pk=call.pk)).outcome == Outcome.CONNECTED


def test_the_beat_schedule_runs_the_sweep_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["telephony-calls-reconcile"]
    assert entry["task"] == "telephony.tasks.calls_reconcile_task"
    assert entry["schedule"].run_every == dt.timedelta(seconds=60)


@pytest.mark.parametrize(("age_minutes", "minutes"), [(1, 1), (6, 3), (20, 10), (300, 30)])
def test_the_backoff_while_a_call_is_on(age_minutes, minutes):
    assert reconcile.still_on_backoff(dt.timedelta(minutes=age_minutes)) == dt.timedelta(minutes=minutes)


# --- Inbound calls ----------------------------------------------------------------------------


def ring_in(client, http) -> Call:
    call_sid = new_leg()
    params = {"AccountSid": "AC" + "1" * 32, "ApiVersion": "2010-04-01", "CallSid": call_sid,
              "From": CUSTOMER_PHONE, "To": MAIN_LINE, "CallStatus": "ringing", "Direction": "inbound",
              "Caller": CUSTOMER_PHONE, "Called": MAIN_LINE}
    assert signed_post(client, INBOUND, params).status_code == 200
    return Call.objects.get(call_sid=call_sid)


def test_an_inbound_call_answered_on_the_cell_settles_connected(client, org, lines, agent_lead, twilio_http):
    on_shift_all_week(org["agent"])
    call = ring_in(client, twilio_http)
    desk, cell = new_leg(), new_leg()
    twilio_http.call_state(call.call_sid, "completed", duration=70)
    twilio_http.call_state(desk, "canceled", parent=call.call_sid)
    twilio_http.call_state(cell, "completed", parent=call.call_sid, duration=64)
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"settled": 1}
    call.refresh_from_db()
    assert call.child_call_sid == cell
    event = current(call)
    assert (event.outcome, event.talk_seconds, event.is_two_way) == (Outcome.CONNECTED, 64, True)
    assert not Task.objects.filter(kind=TaskKind.CALL_BACK).exists()


def test_an_inbound_call_nobody_answered_settles_missed_with_a_call_back(client, org, lines, agent_lead,
                                                                         twilio_http):
    on_shift_all_week(org["agent"])
    call = ring_in(client, twilio_http)
    twilio_http.call_state(call.call_sid, "completed", duration=25)
    twilio_http.call_state(new_leg(), "no-answer", parent=call.call_sid)
    twilio_http.call_state(new_leg(), "no-answer", parent=call.call_sid)
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"settled": 1}
    event = current(Call.objects.get(pk=call.pk))
    assert event.outcome == Outcome.NO_ANSWER and "Call back" in event.body
    assert Task.objects.filter(kind=TaskKind.CALL_BACK, customer_id=agent_lead.customer_id).count() == 1


def test_an_inbound_call_still_ringing_waits(client, org, lines, agent_lead, twilio_http):
    on_shift_all_week(org["agent"])
    call = ring_in(client, twilio_http)
    twilio_http.call_state(call.call_sid, "in-progress")
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"waiting": 1}
    assert Call.objects.get(pk=call.pk).settled_at is None


def test_the_agent_answering_and_hanging_up_before_the_customer_was_dialled_is_not_an_attempt(started, twilio_http):
    call, lead = started
    twilio_http.call_state(call.call_sid, "completed", duration=3)  # no child leg: never <Dial>ed
    assert reconcile.calls_reconcile(now=after(call, 6)) == {"settled": 1}
    event = current(Call.objects.get(pk=call.pk))
    assert event.outcome == Outcome.FAILED and "hung up before the customer was dialled" in event.body
    assert LeadRouting.objects.get(lead=lead).first_attempt_at is None
