"""Inbound calls to dealer numbers: caller matching, phone-up leads from tracking numbers,
forwarding by shift, settlement, and the call-back task for a missed call."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from factories import CustomerPhoneFactory, LeadFactory, ShiftFactory

from distribution.services import lead_route
from leads.models import Channel, ContactEvent, Direction, EvidenceLevel, IntakeChannel, Lead, Outcome, Task, TaskKind
from org.models import TimeOff
from telephony import calls
from telephony.models import Call
from telephony.twilio import public_url
from tests.telephony import call_fixtures
from tests.telephony.call_fixtures import (
    AGENT_CELL,
    AGENT_DESK,
    AGENT_LINE,
    CUSTOMER_PHONE,
    DIAL,
    INBOUND,
    LEG,
    MAIN_LINE,
    RECORDING,
    STATUS,
    STORE_MAIN_PHONE,
    TRACKING_LINE,
    base,
    dial_complete,
    on_shift_all_week,
    xml,
)
from tests.telephony.twilio_helpers import sid, signed_post

# Shared fixtures, bound here so pytest finds them in this module.
agent_lead, lines, twilio_http = call_fixtures.agent_lead, call_fixtures.lines, call_fixtures.twilio_http

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

NEW_CALLER = "+17735550177"


def ring(client, to: str, caller: str = CUSTOMER_PHONE, call_sid: str | None = None):
    call_sid = call_sid or sid("CA")
    params = base(call_sid, From=caller, To=to, CallStatus="ringing", Direction="inbound", Caller=caller, Called=to)
    return call_sid, signed_post(client, INBOUND, params)


def dialed_numbers(response) -> list[str]:
    [dial] = xml(response).findall("Dial")
    return [n.text for n in dial.findall("Number")]


def events(call_sid) -> list[ContactEvent]:
    return list(ContactEvent.objects.filter(call_sid=call_sid).order_by("id"))


def test_a_known_caller_rings_the_owners_desk_and_cell_when_on_shift(client, org, lines, agent_lead, twilio_http):
    on_shift_all_week(org["agent"])
    call_sid, response = ring(client, MAIN_LINE)
    assert response.status_code == 200
    [dial] = xml(response).findall("Dial")
    assert dial.get("record") == "record-from-answer-dual"
    assert dial.get("action") == public_url(DIAL)
    assert dial.get("recordingStatusCallback") == public_url(RECORDING)
    assert dialed_numbers(response) == [AGENT_DESK, AGENT_CELL]
    assert {n.get("statusCallback") for n in dial.findall("Number")} == {public_url(f"{LEG}?parent={call_sid}")}
    call = Call.objects.get(call_sid=call_sid)
    assert (call.direction, call.customer_id, call.lead, call.staff, str(call.dealer_number.number)) == (
        "inbound", agent_lead.customer_id, agent_lead, org["agent"], MAIN_LINE
    )
    [attempt] = events(call_sid)
    assert (attempt.direction, attempt.outcome, attempt.evidence_level, attempt.staff) == (
        Direction.INBOUND, Outcome.ATTEMPT, EvidenceLevel.VERIFIED, org["agent"]
    )

    # The agent answers on the cell and they talk 2 minutes: two-way, verified, inbound.
    response = signed_post(client, DIAL, dial_complete(call_sid, sid("CA"), "completed", 120))
    assert [child.tag for child in xml(response)] == ["Hangup"]
    attempt, answered = events(call_sid)
    assert answered.supersedes == attempt
    assert (answered.channel, answered.direction, answered.outcome, answered.evidence_level) == (
        Channel.CALL, Direction.INBOUND, Outcome.CONNECTED, EvidenceLevel.VERIFIED
    )
    assert (answered.talk_seconds, answered.answered_by_person, answered.staff) == (120, True, org["agent"])
    assert answered.is_two_way
    assert not Task.objects.filter(kind=TaskKind.CALL_BACK).exists()  # answered: no call-back task


def test_the_owner_off_shift_sends_the_call_to_the_stores_main_phone(client, org, lines, agent_lead, twilio_http):
    call_sid, response = ring(client, AGENT_LINE)  # no shifts: off every day
    assert dialed_numbers(response) == [STORE_MAIN_PHONE]
    call = Call.objects.get(call_sid=call_sid)
    assert call.staff is None and str(call.agent_number) == STORE_MAIN_PHONE
    signed_post(client, DIAL, dial_complete(call_sid, sid("CA"), "completed", 20))
    answered = events(call_sid)[-1]
    assert (answered.outcome, answered.staff, answered.talk_seconds) == (Outcome.CONNECTED, None, 20)
    assert not answered.is_two_way  # 20 s: under the minimum


def test_an_unknown_caller_on_a_tracking_number_becomes_a_phone_up_lead(client, store, lines, twilio_http):
    call_sid, response = ring(client, TRACKING_LINE, caller="(773) 555-0177")
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.source_type, lead.provider, lead.intake_channel) == ("third_party", "Cars.com listing",
                                                                       IntakeChannel.PHONE)
    assert [str(p.number) for p in lead.customer.phones.all()] == [NEW_CALLER]
    assert lead.routing_due_at is not None and lead.routed_at is None  # routing follows, after commit
    assert lead_route(lead_id=lead.pk)
    lead.refresh_from_db()
    assert lead.owner is None and lead.routing.state == "manager"  # the store has no routing rule yet
    call = Call.objects.get(call_sid=call_sid)
    assert (call.lead, call.customer_id, str(call.customer_number)) == (lead, lead.customer_id, NEW_CALLER)
    assert dialed_numbers(response) == [STORE_MAIN_PHONE]  # nobody owns it yet
    [attempt] = events(call_sid)
    assert attempt.lead == lead and "Cars.com listing" in attempt.body


def test_a_tracking_number_without_a_source_gives_a_phone_up(client, store, lines, twilio_http):
    lines["tracking"].source_type = ""
    lines["tracking"].save()
    ring(client, TRACKING_LINE, caller=NEW_CALLER)
    assert Lead.objects.get().source_type == "phone_up"


def test_an_unknown_caller_on_the_main_line_is_forwarded_without_a_lead(client, store, lines, twilio_http):
    call_sid, response = ring(client, MAIN_LINE, caller=NEW_CALLER)
    assert dialed_numbers(response) == [STORE_MAIN_PHONE]
    assert not Lead.objects.exists() and not ContactEvent.objects.exists()
    assert Call.objects.get(call_sid=call_sid).customer is None


def test_an_anonymous_caller_on_a_tracking_number_is_forwarded_without_a_lead(client, store, lines, twilio_http):
    call_sid, response = ring(client, TRACKING_LINE, caller="Anonymous")
    assert response.status_code == 200 and dialed_numbers(response) == [STORE_MAIN_PHONE]
    assert not Lead.objects.exists()


def test_a_retried_inbound_webhook_answers_the_same_and_stores_once(client, store, lines, twilio_http):
    call_sid, first = ring(client, TRACKING_LINE, caller=NEW_CALLER)
    _, second = ring(client, TRACKING_LINE, caller=NEW_CALLER, call_sid=call_sid)
    assert second.status_code == 200 and second.content == first.content
    assert Lead.objects.count() == 1 and Call.objects.count() == 1 and len(events(call_sid)) == 1


def test_a_call_to_a_number_we_do_not_have_is_turned_away(client, lines, twilio_http):
    _, response = ring(client, "+13125550999")
    root = xml(response)
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert not Call.objects.exists()


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed", "canceled"])
def test_a_missed_inbound_call_creates_one_call_back_task_however_often_twilio_reports_it(
    client, org, lines, agent_lead, twilio_http, dial_status
):
    on_shift_all_week(org["agent"])
    call_sid, _ = ring(client, AGENT_LINE)
    for _ in range(3):
        response = signed_post(client, DIAL, dial_complete(call_sid, "", dial_status))
        assert response.status_code == 200
        assert b"we missed your call" in response.content.lower()
        signed_post(client, STATUS, base(call_sid, CallStatus="completed", CallDuration="25"))
    [task] = Task.objects.all()
    assert (task.kind, task.staff, task.customer_id, task.lead) == (
        TaskKind.CALL_BACK, org["agent"], agent_lead.customer_id, agent_lead
    )
    assert dt.timedelta(0) < task.due_at - task.created_at <= dt.timedelta(minutes=15)
    attempt, missed = events(call_sid)
    assert missed.supersedes == attempt and missed.outcome != Outcome.CONNECTED and "Call back" in missed.body


def test_a_customer_calling_twice_unanswered_gets_one_open_call_back_task(client, org, lines, agent_lead, twilio_http):
    on_shift_all_week(org["agent"])
    for _ in range(2):
        call_sid, _ = ring(client, AGENT_LINE)
        signed_post(client, DIAL, dial_complete(call_sid, "", "no-answer"))
    assert Task.objects.count() == 1


def test_a_canceled_call_back_does_not_block_the_next_missed_call(client, org, lines, agent_lead, twilio_http):
    """Before: a canceled call-back task counted as open, so the next missed call made none."""
    from django.utils import timezone

    on_shift_all_week(org["agent"])
    call_sid, _ = ring(client, AGENT_LINE)
    signed_post(client, DIAL, dial_complete(call_sid, "", "no-answer"))
    Task.objects.update(canceled_at=timezone.now(), cancel_reason="The customer bought.")
    call_sid, _ = ring(client, AGENT_LINE)
    signed_post(client, DIAL, dial_complete(call_sid, "", "no-answer"))
    assert Task.objects.filter(kind=TaskKind.CALL_BACK, canceled_at__isnull=True, completed_at__isnull=True).count() == 1


def test_nobody_to_ring_settles_as_missed_at_once(client, store, org, lines, agent_lead, twilio_http):
    store.main_phone = ""
    store.save(update_fields=["main_phone"])
    call_sid, response = ring(client, MAIN_LINE)
    root = xml(response)
    assert root.find("Dial") is None and root.find("Hangup") is not None
    attempt, missed = events(call_sid)
    assert missed.outcome == Outcome.NO_ANSWER and missed.supersedes == attempt
    assert Task.objects.get().staff == org["agent"]


def test_the_answered_leg_settles_even_when_the_other_phone_was_canceled(client, org, lines, agent_lead, twilio_http):
    """Desk and cell ring together; the desk leg's 'canceled' must not make the call missed."""
    on_shift_all_week(org["agent"])
    call_sid, _ = ring(client, MAIN_LINE)
    desk, cell = sid("CA"), sid("CA")
    leg = f"{LEG}?parent={call_sid}"
    signed_post(client, leg, base(cell, ParentCallSid=call_sid, CallStatus="in-progress"))
    signed_post(client, leg, base(desk, ParentCallSid=call_sid, CallStatus="canceled"))
    assert len(events(call_sid)) == 1
    signed_post(client, leg, base(cell, ParentCallSid=call_sid, CallStatus="completed", CallDuration="47"))
    answered = events(call_sid)[-1]
    assert (answered.outcome, answered.talk_seconds) == (Outcome.CONNECTED, 47)
    assert Call.objects.get(call_sid=call_sid).child_call_sid == cell
    signed_post(client, DIAL, dial_complete(call_sid, cell, "completed", 47))
    assert len(events(call_sid)) == 2 and not Task.objects.filter(kind=TaskKind.CALL_BACK).exists()


