"""Issue 13, point 4: lapsed coverage goes back to the pool (or the next in line).

The deadline is a column (LeadRouting.coverage_lapse_at, and lapse_warn_at for the owner's
warning) recomputed on every contact event from coverage's judgement, which distribution gets
through leads.coverage_port (coverage registers the judge; neither app imports the other). The
sweeper warns, then moves the lead, with the reason in its history; it judges again under the
lock, and running it twice does the work once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from dealcoverage.presets import preset
from dealcoverage.services import POLICY_FIELDS, policy_version_create
from distribution import sweeper
from distribution.models import LeadRouting, Notification, NotificationKind, RoutingState
from leads import coverage_port
from leads.events import contact_event_record
from leads.models import Channel, Direction, EvidenceLevel, Outcome
from org.models import Role
from tests.distribution.floor import MONDAY, at, floor, new_lead, rule
from tests.distribution.test_queue_pages import route

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

THURSDAY = MONDAY + dt.timedelta(days=3)
WEDNESDAY = MONDAY + dt.timedelta(days=2)


def internet_72h(store):
    params = {k: v for k, v in preset("internet-72h").to_dict().items() if k in POLICY_FIELDS}
    return policy_version_create(store=store, role=Role.INTERNET_AGENT, created_by=None,
                                 effective_from=at(9) - dt.timedelta(days=30), **params)


def call(lead, staff, when, *, connected=True):
    with time_machine.travel(when, tick=False):
        return contact_event_record(
            store=lead.store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=staff.pk, channel=Channel.CALL,
            direction=Direction.OUTBOUND, outcome=Outcome.CONNECTED if connected else Outcome.NO_ANSWER,
            evidence_level=EvidenceLevel.VERIFIED, talk_seconds=372 if connected else 0,
            answered_by_person=connected, call_sid="CA" + "c" * 32, occurred_at=when,
        )


@pytest.fixture
def setup(store):
    team, manager, people = floor(store, names=("ann", "bob"))
    internet_72h(store)
    for person in people.values():  # on shift every day, so the days of the week don't matter
        for weekday in (6,):
            person.shifts.create(weekday=weekday, starts=dt.time(9), ends=dt.time(18))
    return team, manager, people


def lapse_lead(store, team, people, **rule_fields):
    rule(store, team=team, **rule_fields)
    lead = route(new_lead(store, received_at=at(10)), at(10))
    assert lead.owner == people["ann"]
    call(lead, people["ann"], at(10, 12))
    return lead


def test_the_lapse_deadline_and_warning_are_columns_recomputed_on_contact(store, setup):
    team, manager, people = setup
    lead = lapse_lead(store, team, people, on_coverage_lapse="pool", lapse_warn_hours=24)
    routing = LeadRouting.objects.get(lead=lead)
    # 72 h after the two-way call; the end is covered, so the lapse is the second after it.
    assert routing.coverage_lapse_at == at(10, 12, 1, day=THURSDAY)
    assert routing.lapse_warn_at == at(10, 12, 1, day=WEDNESDAY)
    # An unanswered call does not extend an internet policy's coverage; a connected one does.
    call(lead, people["ann"], at(11, day=WEDNESDAY), connected=False)
    assert LeadRouting.objects.get(lead=lead).coverage_lapse_at == at(10, 12, 1, day=THURSDAY)
    call(lead, people["ann"], at(12, day=WEDNESDAY))
    routing = LeadRouting.objects.get(lead=lead)
    assert routing.coverage_lapse_at == at(12, 0, 1, day=WEDNESDAY) + dt.timedelta(hours=72)
    assert routing.lapse_warn_at == at(12, 0, 1, day=WEDNESDAY) + dt.timedelta(hours=48)


def test_the_owner_is_warned_once_then_the_lead_goes_back_to_the_pool(store, setup):
    team, manager, people = setup
    lead = lapse_lead(store, team, people, on_coverage_lapse="pool", lapse_warn_hours=24)
    assert sweeper.lapse_warnings_due(now=at(10, 11, day=WEDNESDAY)) == 0
    assert sweeper.lapse_warnings_due(now=at(10, 13, day=WEDNESDAY)) == 1
    assert sweeper.lapse_warnings_due(now=at(10, 14, day=WEDNESDAY)) == 0
    warning = Notification.objects.get(staff=people["ann"], kind=NotificationKind.COVERAGE)
    assert warning.lead == lead
    assert "ends Thu 10:12 AM under 'internet-72h' v1" in warning.text
    assert "or the lead goes back to the claim pool" in warning.text
    # Not yet.
    assert sweeper.coverage_lapses_due(now=at(10, 11, day=THURSDAY)) == 0
    lead.refresh_from_db()
    assert lead.owner == people["ann"]
    # The end of the window is inclusive (DESIGN.md): covered at exactly 10:12, lapsed after.
    assert sweeper.coverage_lapses_due(now=at(10, 12, day=THURSDAY)) == 0
    assert LeadRouting.objects.get(lead=lead).coverage_lapse_at == at(10, 12, 1, day=THURSDAY)
    assert sweeper.coverage_lapses_due(now=at(10, 13, day=THURSDAY)) == 1
    assert sweeper.coverage_lapses_due(now=at(10, 14, day=THURSDAY)) == 0  # once
    lead.refresh_from_db()
    routing = LeadRouting.objects.get(lead=lead)
    assert lead.owner is None and lead.in_claim_pool and routing.state == RoutingState.POOL
    assert routing.coverage_lapse_at is None and routing.lapse_warn_at is None
    moved = lead.assignments.last()
    assert moved.from_staff == people["ann"] and moved.to_staff is None
    assert moved.reason == "Coverage lapsed under 'internet-72h' v1: last two-way contact Mon 10:12 AM; back to the claim pool."
    told = Notification.objects.filter(staff=people["ann"], kind=NotificationKind.REASSIGNED).last()
    assert "was moved away from you: your coverage lapsed (last two-way contact Mon 10:12 AM)" in told.text


def test_next_in_line_on_lapse(store, setup):
    team, manager, people = setup
    lead = lapse_lead(store, team, people, on_coverage_lapse="next_in_line")
    assert sweeper.coverage_lapses_due(now=at(11, day=THURSDAY)) == 1
    lead.refresh_from_db()
    assert lead.owner == people["bob"]
    reason = lead.assignments.last().reason
    assert reason.startswith("Coverage lapsed under 'internet-72h' v1: last two-way contact Mon 10:12 AM; ")
    assert "Bob" in reason


def test_contact_made_since_moves_the_deadline_instead(store, setup):
    """A stale deadline (a lost recompute, a policy edited since) is judged again under the lock."""
    team, manager, people = setup
    lead = lapse_lead(store, team, people, on_coverage_lapse="pool")
    # The column says it lapsed Thursday, but the owner talked to the customer Wednesday.
    call(lead, people["ann"], at(12, day=WEDNESDAY))
    LeadRouting.objects.filter(lead=lead).update(coverage_lapse_at=at(10, 12, day=THURSDAY))
    assert sweeper.coverage_lapses_due(now=at(11, day=THURSDAY)) == 0
    lead.refresh_from_db()
    assert lead.owner == people["ann"]
    assert LeadRouting.objects.get(lead=lead).coverage_lapse_at == at(12, 0, 1, day=WEDNESDAY) + dt.timedelta(hours=72)


def test_keep_the_default_stores_no_deadline(store, setup):
    team, manager, people = setup
    lead = lapse_lead(store, team, people)
    assert LeadRouting.objects.get(lead=lead).coverage_lapse_at is None
    assert sweeper.coverage_lapses_due(now=at(11, day=THURSDAY + dt.timedelta(days=7))) == 0


def test_no_policy_for_the_role_means_nothing_lapses(store):
    team, manager, people = floor(store, names=("ann", "bob"))
    lead = lapse_lead(store, team, people, on_coverage_lapse="pool")
    assert LeadRouting.objects.get(lead=lead).coverage_lapse_at is None


def test_a_closed_lead_is_left_alone(store, setup):
    team, manager, people = setup
    lead = lapse_lead(store, team, people, on_coverage_lapse="pool")
    type(lead).objects.filter(pk=lead.pk).update(status="sold")
    assert sweeper.coverage_lapses_due(now=at(11, day=THURSDAY)) == 0
    lead.refresh_from_db()
    assert lead.owner == people["ann"]
    assert LeadRouting.objects.get(lead=lead).coverage_lapse_at is None


def test_the_port_is_coverages_judge_and_distribution_never_imports_coverage():
    import pathlib

    assert coverage_port._judge is not None and coverage_port._judge.__module__ == "dealcoverage.live"
    root = pathlib.Path(__file__).resolve().parents[2]
    for app, other in (("distribution", "dealcoverage"), ("dealcoverage", "distribution")):
        pattern = re.compile(rf"^\s*(from|import)\s+{other}\b", re.M)
        for path in (root / app).rglob("*.py"):
            assert not pattern.search(path.read_text()), path


def test_the_today_page_says_what_happens_at_the_lapse(store, setup):
    from today.views import coverage_for

    team, manager, people = setup
    lead = lapse_lead(store, team, people, on_coverage_lapse="pool")
    queue = coverage_for(people["ann"].user, people["ann"], listed=set(), now=at(12, day=WEDNESDAY))
    [row] = queue.coverage
    assert row.lead == lead and row.until == "Thu 10:12 AM"
    assert row.lapse == "then it goes back to the claim pool"


def test_the_warning_is_on_the_owners_bell(store, setup):
    from django.urls import reverse

    from tests.distribution.test_queue_pages import client_for, text

    team, manager, people = setup
    lapse_lead(store, team, people, on_coverage_lapse="next_in_line", lapse_warn_hours=6)
    assert LeadRouting.objects.get(lead__owner=people["ann"]).lapse_warn_at == at(4, 12, 1, day=THURSDAY)
    assert sweeper.lapse_warnings_due(now=at(4, 13, day=THURSDAY)) == 1
    client = client_for(people["ann"])
    bell = text(client.get(reverse("distribution_queue:bell")).content.decode())
    assert bell.strip() == "2"  # the new lead, and the coverage warning
    page = text(client.get(reverse("distribution_queue:notifications")).content.decode())
    assert "ends Thu 10:12 AM under 'internet-72h' v1: make two-way contact before then, or the lead goes to the next in line." in page


def test_the_rule_form_saves_the_lapse_setting(store, setup):
    from distribution.forms import RuleForm

    team, manager, people = setup
    made = rule(store, team=team, name="Internet")
    form = RuleForm(instance=made, store=store, data={
        "name": "Internet", "enabled": "on", "is_fallback": "", "strategy": "round_robin", "response_minutes": 20,
        "max_moves": 2, "pool_teams": [team.pk], "on_coverage_lapse": "pool", "lapse_warn_hours": 12,
    })
    assert form.is_valid(), form.errors
    assert (form.instance.on_coverage_lapse, form.instance.lapse_warn_hours) == ("pool", 12)
    # Left out (an older client): the defaults.
    form = RuleForm(instance=made, store=store, data={
        "name": "Internet", "enabled": "on", "strategy": "round_robin", "response_minutes": 20, "max_moves": 2,
        "pool_teams": [team.pk],
    })
    assert form.is_valid(), form.errors
    assert (form.instance.on_coverage_lapse, form.instance.lapse_warn_hours) == ("keep", 24)


def test_a_stale_warning_is_not_sent_when_coverage_was_extended(store, setup):
    team, manager, people = setup
    lead = lapse_lead(store, team, people, on_coverage_lapse="pool", lapse_warn_hours=24)
    call(lead, people["ann"], at(9, day=WEDNESDAY))
    LeadRouting.objects.filter(lead=lead).update(lapse_warn_at=at(10, 12, day=WEDNESDAY))  # left behind
    assert sweeper.lapse_warnings_due(now=at(10, 13, day=WEDNESDAY)) == 0
    assert not Notification.objects.filter(kind=NotificationKind.COVERAGE).exists()
    assert LeadRouting.objects.get(lead=lead).lapse_warn_at == at(9, 0, 1, day=WEDNESDAY) + dt.timedelta(hours=48)
