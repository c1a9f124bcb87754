"""Merging two customers and splitting them back (issue 15, leads.merge): nothing is lost, contact
events are never rewritten (reads follow Customer.merged_into), a frozen deal decision stays as
judged, a split restores both customers exactly, and bad requests are refused with the reason."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from factories import ContactEventFactory, CustomerFactory, CustomerPhoneFactory, LeadFactory, StaffFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealcoverage.models import Deal
from dealcoverage.selectors import customer_events
from dealcoverage.services import deal_record
from leads import aliases
from leads.merge import customers_merge, merge_split
from leads.models import (
    Appointment,
    ContactEvent,
    Customer,
    CustomerEmail,
    CustomerMerge,
    CustomerPhone,
    DuplicateStatus,
    Lead,
    PossibleDuplicate,
    Task,
)
from leads.selectors import lead_timeline
from leads.services import LeadData, lead_create
from org.models import Role

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def rows_of(customer: Customer) -> dict[str, set[int]]:
    """Every row that belongs to the customer, by kind; events through the merge-following read."""
    return {
        "lead": set(Lead.objects.filter(customer=customer).values_list("pk", flat=True)),
        "task": set(Task.objects.filter(customer=customer).values_list("pk", flat=True)),
        "appointment": set(Appointment.objects.filter(customer=customer).values_list("pk", flat=True)),
        "deal": set(Deal.objects.filter(customer=customer).values_list("pk", flat=True)),
        "phone": set(CustomerPhone.objects.filter(customer=customer).values_list("pk", flat=True)),
        "email": set(CustomerEmail.objects.filter(customer=customer).values_list("pk", flat=True)),
        "event": set(ContactEvent.objects.filter(customer_id__in=aliases.family(customer.pk)).values_list("pk", flat=True)),
    }


def events_table() -> dict[int, int]:
    return dict(ContactEvent.objects.values_list("pk", "customer_id"))


def person(store, staff, first: str, phone: str, *, events: int = 1, deal: bool = False, email: str = ""):
    """A customer with a lead, contact events, a task, an appointment and maybe a deal."""
    customer = CustomerFactory(store=store, first_name=first, last_name="Brown")
    CustomerPhoneFactory(customer=customer, store=store, number=phone)
    if email:
        CustomerEmail.objects.create(store=store, customer=customer, email=email)
    lead = LeadFactory(store=store, customer=customer, owner=staff)
    for i in range(events):
        ContactEventFactory(store=store, customer=customer, lead=lead, staff=staff,
                            occurred_at=timezone.now() - dt.timedelta(hours=i + 1))
    Task.objects.create(store=store, customer=customer, lead=lead, staff=staff, kind="follow_up", reason="Call back",
                        due_at=timezone.now() + dt.timedelta(hours=2))
    Appointment.objects.create(store=store, customer=customer, lead=lead, staff=staff,
                               starts_at=timezone.now() + dt.timedelta(days=1))
    if deal:
        deal_record(store=store, customer=customer, closer=staff, sold_at=timezone.now() - dt.timedelta(minutes=5),
                    lead=lead, source="browser")
    return customer, lead


@pytest.fixture
def two(store, org):
    noah, noah_lead = person(store, org["agent2"], "Noah", "+13125550199", events=2, deal=True, email="n@example.com")
    emma, emma_lead = person(store, org["agent"], "Emma", "+13125550188", events=1, email="n@example.com")
    return noah, emma, noah_lead, emma_lead


def test_a_merge_moves_everything_to_the_survivor_without_rewriting_an_event_and_a_split_restores_it(org, two):
    noah, emma, noah_lead, emma_lead = two
    before = {noah.pk: rows_of(noah), emma.pk: rows_of(emma)}
    events_before = events_table()
    decision_before = Deal.objects.get().decision

    merge = customers_merge(survivor=noah, merged=emma, user=org["manager"].user, reason="same person")
    after = rows_of(noah)
    for kind in ("lead", "task", "appointment", "deal", "event"):
        assert after[kind] == before[noah.pk][kind] | before[emma.pk][kind], kind
    # Emma's phone moves; her email, which Noah already has, stays on her record (no duplicate row).
    assert after["phone"] == before[noah.pk]["phone"] | before[emma.pk]["phone"]
    assert after["email"] == before[noah.pk]["email"]
    assert events_table() == events_before  # append-only: no event row was touched
    emma.refresh_from_db()
    assert emma.merged_into_id == noah.pk
    assert {e.pk for e in lead_timeline(noah_lead)} == after["event"]
    by_staff = customer_events(noah, timezone.now())
    assert set(by_staff) == {org["agent"].pk, org["agent2"].pk}  # coverage counts the merged history
    assert Deal.objects.get().decision == decision_before  # frozen
    assert merge.by == org["manager"] and merge.reason == "same person" and merge.moved["deal"] == []

    merge_split(merge=merge, user=org["director"].user)
    assert {noah.pk: rows_of(noah), emma.pk: rows_of(Customer.objects.get(pk=emma.pk))} == before
    assert events_table() == events_before
    merge.refresh_from_db()
    assert merge.split_at is not None and merge.split_by == org["director"]
    assert Customer.objects.get(pk=emma.pk).merged_into_id is None


def test_the_deal_of_the_merged_customer_follows_and_says_its_customer_was_merged_since(org, two):
    noah, emma, _, _ = two
    deal = Deal.objects.get(customer=noah)
    decision = deal.decision
    merge = customers_merge(survivor=emma, merged=noah, user=org["director"].user)
    deal.refresh_from_db()
    assert deal.customer_id == emma.pk and deal.decision == decision and merge.moved["deal"] == [deal.pk]
    client = Client()
    client.force_login(org["director"].user)
    page = client.get(reverse("coverage:deal_detail", args=[deal.pk])).content.decode()
    assert f'id="merged-since-{merge.pk}"' in page and "The decision stands as judged at the sale." in page
    merge_split(merge=merge, user=org["director"].user)
    deal.refresh_from_db()
    assert deal.customer_id == noah.pk
    assert "merged-since" not in client.get(reverse("coverage:deal_detail", args=[deal.pk])).content.decode()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["survivor", "merged"]), min_size=0, max_size=6),
       st.lists(st.sampled_from(["survivor", "merged"]), min_size=0, max_size=4), st.booleans(),
       st.sampled_from([None, "survivor", "merged"]))
def test_property_merge_then_split_returns_both_customers_exactly(org, store, events, leads, shared_phone, sold):
    a = CustomerFactory(store=store, first_name="A")
    b = CustomerFactory(store=store, first_name="B")
    owners = {"survivor": a, "merged": b}
    CustomerPhoneFactory(customer=a, store=store)
    phone = CustomerPhoneFactory(customer=b, store=store)
    if shared_phone:
        CustomerPhone.objects.create(store=store, customer=a, number=phone.number)
    for who in leads:
        LeadFactory(store=store, customer=owners[who])
    for who in events:
        ContactEventFactory(store=store, customer=owners[who], staff=org["agent"])
    if sold:  # a deal judged before the merge: its frozen decision never changes
        deal_record(store=store, customer=owners[sold], closer=org["agent"], sold_at=timezone.now(), source="browser")
    decisions = dict(Deal.objects.filter(customer__in=[a, b]).values_list("pk", "decision"))
    before = {a.pk: rows_of(a), b.pk: rows_of(b)}
    events_before = events_table()
    merge = customers_merge(survivor=a, merged=b, user=org["manager"].user)
    merged_rows = rows_of(a)
    for kind in ("lead", "event", "deal"):
        assert merged_rows[kind] == before[a.pk][kind] | before[b.pk][kind]
    assert dict(Deal.objects.filter(pk__in=decisions).values_list("pk", "decision")) == decisions
    merge_split(merge=merge, user=org["manager"].user)
    assert {a.pk: rows_of(a), b.pk: rows_of(b)} == before
    assert events_table() == events_before
    assert dict(Deal.objects.filter(pk__in=decisions).values_list("pk", "decision")) == decisions


def test_a_chain_of_merges_resolves_to_one_survivor_and_splits_in_reverse(org, store):
    a, _ = person(store, org["agent"], "Al", "+13125550101")
    b, _ = person(store, org["agent"], "Bo", "+13125550102")
    c, c_lead = person(store, org["agent"], "Cy", "+13125550103")
    all_events = set(ContactEvent.objects.values_list("pk", flat=True))
    first = customers_merge(survivor=b, merged=a, user=org["manager"].user)
    second = customers_merge(survivor=c, merged=b, user=org["manager"].user)
    assert set(Customer.objects.filter(pk__in=[a.pk, b.pk]).values_list("merged_into_id", flat=True)) == {c.pk}
    assert {e.pk for e in lead_timeline(c_lead)} == all_events
    assert aliases.survivors([a.pk, b.pk, c.pk]) == {a.pk: c.pk, b.pk: c.pk, c.pk: c.pk}
    with pytest.raises(ValidationError, match="was already merged"):
        customers_merge(survivor=a, merged=c, user=org["manager"].user)
    # Splitting the first merge while its survivor is merged into another: refused, nothing changes.
    with pytest.raises(ValidationError, match="split that merge first"):
        merge_split(merge=first, user=org["manager"].user)
    merge_split(merge=second, user=org["manager"].user)
    assert Customer.objects.get(pk=a.pk).merged_into_id == b.pk  # back as it was before the second merge
    merge_split(merge=first, user=org["manager"].user)
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_refusals_name_the_reason_and_change_nothing(org, two, other_store):
    noah, emma, _, _ = two
    stranger = CustomerFactory(store=other_store)
    manager = org["manager"].user
    with pytest.raises(ValidationError, match="two stores"):
        customers_merge(survivor=noah, merged=stranger, user=manager)
    with pytest.raises(ValidationError, match="into itself"):
        customers_merge(survivor=noah, merged=noah, user=manager)
    with pytest.raises(PermissionDenied):
        customers_merge(survivor=noah, merged=emma, user=org["agent"].user)
    assert not CustomerMerge.objects.exists() and not Customer.objects.filter(merged_into__isnull=False).exists()
    merge = customers_merge(survivor=noah, merged=emma, user=manager)
    merge_split(merge=merge, user=manager)
    with pytest.raises(ValidationError, match="already split"):
        merge_split(merge=merge, user=manager)


def test_a_lead_for_a_merged_customer_goes_to_the_survivor(org, two, store):
    noah, emma, _, _ = two
    customers_merge(survivor=noah, merged=emma, user=org["manager"].user)
    # Emma's number moved to Noah; an email only she had stayed... the lead matches Noah's record either way.
    lead = lead_create(store=store, data=LeadData(source_type="third_party", intake_channel="api", first_name="Noah",
                                                  last_name="Brown", phones=[("312-555-0188", "mobile")])).lead
    assert lead.customer_id == noah.pk
    # Her number moved to Noah with her: a call from it is his now.
    from leads.services import customer_for_number

    assert customer_for_number(store=store, number="+13125550188") == noah


# --- browser and API -----------------------------------------------------------------------------


def test_a_manager_merges_a_pair_from_the_queue_and_splits_it_back(org, store):
    noah, _ = person(store, org["agent2"], "Noah", "+13125550199")
    derek = lead_create(store=store, data=LeadData(source_type="third_party", intake_channel="api", first_name="Derek",
                                                   last_name="Halvorsen", phones=[("312-555-0199", "mobile")])).lead
    pair = PossibleDuplicate.objects.get()
    client = Client()
    client.force_login(org["manager"].user)
    page = client.post(reverse("leads_duplicates:merge", args=[pair.pk]), follow=True).content.decode()
    assert "Merged: Derek Halvorsen is now part of Noah Brown" in page
    derek.refresh_from_db()
    pair.refresh_from_db()
    assert derek.customer_id == noah.pk and pair.status == DuplicateStatus.MERGED
    merge = CustomerMerge.objects.get()
    assert f'id="merge-{merge.pk}"' in page
    page = client.post(reverse("leads_duplicates:split", args=[merge.pk]), follow=True).content.decode()
    assert "two customers again" in page
    derek.refresh_from_db()
    pair.refresh_from_db()
    assert derek.customer_id != noah.pk and pair.status == DuplicateStatus.PENDING and pair.decided_by is None
    agent = Client()
    agent.force_login(org["agent"].user)
    assert agent.post(reverse("leads_duplicates:merge", args=[pair.pk])).status_code == 404
    assert agent.post(reverse("leads_duplicates:split", args=[merge.pk])).status_code == 404


def test_the_api_merges_any_two_customers_of_the_store_with_the_browsers_rule(org, two, other_store, api_for):
    noah, emma, _, _ = two
    director = api_for(org["director"])
    stranger = CustomerFactory(store=other_store)
    refused = director.post("/api/v1/customer-merges/", {"survivor": noah.pk, "merged": stranger.pk}, format="json")
    assert refused.status_code == 400 and f"No customer #{stranger.pk}" in str(refused.json())
    itself = director.post("/api/v1/customer-merges/", {"survivor": noah.pk, "merged": noah.pk}, format="json")
    assert itself.status_code == 400 and "into itself" in str(itself.json())
    agent = api_for(org["agent"]).post("/api/v1/customer-merges/", {"survivor": noah.pk, "merged": emma.pk}, format="json")
    assert agent.status_code == 403
    assert not CustomerMerge.objects.exists()
    done = director.post("/api/v1/customer-merges/", {"survivor": noah.pk, "merged": emma.pk, "reason": "one person"},
                         format="json")
    assert done.status_code == 201, done.content
    body = done.json()
    assert body["survivor"]["id"] == noah.pk and body["merged"]["id"] == emma.pk and body["moved"]["lead"]
    assert director.post(f"/api/v1/customer-merges/{body['id']}/split/").status_code == 200
    again = director.post(f"/api/v1/customer-merges/{body['id']}/split/")
    assert again.status_code == 400 and "already split" in str(again.json())
    assert director.post("/api/v1/customer-merges/999999/split/").status_code == 404  # never merged


# --- races on real PostgreSQL --------------------------------------------------------------------


def in_threads(*works) -> list:
    from django.db import connection

    barrier = threading.Barrier(len(works))
    results: list = [None] * len(works)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = works[index]()
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted on below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()  # no timed wait: the clock step runs this module under libfaketime
    return results


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_merges_of_one_pair_make_one_merge():
    from factories import StoreFactory

    store = StoreFactory()
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER)
    a, _ = person(store, manager, "Al", "+13125550101")
    b, _ = person(store, manager, "Bo", "+13125550102")
    results = in_threads(lambda: customers_merge(survivor=a, merged=b, user=manager.user),
                         lambda: customers_merge(survivor=b, merged=a, user=manager.user))
    merges = [r for r in results if isinstance(r, CustomerMerge)]
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(merges) == 1 and len(refusals) == 1, results
    assert "already merged" in str(refusals[0])
    winner = merges[0]
    assert Customer.objects.filter(merged_into__isnull=False).count() == 1
    assert set(Lead.objects.values_list("customer_id", flat=True)) == {winner.survivor_id}


@pytest.mark.django_db(transaction=True)
def test_a_lead_arriving_while_its_customer_is_merged_ends_under_the_survivor():
    from factories import StoreFactory

    store = StoreFactory()
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER)
    a, _ = person(store, manager, "Al", "+13125550101")
    b, _ = person(store, manager, "Bo", "+13125550102")
    # No name: the same customer before the merge (Bo) and after it (Al, who then has Bo's number).
    data = LeadData(source_type="third_party", intake_channel="api", first_name="", last_name="",
                    phones=[("312-555-0102", "mobile")], provider="Race", provider_lead_id="R-1")
    results = in_threads(lambda: customers_merge(survivor=a, merged=b, user=manager.user),
                         lambda: lead_create(store=store, data=data))
    assert not any(isinstance(r, Exception) for r in results), results
    lead = Lead.objects.get(provider_lead_id="R-1")
    assert lead.customer_id == a.pk  # matched before the merge and moved, or matched to the survivor after
    assert set(Lead.objects.values_list("customer_id", flat=True)) == {a.pk}


@pytest.mark.parametrize("role", ["agent2", "manager"])
def test_every_role_that_sees_the_survivor_judges_coverage_on_the_merged_history(org, two, role):
    """A new user's trial: after a merge, the manager and the agent saw "nobody has contacted this
    customer yet" where the director saw coverage: their scope (leads.scoping.customers_for) lost the
    merged customer, who has no lead left."""
    from dealcoverage.live import lead_coverage

    noah, emma, noah_lead, _ = two
    customers_merge(survivor=noah, merged=emma, user=org["director"].user)
    people = {p.staff.pk for p in lead_coverage(org[role].user, noah_lead).people}
    assert people == {org["agent"].pk, org["agent2"].pk}  # Emma's history was agent's, Noah's agent2's


def test_a_merged_lead_without_its_own_name_keeps_the_merged_customers_and_a_split_empties_it(org, two):
    """Leads stored before leads kept what they came with have no name of their own: after a merge
    the page would only show the survivor's name (a new user's trial)."""
    noah, emma, _, emma_lead = two
    assert (emma_lead.first_name, emma_lead.last_name) == ("", "")
    merge = customers_merge(survivor=noah, merged=emma, user=org["manager"].user)
    emma_lead.refresh_from_db()
    assert (emma_lead.first_name, emma_lead.last_name, emma_lead.customer_id) == ("Emma", "Brown", noah.pk)
    assert emma_lead.as_received_differs
    merge_split(merge=merge, user=org["manager"].user)
    emma_lead.refresh_from_db()
    assert (emma_lead.first_name, emma_lead.last_name, emma_lead.customer_id) == ("", "", emma.pk)


def test_the_queue_counts_merged_history_and_links_only_the_leads_the_reviewer_opens(org, store):
    from leads.duplicates import sides

    noah, noah_lead = person(store, org["agent2"], "Noah", "+13125550199", events=2)  # agent2: team B
    emma, _ = person(store, org["agent"], "Emma", "+13125550188", events=1)
    customers_merge(survivor=noah, merged=emma, user=org["director"].user)
    pair = PossibleDuplicate.objects.create(store=store, customer=CustomerFactory(store=store), other=noah,
                                            reason="same phone, different name", score=40)
    side = sides([pair], org["manager"].user)[noah.pk]  # the manager of team A
    assert side.events == 3
    assert {lead.pk: lead.visible for lead in side.leads}[noah_lead.pk] is False
    assert all(lead.visible for lead in sides([pair], org["director"].user)[noah.pk].leads)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=8))
def test_property_any_chain_of_merges_resolves_every_customer_to_one_survivor(org, store, steps):
    """Merge in any order (A into B into C ...): every customer stands for a customer that is not
    merged itself, and that customer's history holds every event of the customers it stands for."""
    people = [CustomerFactory(store=store, first_name=f"P{i}") for i in range(5)]
    for customer in people:
        ContactEventFactory(store=store, customer=customer, staff=org["agent"])
    done = []
    for survivor_index, merged_index in steps:
        survivor, merged = (Customer.objects.get(pk=people[i].pk) for i in (survivor_index, merged_index))
        try:
            done.append(customers_merge(survivor=survivor, merged=merged, user=org["manager"].user))
        except ValidationError:
            assert survivor.pk == merged.pk or survivor.merged_into_id or merged.merged_into_id
    stands_for = aliases.survivors(p.pk for p in people)
    assert not Customer.objects.filter(pk__in=set(stands_for.values()), merged_into__isnull=False).exists()
    for root in set(stands_for.values()):
        members = {pk for pk, into in stands_for.items() if into == root}
        history = set(ContactEvent.objects.filter(customer_id__in=aliases.family(root)).values_list("customer_id", flat=True))
        assert history == members
    for merge in reversed(done):  # and they split back, newest first, to five customers
        merge_split(merge=merge, user=org["manager"].user)
    assert not Customer.objects.filter(pk__in=[p.pk for p in people], merged_into__isnull=False).exists()