def test_the_caller_hanging_up_before_anyone_answered_is_missed(client, org, lines, agent_lead, twilio_http):
    on_shift_all_week(org["agent"])
    call_sid, _ = ring(client, MAIN_LINE)
    signed_post(client, STATUS, base(call_sid, CallStatus="completed", CallDuration="9"))
    assert events(call_sid)[-1].outcome == Outcome.NO_ANSWER
    assert Task.objects.count() == 1


# --- Who is on shift ----------------------------------------------------------------------


def test_on_shift_is_judged_in_the_stores_time_zone(store, org):
    agent = org["agent"]
    ShiftFactory(staff=agent, weekday=0, starts=dt.time(9, 0), ends=dt.time(18, 0))  # Monday
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    monday_morning = dt.datetime(2025, 3, 3, 9, 30, tzinfo=chicago)
    assert calls.is_on_shift(agent, monday_morning)
    assert not calls.is_on_shift(agent, dt.datetime(2025, 3, 3, 8, 59, tzinfo=chicago))
    assert not calls.is_on_shift(agent, dt.datetime(2025, 3, 3, 18, 0, tzinfo=chicago))
    # 23:30 UTC on Monday is 17:30 in Chicago: on shift; 15:30 UTC Sunday is Sunday there too.
    assert calls.is_on_shift(agent, dt.datetime(2025, 3, 3, 23, 30, tzinfo=dt.UTC))
    assert not calls.is_on_shift(agent, dt.datetime(2025, 3, 2, 15, 30, tzinfo=dt.UTC))
    agent.available = False
    assert not calls.is_on_shift(agent, monday_morning)
    agent.available = True
    TimeOff.objects.create(staff=agent, first_day=dt.date(2025, 3, 3), last_day=dt.date(2025, 3, 4))
    assert not calls.is_on_shift(agent, monday_morning)


def test_missed_call_in_a_lead_without_owner_gives_the_task_to_the_agent_line_owner(
    client, store, org, lines, twilio_http
):
    lead = LeadFactory(store=store, owner=None, in_claim_pool=True)
    CustomerPhoneFactory(customer=lead.customer, number=NEW_CALLER)
    on_shift_all_week(org["agent"])
    call_sid, response = ring(client, AGENT_LINE, caller=NEW_CALLER)
    assert dialed_numbers(response) == [AGENT_DESK, AGENT_CELL]
    signed_post(client, DIAL, dial_complete(call_sid, "", "no-answer"))
    assert Task.objects.get().staff == org["agent"]
