"""Routing a lead by the store's rules, with the explanation kept in the history."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from factories import ContactEventFactory, StaffFactory

from distribution import pools, services, sweeper
from distribution.models import LeadRouting, Notification, RoutingState
from leads.models import Channel, Direction, EvidenceLevel, LeadAssignment, LeadStatus, Outcome
from org.models import Role, TimeOff
from tests.distribution.floor import MONDAY, agent, at, floor, new_lead, rule

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def route(lead, when):
    assert services.lead_route(lead_id=lead.pk, now=when)
    lead.refresh_from_db()
    return lead


def test_pool_members_are_the_pool_with_their_schedules_time_off_and_open_new_leads(store, other_store):
    """pools.members (one SQL query on every routing) against the ORM's pool_staff and the rows."""
    from factories import LeadFactory, ShiftFactory, TeamFactory

    team, manager, people = floor(store, names=("ann", "bob", "cat"))
    people["cat"].is_active = False
    people["cat"].save()
    other_team = TeamFactory(store=store, name="Retail")
    named = agent(store, other_team, "ned")
    ShiftFactory(staff=named, weekday=6, starts=dt.time(22), ends=dt.time(2))  # overnight
    fleet = StaffFactory(store=store, role=Role.FLEET, user__username="fay", user__first_name="", user__last_name="")
    StaffFactory(store=other_store, role=Role.FLEET, user__username="far")  # the role, but another store
    StaffFactory(store=store, team=other_team, role=Role.INTERNET_AGENT, user__username="out")  # not in the pool
    TimeOff.objects.create(staff=people["bob"], first_day=MONDAY, last_day=MONDAY + dt.timedelta(days=3))
    TimeOff.objects.create(staff=people["bob"], first_day=MONDAY + dt.timedelta(days=9), last_day=MONDAY + dt.timedelta(days=9))
    for status in (LeadStatus.NEW, LeadStatus.NEW, LeadStatus.CONTACTED):
        LeadFactory(store=store, owner=people["ann"], status=status)
    original = LeadFactory(store=store, owner=people["bob"])
    LeadFactory(store=store, owner=people["bob"], customer=original.customer, duplicate_of=original)
    the_rule = rule(store, team=team, staff=[named], pool_role=Role.FLEET)

    found = pools.members(the_rule, now=at(10))

    expected = list(pools.pool_staff(the_rule).order_by("pk"))
    assert [m.staff_id for m in found] == [s.pk for s in expected]
    assert {s.user.username for s in expected} == {"ann", "bob", "ned", "fay"}  # the manager is no salesperson
    by_name = {m.name: m for m in found}
    assert set(by_name) == {"Ann Agent", "Bob Agent", "Ned Agent", "fay"}
    assert by_name["Ann Agent"].open_new == 2 and by_name["Bob Agent"].open_new == 1
    assert by_name["Ann Agent"].shifts == [(d, dt.time(9), dt.time(18)) for d in range(6)]
    assert by_name["Ned Agent"].shifts[-1] == (6, dt.time(22), dt.time(2))
    assert by_name["Bob Agent"].time_off == [(MONDAY, MONDAY + dt.timedelta(days=3))]  # not the one next week
    assert by_name["fay"].shifts == [] and by_name["fay"].time_off == [] and by_name["fay"].open_new == 0
    assert all(m.active and m.available and m.weight == 1 for m in found)
    assert manager.pk not in {m.staff_id for m in found} and fleet.pk in {m.staff_id for m in found}


def test_round_robin_takes_turns_and_explains_who_was_skipped(store):
    team, _, people = floor(store)
    TimeOff.objects.create(staff=people["bob"], first_day=MONDAY, last_day=MONDAY)
    people["cat"].available = False
    people["cat"].save()
    rule(store, team=team)
    owners = [route(new_lead(store), at(10)).owner.user.username for _ in range(4)]
    assert owners == ["ann", "dan", "ann", "dan"]
    last = LeadAssignment.objects.order_by("-id").first()
    assert last.rule_name == "Everything" and last.strategy == "round_robin"
    assert {s["name"].split()[0]: s["reason"] for s in last.skipped} == {"Bob": "time off", "Cat": "unavailable"}
    assert "Next in line: Dan Agent" in last.reason


