"""The response-time stamp LeadRouting.first_attempt_at follows the current events: an attempt
taken back by a superseding non-attempt (a click-to-call whose agent leg failed, so the
customer was never dialled) no longer counts as the lead's first attempt."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import LeadFactory

from distribution.models import LeadRouting, RoutingState
from leads.events import contact_event_record
from leads.models import Channel, Direction, EvidenceLevel, LeadStatus, Outcome

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

T0 = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def lead(store, org):
    lead = LeadFactory(store=store, owner=org["agent"], received_at=T0)
    LeadRouting.objects.create(lead=lead, store=store, state=RoutingState.ASSIGNED)
    return lead


def record(lead, *, minutes: int, outcome: str, channel: str = Channel.CALL, supersedes=None, lead_=None):
    target = lead_ or lead
    return contact_event_record(
        store=target.store, customer_id=target.customer_id, lead_id=target.pk, staff_id=target.owner_id,
        channel=channel, direction=Direction.OUTBOUND, outcome=outcome, evidence_level=EvidenceLevel.VERIFIED,
        occurred_at=T0 + dt.timedelta(minutes=minutes), call_sid="CA" + "a" * 32 if channel == Channel.CALL else "",
        supersedes=supersedes,
    )


def stamp(lead) -> dt.datetime | None:
    return LeadRouting.objects.get(lead=lead).first_attempt_at


def test_a_failed_call_superseding_the_only_attempt_clears_the_stamp(lead):
    attempt = record(lead, minutes=5, outcome=Outcome.ATTEMPT)
    assert stamp(lead) == attempt.occurred_at
    record(lead, minutes=5, outcome=Outcome.FAILED, supersedes=attempt)
    assert stamp(lead) is None


def test_the_stamp_moves_to_the_next_current_attempt(lead):
    call = record(lead, minutes=5, outcome=Outcome.ATTEMPT)
    text = record(lead, minutes=20, outcome=Outcome.SENT, channel=Channel.TEXT)
    assert stamp(lead) == call.occurred_at
    record(lead, minutes=5, outcome=Outcome.FAILED, supersedes=call)
    assert stamp(lead) == text.occurred_at


def test_an_attempt_settled_as_an_attempt_keeps_the_stamp(lead):
    attempt = record(lead, minutes=5, outcome=Outcome.ATTEMPT)
    record(lead, minutes=5, outcome=Outcome.NO_ANSWER, supersedes=attempt)
    assert stamp(lead) == attempt.occurred_at


def test_attempts_before_the_lead_arrived_and_closed_leads_are_left_alone(lead, store, org):
    earlier = record(lead, minutes=-60, outcome=Outcome.SENT, channel=Channel.TEXT)  # before this lead
    attempt = record(lead, minutes=5, outcome=Outcome.ATTEMPT)
    sold = LeadFactory(store=store, owner=org["agent"], customer=lead.customer, received_at=T0,
                       status=LeadStatus.SOLD)
    LeadRouting.objects.create(lead=sold, store=store, state=RoutingState.ASSIGNED,
                               first_attempt_at=attempt.occurred_at)
    record(lead, minutes=5, outcome=Outcome.FAILED, supersedes=attempt)
    assert earlier.is_attempt
    assert stamp(lead) is None
    assert stamp(sold) == attempt.occurred_at
