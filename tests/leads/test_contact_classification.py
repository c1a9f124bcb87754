"""One classification of a contact event (leads.contact), and everything that reads it agrees.

The pure function, the generated columns PostgreSQL stores when the event is written, the SQL
filters the metrics and response clocks use, and the coverage engine must give one answer for
every combination of channel, direction, outcome, evidence, talk time and answered-by."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import LeadFactory, StaffFactory, StoreFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealcoverage import engine
from leads import contact
from leads.events import contact_event_record
from leads.models import ContactEvent, EvidenceLevel, Outcome
from org.models import Role
from telephony import metrics

pytestmark = pytest.mark.clock

CHANNELS = ["call", "text", "email", "visit", "note"]
DIRECTIONS = ["outbound", "inbound", ""]
OUTCOMES = [choice for choice, _ in Outcome.choices]
EVIDENCE = [choice for choice, _ in EvidenceLevel.choices]
TALK = st.one_of(st.none(), st.integers(min_value=0, max_value=600), st.sampled_from([29, 30, 31, 44, 45, 46]))
EXAMPLES = 400

event_fields = st.fixed_dictionaries({
    "channel": st.sampled_from(CHANNELS),
    "direction": st.sampled_from(DIRECTIONS),
    "outcome": st.sampled_from(OUTCOMES),
    "evidence_level": st.sampled_from(EVIDENCE),
    "talk_seconds": TALK,
    "answered_by_person": st.sampled_from([None, True, False]),
    "with_staff": st.booleans(),
    "min_talk_seconds": st.sampled_from([0, 30, 45, 120]),
})


@pytest.fixture
def world(db):
    """One store per minimum talk time, shared by the examples (they run in the test's transaction)."""
    stores = {}
    for minimum in (0, 30, 45, 120):
        store = StoreFactory(min_talk_seconds=minimum)
        staff = StaffFactory(store=store, role=Role.INTERNET_AGENT)
        stores[minimum] = (store, staff, LeadFactory(store=store, owner=staff))
    return stores


@pytest.mark.django_db
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=event_fields)
def test_stored_columns_sql_filters_pure_function_and_engine_agree(world, fields):
    store, staff, lead = world[fields["min_talk_seconds"]]
    event = contact_event_record(
        store=store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=staff.pk if fields["with_staff"] else None,
        channel=fields["channel"], direction=fields["direction"], outcome=fields["outcome"],
        evidence_level=fields["evidence_level"], talk_seconds=fields["talk_seconds"],
        answered_by_person=fields["answered_by_person"], occurred_at=dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC),
    )
    expected = contact.classify(
        channel=fields["channel"], direction=fields["direction"], outcome=fields["outcome"],
        evidence_level=fields["evidence_level"], talk_seconds=fields["talk_seconds"],
        answered_by_person=fields["answered_by_person"], has_staff=fields["with_staff"],
        min_talk_seconds=store.min_talk_seconds,
    )
    # What the write path read back from PostgreSQL, and what a fresh read says.
    stored = ContactEvent.objects.values_list("is_attempt", "is_two_way").get(pk=event.pk)
    assert (event.is_attempt, event.is_two_way) == expected == stored
    # The SQL filters every aggregate uses.
    here = ContactEvent.objects.filter(pk=event.pk)
    assert here.filter(metrics.TWO_WAY).exists() is expected.two_way
    assert here.filter(is_attempt=True).exists() is expected.attempt
    # The coverage engine, from the stored row and from the bare fields (the stateless judge).
    as_stored = engine.Event(
        id=event.pk, staff_id=staff.pk, channel=event.channel, direction=event.direction, outcome=event.outcome,
        occurred_at=event.occurred_at, evidence_level=event.evidence_level, talk_seconds=event.talk_seconds,
        answered_by_person=event.answered_by_person, two_way=event.is_two_way,
    )
    bare = engine.Event(**{**as_stored.__dict__, "two_way": None})
    assert engine.is_two_way(as_stored, 9999) is expected.two_way  # the stored answer wins over any minimum
    assert engine.is_two_way(bare, store.min_talk_seconds) is expected.two_way


def test_the_rule_in_words():
    def two_way(**kw):
        base = {"channel": "call", "direction": "outbound", "outcome": "connected", "evidence_level": "verified",
                "talk_seconds": 30, "answered_by_person": True, "min_talk_seconds": 30}
        return contact.is_two_way(**{**base, **kw})

    assert two_way()
    assert not two_way(talk_seconds=29)
    assert two_way(direction="inbound", talk_seconds=45)
    assert not two_way(direction="inbound", talk_seconds=10)  # metrics used to count any answered inbound call
    assert not two_way(answered_by_person=None) and not two_way(answered_by_person=False)
    assert not two_way(outcome="voicemail")
    assert not two_way(talk_seconds=None)  # a recorded call must have measured talk time
    assert not two_way(talk_seconds=None, evidence_level="simulated")
    assert two_way(talk_seconds=None, evidence_level="self_reported")  # "spoke with the customer", typed
    assert not two_way(talk_seconds=20, evidence_level="self_reported")  # a typed duration under the minimum
    assert two_way(channel="text", direction="inbound", outcome="reply", talk_seconds=None)
    assert not two_way(channel="email", direction="inbound", outcome="failed")
    assert two_way(channel="visit", direction="", outcome="visited")
    assert not two_way(channel="note", direction="", outcome="note")
    assert contact.is_attempt(channel="call", direction="outbound", outcome="attempt", has_staff=True)
    assert not contact.is_attempt(channel="call", direction="outbound", outcome="failed", has_staff=True)
    assert not contact.is_attempt(channel="text", direction="outbound", outcome="sent", has_staff=False)
    assert not contact.is_attempt(channel="note", direction="", outcome="note", has_staff=True)


@pytest.mark.django_db
def test_a_short_answered_inbound_call_is_two_way_nowhere(store, org):
    """Before: the metrics SQL counted any answered inbound call as two-way (no talk time), while
    the coverage engine demanded the minimum, so the board and deal credit disagreed."""
    from distribution.models import LeadRouting

    agent = org["agent"]
    when = dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC)
    lead = LeadFactory(store=store, owner=agent, received_at=when - dt.timedelta(hours=1))
    LeadRouting.objects.create(store=store, lead=lead, state="assigned")
    short = contact_event_record(
        store=store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=agent.pk, channel="call",
        direction="inbound", outcome="connected", evidence_level="verified", talk_seconds=10,
        answered_by_person=True, call_sid="CA-short", occurred_at=when,
    )
    day = when.astimezone(store.tz).date()
    [row] = metrics.staff_days(store, day)
    assert (row.inbound_calls_answered, row.two_way_contacts, row.leads_contacted) == (1, 0, 0)
    assert LeadRouting.objects.get(lead=lead).first_two_way_at is None
    assert not engine.is_two_way(engine.Event(
        id=short.pk, staff_id=agent.pk, channel="call", direction="inbound", outcome="connected",
        occurred_at=when, talk_seconds=10, answered_by_person=True, two_way=short.is_two_way,
    ))
    long = contact_event_record(
        store=store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=agent.pk, channel="call",
        direction="inbound", outcome="connected", evidence_level="verified", talk_seconds=95,
        answered_by_person=True, call_sid="CA-long", occurred_at=when + dt.timedelta(minutes=5),
    )
    [row] = metrics.staff_days(store, day)
    assert (row.two_way_contacts, row.leads_contacted) == (1, 1)
    assert LeadRouting.objects.get(lead=lead).first_two_way_at == long.occurred_at
