"""What routing one lead costs in SQL statements, so it cannot creep back (issue 14: the
worker's CPU per lead; bench/distribution.py prints the same count), with what it writes."""

from __future__ import annotations

import pytest

from distribution import services
from distribution.models import LeadRouting, Notification, RoutingState
from leads.models import LeadAssignment, Task, TaskKind
from tests.distribution.floor import at, floor, new_lead, rule

pytestmark = pytest.mark.django_db

# The lead with its store, customer and routing row (locked); the rules; the rule's lock and
# rotation; the pool; the rotation saved; the customer's two-way contact; the lead, routing and
# history rows; the lead's followers; the cadence (started? its steps) and its tasks; the
# owner's notification; the two announcements to open pages (the notification's and the owner's
# Today queue's: live.events.publish, one statement each); and the transaction (a savepoint under
# the test's transaction).
ROUTING_QUERIES = 18


def test_routing_a_lead_costs_a_fixed_number_of_statements(store, django_assert_max_num_queries):
    team, _, people = floor(store)
    rule(store, team=team, is_fallback=True)
    for _ in range(3):  # a rotation, open leads and tasks in the store change nothing
        assert services.lead_route(lead_id=new_lead(store, received_at=at(9, 55)).pk, now=at(10))
    lead = new_lead(store, received_at=at(9, 58))

    with django_assert_max_num_queries(ROUTING_QUERIES):
        assert services.lead_route(lead_id=lead.pk, now=at(10))

    lead.refresh_from_db()
    assert lead.owner == people["dan"] and lead.routed_at == at(10)
    assert LeadRouting.objects.get(lead=lead).state == RoutingState.ASSIGNED
    assert LeadAssignment.objects.get(lead=lead).to_staff == people["dan"]
    assert Notification.objects.get(lead=lead).staff == people["dan"]
    cadence = Task.objects.filter(lead=lead, kind=TaskKind.CADENCE)
    assert cadence.count() == 15 and set(cadence.values_list("staff_id", flat=True)) == {people["dan"].pk}


def test_a_lead_with_followers_and_an_after_hours_person_stays_within_two_more(store, django_assert_max_num_queries):
    """The rare branches: the rule names an after-hours person (read with their user) and the
    lead has an ownerless duplicate, which follows it (its history row)."""
    team, _, people = floor(store)
    rule(store, team=team, is_fallback=True, after_hours_staff=people["cat"])
    lead = new_lead(store, received_at=at(9, 58))
    follower = new_lead(store, received_at=at(9, 59), customer=lead.customer, duplicate_of=lead)

    with django_assert_max_num_queries(ROUTING_QUERIES + 2):
        assert services.lead_route(lead_id=lead.pk, now=at(10))

    follower.refresh_from_db()
    lead.refresh_from_db()
    assert follower.owner_id == lead.owner_id is not None
    assert LeadAssignment.objects.get(lead=follower).reason == f"Follows lead #{lead.pk}."