def test_nobody_off_shift_or_on_a_day_off_gets_a_lead(store):
    team, _, people = floor(store)
    people["ann"].shifts.update(starts=dt.time(12))  # starts at noon
    people["bob"].shifts.filter(weekday=0).delete()  # Monday off
    rule(store, team=team)
    lead = route(new_lead(store), at(10))
    assert lead.owner.user.username == "cat"
    reasons = {s["name"].split()[0]: s["reason"] for s in lead.assignments.last().skipped}
    assert reasons == {"Ann": "off shift", "Bob": "day off"}


def test_cap_of_open_new_leads_skips_the_busy(store):
    team, _, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, open_new_cap=1)
    first = route(new_lead(store), at(10))
    second = route(new_lead(store), at(10))
    assert {first.owner_id, second.owner_id} == {people["ann"].pk, people["bob"].pk}
    third = route(new_lead(store), at(10))
    assert third.owner is None and third.routing.state == RoutingState.WAITING
    assert third.routing_due_at == at(10, 5)
    assert "at cap (1 open new leads)" in {s["reason"] for s in third.assignments.last().skipped}
    # Ann works her lead: she is below her cap again, and the retry gives it to her.
    first.status = LeadStatus.CONTACTED
    first.save()
    assert sweeper.route_due(now=at(10, 5)) == 1
    third.refresh_from_db()
    assert third.owner_id == first.owner_id


def test_weighted_round_robin_gives_twice_to_weight_two(store):
    team, _, people = floor(store, names=("ann", "bob"))
    people["ann"].lead_weight = 2
    people["ann"].save()
    rule(store, team=team, weighted=True)
    owners = [route(new_lead(store), at(10)).owner.user.username for _ in range(6)]
    assert owners.count("ann") == 4 and owners.count("bob") == 2


def test_rules_match_in_order_and_the_fallback_catches_the_rest(store):
    team, _, people = floor(store)
    rule(store, name="Used Hondas", staff=[people["dan"]], condition="used", make="honda", position=1)
    rule(store, name="Stock T123", staff=[people["cat"]], stock_numbers="t123, T999", position=2)
    rule(store, name="Trade-ins", staff=[people["bob"]], lead_kind="trade-in", position=3)
    rule(store, name="Fallback", staff=[people["ann"]], is_fallback=True)
    assert route(new_lead(store, condition="used", make="Honda"), at(10)).owner == people["dan"]
    assert route(new_lead(store, condition="new", make="Honda", stock="T999"), at(10)).owner == people["cat"]
    assert route(new_lead(store, interest="trade-in"), at(10)).owner == people["bob"]
    other = route(new_lead(store, condition="new", make="Toyota"), at(10))
    assert other.owner == people["ann"]
    assert "fallback rule “Fallback”" in other.assignments.last().reason


def test_a_lead_no_rule_matches_is_kept_on_the_manager_queue_with_a_warning(store):
    team, manager, people = floor(store)
    rule(store, name="Used only", team=team, condition="used")
    lead = route(new_lead(store, condition="new"), at(10))
    assert lead.owner is None and lead.routed_at is not None
    assert lead.routing.state == RoutingState.MANAGER
    assert "No routing rule matched" in lead.routing.warning
    assert Notification.objects.filter(staff=manager, lead=lead, kind="manager").exists()


def test_routing_twice_is_a_no_op(store):
    team, _, _ = floor(store)
    rule(store, team=team)
    lead = route(new_lead(store), at(10))
    assert services.lead_route(lead_id=lead.pk, now=at(10)) is False
    assert lead.assignments.count() == 1


def test_after_hours_a_lead_waits_for_the_first_shift_and_its_clock_starts_then(store):
    team, _, people = floor(store, names=("ann",))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = new_lead(store, received_at=at(21))
    assert services.lead_route(lead_id=lead.pk, now=at(21))
    lead.refresh_from_db()
    assert lead.owner is None and lead.routed_at is None and lead.routing.state == RoutingState.WAITING
    assert lead.routing_due_at == at(9, day=MONDAY + dt.timedelta(days=1))
    # The sweeper picks it up when the shift starts; the clock runs from then, in business minutes.
    assert sweeper.route_due(now=at(9, 1, day=MONDAY + dt.timedelta(days=1))) == 1
    lead.refresh_from_db()
    routing = LeadRouting.objects.get(lead=lead)
    assert lead.owner == people["ann"]
    assert routing.clock_started_at == at(9, 1, day=MONDAY + dt.timedelta(days=1))
    assert routing.response_due_at == at(9, 21, day=MONDAY + dt.timedelta(days=1))
    assert lead.assignments.count() == 2  # waiting, then assigned: the retry wrote nothing twice


