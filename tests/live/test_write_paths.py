"""The write paths announce their changes: a routing decision, a closed lead, a call."""

from __future__ import annotations

import pytest
import time_machine
from factories import StaffFactory

from distribution import services
from distribution.models import Strategy
from leads import services as lead_services
from leads.models import LeadStatus
from live import events
from live.models import LiveEvent
from org.models import Role
from tests.distribution.floor import at, floor, new_lead, rule

pytestmark = [pytest.mark.django_db, pytest.mark.clock]


def _topics(**filters) -> list[tuple]:
    return list(LiveEvent.objects.filter(**filters).order_by("pk").values_list("topic", "staff_id", "lead_id"))


def test_a_lead_routed_to_an_agent_tells_them_and_not_the_board(store):
    team, manager, people = floor(store)
    rule(store, team=team)
    lead = new_lead(store, received_at=at(10))
    services.lead_route(lead_id=lead.pk, now=at(10))
    lead.refresh_from_db()
    owner = lead.owner_id
    assert owner in {p.pk for p in people.values()}
    assert (events.NOTIFICATION, owner, lead.pk) in _topics()
    assert (events.TODAY, owner, lead.pk) in _topics()
    # Straight to a person: no board or queue changed, their open pages are not reloaded.
    assert _topics(topic=events.ROUTING) == []


def test_a_board_lead_tells_the_board_and_leaving_it_tells_it_again(store):
    team, manager, people = floor(store)
    receptionist = StaffFactory(store=store, role=Role.RECEPTIONIST)
    rule(store, team=team, strategy=Strategy.RECEPTIONIST)
    lead = new_lead(store, received_at=at(10))
    services.lead_route(lead_id=lead.pk, now=at(10))
    assert _topics(topic=events.ROUTING) == [(events.ROUTING, None, lead.pk)]
    assert (events.NOTIFICATION, receptionist.pk, lead.pk) in _topics()
    LiveEvent.objects.all().delete()
    lead.refresh_from_db()
    with time_machine.travel(at(10, 2), tick=False):
        services.lead_hand(lead=lead, to_staff=people["ann"], by=receptionist)
    assert _topics(topic=events.ROUTING) == [(events.ROUTING, None, lead.pk)]  # it left the board
    assert (events.TODAY, people["ann"].pk, lead.pk) in _topics()


def test_a_lead_sold_off_a_queue_leaves_it(store):
    team, manager, people = floor(store)
    lead = new_lead(store, received_at=at(10))
    services.lead_route(lead_id=lead.pk, now=at(10))  # no rule: the manager's queue
    LiveEvent.objects.all().delete()
    lead.refresh_from_db()
    lead_services.lead_transition(lead=lead, to_status=LeadStatus.LOST, by=manager)
    assert _topics(topic=events.ROUTING) == [(events.ROUTING, None, lead.pk)]


def test_a_call_status_webhook_tells_the_caller_of_their_call(store, org):
    from factories import LeadFactory

    from telephony import calls
    from telephony.models import Call, CallStatus

    lead = LeadFactory(store=store, owner=org["agent"])
    call = Call.objects.create(store=store, call_sid="CA" + "1" * 32, direction="outbound", staff=org["agent"], lead=lead)
    LiveEvent.objects.all().delete()
    calls.call_status_record(call_sid=call.call_sid, status="in-progress", params={"CallStatus": "in-progress"})
    event = LiveEvent.objects.get(topic=events.CALL)
    assert (event.staff_id, event.lead_id, event.data) == (
        org["agent"].pk, lead.pk, {"call": call.pk, "status": CallStatus.IN_PROGRESS})


def test_a_call_of_nobody_tells_nobody(store):
    from telephony.models import Call

    Call.objects.create(store=store, call_sid="CA" + "2" * 32, direction="inbound")
    assert not LiveEvent.objects.exists()
