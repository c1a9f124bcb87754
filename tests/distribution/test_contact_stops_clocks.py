"""Issue 13, point 3: contact stops the clocks.

Once a lead's customer has had a two-way contact or a visit since the lead arrived (or the lead
was typed by the salesperson who met the customer), the lead is never a breach and is never
moved on by the response timer. The badge on the lead page and the manager queue's Breaches
share one definition (distribution.models.is_breach / breach_q). The lead page's clock counts
business minutes and states the limit that set its deadline."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.urls import reverse
from factories import StaffFactory

from distribution import services, sweeper
from distribution.models import LeadRouting, RoutingState, breach_q, is_breach
from leads.events import contact_event_record
from leads.models import Channel, Direction, EvidenceLevel, IntakeChannel, Outcome, SourceType
from leads.services import LeadData, lead_create
from org.models import Role
from tests.distribution.floor import MONDAY, at, floor, new_lead, rule
from tests.distribution.test_queue_pages import client_for, page, route, text

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

SATURDAY = MONDAY - dt.timedelta(days=2)
SUNDAY = MONDAY - dt.timedelta(days=1)


def visit(lead, staff, when):
    """The customer checked in at the desk / met a salesperson: a visit is two-way."""
    return contact_event_record(
        store=lead.store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=staff.pk, channel=Channel.VISIT,
        direction=Direction.INBOUND, outcome=Outcome.VISITED, evidence_level=EvidenceLevel.SELF_REPORTED,
        occurred_at=when,
    )


def connected_call(lead, staff, when, seconds=372):
    return contact_event_record(
        store=lead.store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=staff.pk, channel=Channel.CALL,
        direction=Direction.OUTBOUND, outcome=Outcome.CONNECTED, evidence_level=EvidenceLevel.VERIFIED,
        talk_seconds=seconds, answered_by_person=True, call_sid="CA" + "b" * 32, occurred_at=when,
    )


def queue_text(manager) -> str:
    return text(client_for(manager).get(reverse("distribution_queue:queue")).content.decode())


# --- the response timer ----------------------------------------------------------------------------


def test_a_visit_after_arrival_stops_the_reassignment_clock(store):
    """The trial's case: the customer came in (checked in at the desk) before the owner's first
    attempt; the timer used to move the lead away from the salesperson who met them."""
    team, manager, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    assert lead.owner == people["ann"]
    with time_machine.travel(at(10, 8), tick=False):
        visit(lead, people["ann"], at(10, 8))
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.first_two_way_at == at(10, 8)
    assert (routing.response_due_at, routing.warn_at) == (None, None)
    assert sweeper.warnings_due(now=at(10, 16)) == 0
    assert sweeper.responses_due(now=at(10, 30)) == 0
    lead.refresh_from_db()
    assert lead.owner == people["ann"] and lead.assignments.count() == 1


def test_contact_by_someone_else_also_stops_the_owners_clock(store):
    """A connected call the receptionist put through to another salesperson: the customer was
    talked to, so the owner is not moved on by the timer (the manager decides, not the timer)."""
    team, manager, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    connected_call(lead, people["bob"], at(10, 5))
    assert LeadRouting.objects.get(lead=lead).response_due_at is None
    assert sweeper.responses_due(now=at(10, 30)) == 0


def test_the_sweeper_rechecks_contact_under_the_lock(store):
    """A deadline left behind (written before the contact was stamped) is cleared, not acted on."""
    team, manager, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    LeadRouting.objects.filter(lead=lead).update(first_two_way_at=at(10, 3))  # as a racing event would
    assert sweeper.responses_due(now=at(10, 30)) == 0
    lead.refresh_from_db()
    assert lead.owner == people["ann"]
    assert LeadRouting.objects.get(lead=lead).response_due_at is None


def test_a_lead_whose_customer_was_already_talked_to_gets_no_timer_when_routed(store):
    team, manager, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = new_lead(store, received_at=at(10))
    connected_call(lead, people["bob"], at(10, 1))  # the customer called back before routing ran
    lead = route(lead, at(10, 2))
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.first_two_way_at == at(10, 1)
    assert routing.response_due_at is None
    assert not is_breach(routing, at(12))


# --- walk-ins and phone-ups typed by the salesperson who met the customer ---------------------------


@pytest.mark.parametrize("source", [SourceType.WALK_IN, SourceType.PHONE_UP])
def test_a_lead_typed_by_the_salesperson_who_met_the_customer_is_theirs_and_never_a_breach(store, source):
    team, manager, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    data = LeadData(source_type=source, intake_channel=IntakeChannel.MANUAL, first_name="Wally", last_name="Walker",
                    phones=[("+13125550188", "mobile")], received_at=at(10))
    with time_machine.travel(at(10), tick=False):
        lead = lead_create(store=store, data=data, created_by=people["bob"], owner=people["bob"]).lead
    lead.refresh_from_db()
    assert lead.owner == people["bob"] and lead.routed_at is not None
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.state == RoutingState.ASSIGNED and routing.response_due_at is None
    assert routing.first_two_way_at == at(10)  # meeting the customer is the lead's two-way contact
    assert [a.reason for a in lead.assignments.all()] == ["Entered by its owner."]
    with time_machine.travel(at(11), tick=False):
        assert not LeadRouting.objects.get(lead=lead).breached
        assert f"q-{lead.pk}" not in client_for(manager).get(reverse("distribution_queue:queue")).content.decode()
        body = text(page(people["bob"], lead)[1])
    assert "Breach" not in body
    assert "Stopped: the customer has had two-way contact" in body
    assert sweeper.responses_due(now=at(11)) == 0


# --- one definition of a breach -----------------------------------------------------------------


def test_the_badge_and_the_queue_agree_on_every_combination(store):
    team, manager, people = floor(store, names=("ann",))
    rule(store, team=team)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    base = LeadRouting.objects.filter(lead=lead)
    moments = [None, at(10, 10), at(10, 20), at(10, 30)]
    checked = 0
    for breach_at, attempt, two_way, now in itertools.product(
        [None, at(10, 20)], moments, moments, [at(10, 15), at(10, 20), at(10, 45)]
    ):
        base.update(breach_at=breach_at, first_attempt_at=attempt, first_two_way_at=two_way)
        routing = base.get()
        in_queue = base.filter(breach_q(now)).exists()
        assert is_breach(routing, now) == in_queue, (breach_at, attempt, two_way, now)
        with time_machine.travel(now, tick=False):
            assert routing.breached == in_queue
        if two_way is not None:
            assert not in_queue  # contact: never a breach
        checked += 1
    assert checked == 96


@time_machine.travel(at(10, 45), tick=False)
def test_the_manager_queue_leaves_out_a_customer_who_was_met(store):
    team, manager, people = floor(store, names=("ann",))
    rule(store, team=team)
    met = route(new_lead(store, received_at=at(10)), at(10))
    ignored = route(new_lead(store, received_at=at(10)), at(10))
    visit(met, people["ann"], at(10, 30))  # shown after the limit: no first attempt, but met
    body = client_for(manager).get(reverse("distribution_queue:queue")).content.decode()
    assert f'id="q-{ignored.pk}"' in body and f'id="q-{met.pk}"' not in body
    assert not LeadRouting.objects.get(lead=met).breached
    assert LeadRouting.objects.get(lead=ignored).breached


@time_machine.travel(at(10, 45), tick=False)
def test_a_late_first_attempt_is_a_breach_on_the_badge_and_the_queue_alike(store):
    team, manager, people = floor(store, names=("ann",))
    rule(store, team=team)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    LeadRouting.objects.filter(lead=lead).update(first_attempt_at=at(10, 32))
    assert LeadRouting.objects.get(lead=lead).breached
    body = queue_text(manager)
    assert "12 business min late" in body
    assert "Breach: first attempt after" in text(page(people["ann"], lead)[1])


# --- the lead page's clock ---------------------------------------------------------------------


def test_the_lead_page_clock_counts_business_minutes_on_a_closed_sunday_night(store):
    """Saturday 5:55 PM a web lead arrives, the store closes at 6 and is shut on Sunday. At 11 PM
    on Sunday the page used to say the reassignment was ~10 hours away in wall time beside a
    limit stated in business minutes; it says 5 of 6 used (the rule's limit is the lead's one
    limit), and that the clock is stopped."""
    team, manager, people = floor(store, names=("ann", "bob"))
    for person in people.values():  # on shift through the weekend so routing happens at 5:55 PM
        person.shifts.update(ends=dt.time(23))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=6)
    lead = route(new_lead(store, received_at=at(17, 55, day=SATURDAY)), at(17, 55, day=SATURDAY))
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.breach_at == at(9, 1, day=MONDAY)  # the rule's 6: 5 minutes Saturday, 1 Monday morning
    assert routing.response_due_at == at(9, 1, day=MONDAY)  # the rule's 6: 5 Saturday, 1 Monday
    with time_machine.travel(at(23, 0, day=SUNDAY), tick=False):
        status, html = page(people["ann"], lead)
        times = services.response_times(lead, routing)
    body = text(html)
    assert status == 200
    assert times.waited_business_minutes == 5 and times.limit_minutes == 6
    assert times.reassign_limit_minutes == 6 and times.reassign_left_minutes == 1
    assert "5 of 6 business minutes used" in body
    assert "The store is closed: the clock is stopped until Mon Nov 23, 9:00 AM" in body
    assert "it moves to the next in line after 1 business min (limit 6; at Mon Nov 23, 9:01 AM)" in body
    assert "it moves on after 1 business min (store closed)" in body
    # No live wall-clock countdown while the store is closed (it would count the night).
    assert "data-deadline=" not in html
    assert "hours" not in body.split("Response time", 1)[1].split("Assignment history", 1)[0]


def test_the_stated_limit_is_the_one_that_set_the_deadline(store):
    """The store's limit was changed from 20 to 6: a lead that arrives after the change is
    judged, and labelled, by 6; the header does not keep saying 20."""
    team, manager, people = floor(store, names=("ann",))
    rule(store, team=team)
    store.response_limit_minutes = 6
    store.save(update_fields=["response_limit_minutes"])
    lead = route(new_lead(store, received_at=at(10)), at(10))
    with time_machine.travel(at(10, 7), tick=False):
        body = text(page(people["ann"], lead)[1])
    assert "Breach: no first attempt within 6 business minutes" in body
    assert "20" not in body.split("Response time", 1)[1].split("Assignment history", 1)[0]
    with time_machine.travel(at(10, 3), tick=False):
        body = text(page(people["ann"], lead)[1])
    assert "3 of 6 business minutes used" in body



def test_a_lead_handed_from_the_board_starts_its_owners_clock_when_handed(store):
    """From a trial: a board lead that waited from Saturday evening was "1 d 8 h past the limit"
    for the salesperson the receptionist handed it to on Monday, and a breach on the queue in
    their name."""
    team, manager, people = floor(store, names=("ann",))
    desk = StaffFactory(store=store, role=Role.RECEPTIONIST)
    rule(store, team=team, strategy="receptionist")
    lead = route(new_lead(store, received_at=at(17, 10, day=SATURDAY)), at(17, 10, day=SATURDAY))
    assert LeadRouting.objects.get(lead=lead).breach_at is None  # on the board: nobody's clock yet
    with time_machine.travel(at(9, 30, day=MONDAY), tick=False):
        services.lead_hand(lead=lead, to_staff=people["ann"], by=desk)
        routing = LeadRouting.objects.get(lead=lead)
        assert routing.clock_started_at == at(9, 30, day=MONDAY)
        assert routing.breach_at == at(9, 50, day=MONDAY) and not routing.breached
        assert "Breach" not in text(page(people["ann"], lead)[1])