def test_after_hours_person_named_by_the_rule_gets_it(store):
    team, _, people = floor(store, names=("ann",))
    night = StaffFactory(store=store, role=Role.INTERNET_AGENT, user__first_name="Nia", user__last_name="Night")
    rule(store, team=team, after_hours_staff=night)
    lead = route(new_lead(store, received_at=at(21)), at(21))
    assert lead.owner == night
    assert "after-hours person, Nia Night" in lead.assignments.last().reason


def test_reassignment_moves_after_the_deadline_then_goes_to_the_manager(store):
    team, manager, people = floor(store, names=("ann", "bob", "cat"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20, max_moves=1)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    assert lead.owner == people["ann"]
    routing = LeadRouting.objects.get(lead=lead)
    assert (routing.warn_at, routing.response_due_at) == (at(10, 15), at(10, 20))
    # Warned once at 15 minutes.
    assert sweeper.warnings_due(now=at(10, 15)) == 1
    assert sweeper.warnings_due(now=at(10, 16)) == 0
    assert Notification.objects.filter(staff=people["ann"], kind="warning").count() == 1
    # Not yet due.
    assert sweeper.responses_due(now=at(10, 19)) == 0
    assert sweeper.responses_due(now=at(10, 20)) == 1
    lead.refresh_from_db()
    assert lead.owner == people["bob"]
    moved = lead.assignments.last()
    assert moved.from_staff == people["ann"] and "made no first attempt within 20 business minutes" in moved.reason
    # Running the sweeper again does nothing more.
    assert sweeper.responses_due(now=at(10, 21)) == 0
    # Bob does not call either: after one move it goes to the manager.
    assert sweeper.responses_due(now=at(10, 40)) == 1
    lead.refresh_from_db()
    assert lead.owner is None and lead.routing.state == RoutingState.MANAGER
    assert Notification.objects.filter(staff=manager, lead=lead, kind="manager").exists()
    assert [a.to_staff_id for a in lead.assignments.all()] == [people["ann"].pk, people["bob"].pk, None]


def test_a_first_attempt_stops_the_clock(store):
    team, _, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    ContactEventFactory(
        store=store, customer=lead.customer, lead=lead, staff=people["ann"], channel=Channel.CALL,
        direction=Direction.OUTBOUND, outcome=Outcome.NO_ANSWER, evidence_level=EvidenceLevel.VERIFIED,
        occurred_at=at(10, 7),
    )
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.response_due_at is None and routing.first_attempt_at == at(10, 7)
    assert sweeper.responses_due(now=at(11)) == 0
    lead.refresh_from_db()
    assert lead.owner == people["ann"]
    times = services.response_times(lead, routing)
    assert times.first_attempt == dt.timedelta(minutes=7) and times.breach is False


def test_the_response_clock_pauses_overnight(store):
    team, _, people = floor(store, names=("ann",))
    people["ann"].shifts.update(ends=dt.time(20))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = route(new_lead(store, received_at=at(19, 50)), at(19, 50))
    routing = LeadRouting.objects.get(lead=lead)
    # 10 minutes before closing at 20:00, 10 more after opening at 9:00 the next day.
    assert routing.response_due_at == at(9, 10, day=MONDAY + dt.timedelta(days=1))
    assert routing.breach_at == at(9, 10, day=MONDAY + dt.timedelta(days=1))


def test_claim_pool_falls_back_to_round_robin_after_its_limit(store):
    team, _, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="claim_pool", claim_minutes=10)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    assert lead.in_claim_pool and lead.owner is None
    assert sweeper.claims_due(now=at(10, 9)) == 0
    assert sweeper.claims_due(now=at(10, 10)) == 1
    lead.refresh_from_db()
    assert lead.owner == people["ann"] and not lead.in_claim_pool
    assert "Nobody claimed it within 10 business minutes" in lead.assignments.last().reason


def test_claim_checks_the_pool_and_stops_the_claim_timer(store):
    from distribution.services import lead_claim

    team, _, people = floor(store, names=("ann",))
    outsider = StaffFactory(store=store, role=Role.RETAIL)
    rule(store, team=team, strategy="claim_pool", claim_minutes=10)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    with pytest.raises(ValidationError, match="not in this lead's pool"):
        lead_claim(lead=lead, staff=outsider)
    lead_claim(lead=lead, staff=people["ann"])
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.claim_due_at is None and routing.state == RoutingState.ASSIGNED


