"""leads.selectors.own_contact_events: what a salesperson's coverage is judged on (dealcoverage.live)."""

from __future__ import annotations

import pytest
from factories import ContactEventFactory, StaffFactory, UserFactory

from leads.selectors import own_contact_events

pytestmark = pytest.mark.django_db


def test_own_contact_events_are_the_users_own_in_their_store_and_nothing_without_a_staff_record(org, other_store):
    mine = ContactEventFactory(store=org["agent"].store, staff=org["agent"])
    ContactEventFactory(store=org["agent"].store, staff=org["agent2"])
    ContactEventFactory(store=other_store, staff=StaffFactory(store=other_store))
    assert list(own_contact_events(org["agent"].user)) == [mine]
    assert not own_contact_events(UserFactory()).exists()