def test_board_hands_once_however_often_she_clicks(store):
    team, _, people = floor(store, names=("ann", "bob"))
    receptionist = StaffFactory(store=store, role=Role.RECEPTIONIST)
    rule(store, team=team, strategy="receptionist")
    lead = route(new_lead(store), at(10))
    assert lead.routing.state == RoutingState.BOARD
    assert Notification.objects.filter(staff=receptionist, lead=lead, kind="board").exists()
    services.lead_hand(lead=lead, to_staff=people["bob"], by=receptionist)
    with pytest.raises(services.AlreadyHanded, match="Bob Agent already has this lead"):
        services.lead_hand(lead=lead, to_staff=people["ann"], by=receptionist)
    lead.refresh_from_db()
    assert lead.owner == people["bob"]
    assert lead.assignments.filter(to_staff__isnull=False).count() == 1
    assert Notification.objects.filter(staff=people["bob"], lead=lead, kind="new_lead").count() == 1


def test_assigning_outside_the_pool_or_store_is_refused(store, other_store):
    team, _, people = floor(store, names=("ann",))
    rule(store, team=team, strategy="manager")
    lead = route(new_lead(store), at(10))
    stranger = StaffFactory(store=other_store)
    outsider = StaffFactory(store=store, role=Role.RETAIL)
    with pytest.raises(ValidationError, match="not staff of this lead's store"):
        services.lead_reassign(lead=lead, to_staff=stranger, by=None)
    with pytest.raises(ValidationError, match="not in this lead's pool"):
        services.lead_reassign(lead=lead, to_staff=outsider, by=None)
    services.lead_reassign(lead=lead, to_staff=people["ann"], by=None)
    lead.refresh_from_db()
    assert lead.owner == people["ann"]


# The services read the clock: pinned inside the shift, so the test passes at any hour.
@time_machine.travel(at(10, 5), tick=False)
def test_release_sends_the_lead_to_the_next_in_line(store):
    team, _, people = floor(store, names=("ann", "bob"))
    rule(store, team=team)
    lead = route(new_lead(store), at(10))
    assert lead.owner == people["ann"]
    services.lead_release(lead=lead, by=people["ann"])
    lead.refresh_from_db()
    assert lead.owner == people["bob"]
    assert lead.assignments.last().reason.startswith("Released by Ann Agent.")


def test_rule_with_an_empty_pool_or_no_strategy_is_refused(store):
    team, _, _ = floor(store, names=("ann",))
    with pytest.raises(ValidationError) as empty:
        rule(store)
    assert "The pool is empty" in str(empty.value)
    with pytest.raises(ValidationError) as nobody:
        rule(store, role=Role.FLEET, pool_role=Role.FLEET)
    assert "nobody in it" in str(nobody.value)
    with pytest.raises(ValidationError) as no_strategy:
        rule(store, team=team, strategy="")
    assert "Choose how this rule hands out leads" in str(no_strategy.value)


def test_two_way_contact_is_stamped(store):
    team, _, people = floor(store, names=("ann",))
    rule(store, team=team)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    ContactEventFactory(store=store, customer=lead.customer, lead=lead, staff=people["ann"], channel=Channel.TEXT,
                        direction=Direction.INBOUND, outcome=Outcome.REPLY, evidence_level=EvidenceLevel.VERIFIED,
                        occurred_at=at(10, 30))
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.first_two_way_at == at(10, 30) and routing.first_attempt_at is None
    assert lead.status == LeadStatus.NEW


def test_a_lead_without_an_attempt_within_the_store_limit_is_a_breach(store):
    team, _, people = floor(store, names=("ann",))
    rule(store, team=team)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.breach_at == at(10, 20)
    ContactEventFactory(store=store, customer=lead.customer, lead=lead, staff=people["ann"], channel=Channel.EMAIL,
                        direction=Direction.OUTBOUND, outcome=Outcome.SENT, evidence_level=EvidenceLevel.VERIFIED,
                        occurred_at=at(10, 25))
    routing.refresh_from_db()
    assert routing.breached is True
    assert services.response_times(lead, routing).first_attempt_business_minutes == 25.0


def test_preview_says_where_a_sample_lead_would_go_and_writes_nothing(store):
    team, _, people = floor(store, names=("ann", "bob"))
    people["bob"].shifts.update(starts=dt.time(12))
    rule(store, name="Used", team=team, condition="used")
    preview = services.rule_preview(store=store, facts=pools.LeadFacts(condition="used"), at=at(10))
    assert preview.rule.name == "Used" and "condition is used" in preview.why
    assert preview.decision.owner_id == people["ann"].pk
    assert preview.decision.skipped == [{"staff": people["bob"].pk, "name": "Bob Agent", "reason": "off shift"}]
    assert preview.upcoming == ["Ann Agent"] * 5
    assert not LeadAssignment.objects.exists()
    nothing = services.rule_preview(store=store, facts=pools.LeadFacts(condition="new"), at=at(10))
    assert nothing.rule is None and "manager queue" in nothing.decision.reason


# The services read the clock: pinned inside the shift, so the test passes at any hour.
@time_machine.travel(at(10, 5), tick=False)
def test_a_returning_customer_goes_to_the_owner_who_is_told_at_once(store):
    from leads.models import IntakeChannel, SourceType
    from leads.services import LeadData, lead_create

    team, _, people = floor(store, names=("ann", "bob"))
    rule(store, team=team)
    data = LeadData(source_type=SourceType.THIRD_PARTY, intake_channel=IntakeChannel.API, first_name="Tyler",
                    last_name="Reed", phones=[("+13125550199", "mobile")], provider="CarGurus", provider_lead_id="A1")
    first = lead_create(store=store, data=data).lead
    assert services.lead_route(lead_id=first.pk)
    first.refresh_from_db()
    again = lead_create(store=store, data=LeadData(**{**data.__dict__, "provider": "Phone", "provider_lead_id": "",
                                                      "source_type": SourceType.PHONE_UP})).lead
    assert again.duplicate_of_id == first.pk and again.owner_id == first.owner_id and again.routed_at is None
    assert services.lead_route(lead_id=again.pk)
    routing = LeadRouting.objects.get(lead=again)
    assert routing.state == RoutingState.ASSIGNED and routing.breach_at is not None
    note = Notification.objects.filter(lead=again, staff=first.owner).get()
    assert note.text.startswith("Your customer is back: Tyler Reed (Phone-up, Phone)")


def test_everyone_in_the_pool_on_shift_hears_of_a_claim_pool_lead(store):
    team, _, people = floor(store, names=("ann", "bob", "cat"))
    people["cat"].available = False
    people["cat"].save()
    rule(store, team=team, strategy="claim_pool")
    lead = route(new_lead(store), at(10))
    told = set(Notification.objects.filter(lead=lead).values_list("staff__user__username", flat=True))
    assert told == {"ann", "bob"}


def test_a_managers_named_pick_is_not_moved_on_by_the_timer(store):
    team, _, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="round_robin_reassign", response_minutes=20, max_moves=1)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    services.lead_reassign(lead=lead, to_staff=people["bob"], by=None)
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.response_due_at is None and routing.breach_at == at(10, 20)
    assert sweeper.responses_due(now=at(12)) == 0
    lead.refresh_from_db()
    assert lead.owner == people["bob"]


# The services read the clock: pinned inside the shift, so the test passes at any hour.
@time_machine.travel(at(10, 5), tick=False)
def test_releasing_a_claim_pool_lead_sends_it_to_the_next_in_line_not_back_to_the_pool(store):
    from distribution.services import lead_claim

    team, _, people = floor(store, names=("ann", "bob"))
    rule(store, team=team, strategy="claim_pool", claim_minutes=10)
    lead = route(new_lead(store), at(10))
    lead_claim(lead=lead, staff=people["ann"])
    services.lead_release(lead=lead, by=people["ann"])
    lead.refresh_from_db()
    assert lead.owner == people["bob"] and not lead.in_claim_pool


def test_the_board_notices_are_done_once_the_lead_is_handed(store):
    team, _, people = floor(store, names=("ann",))
    desk = StaffFactory(store=store, role=Role.RECEPTIONIST)
    rule(store, team=team, strategy="receptionist")
    lead = route(new_lead(store), at(10))
    assert Notification.objects.filter(staff=desk, read_at__isnull=True).count() == 1
    services.lead_hand(lead=lead, to_staff=people["ann"], by=desk)
    assert Notification.objects.filter(staff=desk, read_at__isnull=True).count() == 0
