"""Customer identity (issue 15): a lead is matched by phones, emails and names (leads.identity),
keeps what it came with, and a shared phone or email under a clearly different name makes a new
customer marked as a possible duplicate, which managers review (leads.duplicates)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from factories import ContactEventFactory, CustomerFactory, CustomerPhoneFactory, LeadFactory, StaffFactory
from hypothesis import given
from hypothesis import strategies as st

from leads import identity
from leads.merge import merge_split
from leads.models import (
    Customer,
    CustomerEmail,
    CustomerMerge,
    CustomerPhone,
    DuplicateStatus,
    Lead,
    PossibleDuplicate,
)
from leads.services import LeadData, _possible_duplicate_record, customer_match, lead_create
from org.models import Role

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def candidate(first="Noah", last="Brown", phones=1, emails=0, similarity=0.0, pk=1,
              last_similarity=0.0) -> identity.Candidate:
    return identity.Candidate(customer_id=pk, first_name=first, last_name=last, phones=phones, emails=emails,
                              similarity=similarity, last_similarity=last_similarity)


# --- the rule, pure ------------------------------------------------------------------------------


@pytest.mark.django_db(False)
@pytest.mark.parametrize(("first", "last", "other", "same"), [
    ("Derek", "Halvorsen", ("Noah", "Brown"), False),
    ("M.", "", ("Maria", "Lopez"), True),
    ("Rob", "Brown", ("Robert", "Brown"), True),
    ("", "Lopez", ("Maria", "Lopez"), True),
    ("", "", ("Maria", "Lopez"), True),  # the lead names nobody: nothing contradicts
    ("Maria", "Lopez", ("", ""), True),
    ("Ana", "Lopez", ("Maria", "Lopez"), False),  # same household, another person
    ("Maria", "Lopes", ("Maria", "Lopez"), False),  # without pg_trgm's similarity, a typo is a different name
    ("Paula", "Reyes", ("Paul", "Reyes"), False),  # one letter more is another person, not a short form
    ("Danielle", "Ortiz", ("Daniel", "Ortiz"), False),
    ("Alex", "Kim", ("Alexander", "Kim"), True),
    ("José", "Garcia", ("Jose", "Garcia"), True),
    ("Jennifer", "Stone", ("Jennifer", "Smith"), False),
])
def test_names_compatible(first, last, other, same):
    assert identity.names_compatible(first, last, candidate(*other)) is same


@pytest.mark.django_db(False)
def test_a_typo_in_the_last_name_is_the_same_person_a_different_first_name_never_is():
    assert identity.names_compatible("Maria", "Lopes", candidate("Maria", "Lopez", last_similarity=0.5))
    assert not identity.names_compatible("Nora", "Brown", candidate("Noah", "Brown", similarity=0.57, last_similarity=1))
    # A long shared first name made full names alike (0.50): the last names decide, and they differ.
    assert not identity.names_compatible("Jennifer", "Stone", candidate("Jennifer", "Smith", similarity=0.5,
                                                                        last_similarity=0.1))


@pytest.mark.django_db(False)
def test_a_compatible_candidate_wins_over_a_stronger_incompatible_one_and_a_phone_over_an_email():
    noah = candidate("Noah", "Brown", phones=1, emails=1, pk=1)
    derek = candidate("Derek", "Halvorsen", phones=1, pk=2)
    assert identity.judge("Derek", "Halvorsen", [noah, derek]).customer_id == 2
    by_email = candidate("Derek", "Halvorsen", phones=0, emails=1, pk=3)
    by_phone = candidate("Derek", "Halvorsen", phones=1, emails=0, pk=4)
    assert identity.judge("Derek", "Halvorsen", [by_email, by_phone]).customer_id == 4
    verdict = identity.judge("Derek", "Halvorsen", [noah])
    assert verdict == identity.Verdict(customer_id=None, duplicate_of=1, score=50,
                                       reason="same phone and email, different name: Derek Halvorsen / Noah Brown")
    assert identity.judge("Derek", "Halvorsen", []) == identity.Verdict(customer_id=None)


@pytest.mark.django_db(False)
@given(st.text(max_size=12), st.text(max_size=12), st.lists(st.builds(
    candidate, first=st.text(max_size=8), last=st.text(max_size=8), phones=st.integers(0, 2),
    emails=st.integers(0, 2), similarity=st.floats(0, 1), pk=st.integers(1, 50), last_similarity=st.floats(0, 1)),
    max_size=5,
    unique_by=lambda c: c.customer_id))
def test_property_a_verdict_is_a_candidate_or_a_new_customer_with_a_reason(first, last, candidates):
    verdict = identity.judge(first, last, candidates)
    ids = {c.customer_id for c in candidates}
    if verdict.customer_id is not None:
        assert verdict.customer_id in ids and verdict.duplicate_of is None
        chosen = next(c for c in candidates if c.customer_id == verdict.customer_id)
        assert identity.names_compatible(first, last, chosen)
    else:
        assert not any(identity.names_compatible(first, last, c) for c in candidates)
        assert (verdict.duplicate_of is None) == (not candidates)
        assert not candidates or "different name" in verdict.reason
    assert 0 <= verdict.score <= 100


# --- intake --------------------------------------------------------------------------------------


def adf(name: str, phone: str = "", email: str = "", lead_id: str = "LH-1") -> bytes:
    return (
        f"<adf><prospect><id source='LeadHub'>{lead_id}</id><requestdate>2026-03-02T10:00:00-06:00</requestdate>"
        f"<vehicle><make>Toyota</make><model>Camry</model></vehicle><customer><contact><name part='full'>{name}</name>"
        f"{f'<phone>{phone}</phone>' if phone else ''}{f'<email>{email}</email>' if email else ''}</contact></customer>"
        "<provider><name>LeadHub</name></provider></prospect></adf>"
    ).encode()


@pytest.fixture
def noah(store, org):
    """Noah Brown, a customer another agent has worked: a lead, a phone and contact history."""
    customer = CustomerFactory(store=store, first_name="Noah", last_name="Brown")
    CustomerPhoneFactory(customer=customer, store=store, number="+13125550199")
    CustomerEmail.objects.create(store=store, customer=customer, email="noah.brown@example.com")
    lead = LeadFactory(store=store, customer=customer, owner=org["agent2"])
    ContactEventFactory(store=store, customer=customer, lead=lead, staff=org["agent2"])
    return customer


def post_adf(client, body: bytes):
    return client.post("/api/v1/leads/adf/?store=north-motors", data=body, content_type="application/xml")


def test_a_lead_sharing_a_phone_under_another_name_is_a_new_customer_marked_for_review(org, noah, api_for):
    """The issue's story: Derek Halvorsen's ADF lead came with Noah Brown's number and became a lead
    of Noah's, whose history with another agent then counted on it."""
    response = post_adf(api_for(org["director"]), adf("Derek Halvorsen", "(312) 555-0199", "derek@example.com"))
    assert response.status_code == 201, response.content
    assert response.json()[0]["possible_duplicate_of"] == noah.pk
    lead = Lead.objects.get(provider_lead_id="LH-1")
    derek = lead.customer
    assert derek != noah and (derek.first_name, derek.last_name) == ("Derek", "Halvorsen")
    assert (lead.first_name, lead.last_name, lead.phones, lead.emails) == (
        "Derek", "Halvorsen", ["+13125550199"], ["derek@example.com"])
    # Derek can be called on the number he gave; Noah keeps his, and nothing of Derek's.
    assert list(CustomerPhone.objects.filter(customer=derek).values_list("number", flat=True)) == ["+13125550199"]
    assert not CustomerEmail.objects.filter(customer=noah, email="derek@example.com").exists()
    assert not lead.customer.contact_events.exists()  # Noah's history stays Noah's
    pair = PossibleDuplicate.objects.get()
    assert (pair.customer, pair.other, pair.lead, pair.status) == (derek, noah, lead, DuplicateStatus.PENDING)
    assert pair.reason == "same phone, different name: Derek Halvorsen / Noah Brown"
    assert 0 < pair.score < 60


@pytest.mark.parametrize(("name", "phone", "email"), [
    ("Noah Brown", "(312) 555-0199", ""),
    ("N. Brown", "", "noah.brown@example.com"),
    ("Noah Browne", "(312) 555-0199", ""),  # a typo: pg_trgm finds the names alike
    ("", "(312) 555-0199", ""),
])
def test_the_same_person_is_the_same_customer_and_the_lead_keeps_what_it_came_with(org, noah, api_for, name, phone, email):
    response = post_adf(api_for(org["director"]), adf(name or "", phone, email))
    assert response.status_code == 201, response.content
    assert response.json()[0]["possible_duplicate_of"] is None
    lead = Lead.objects.get(provider_lead_id="LH-1")
    assert lead.customer == noah and not PossibleDuplicate.objects.exists()
    assert Customer.objects.count() == 1
    assert lead.phones == (["+13125550199"] if phone else []) and lead.emails == ([email] if email else [])


def test_a_returning_derek_matches_derek_not_noah(org, noah, store):
    data = LeadData(source_type="third_party", intake_channel="api", first_name="Derek", last_name="Halvorsen",
                    phones=[("312-555-0199", "mobile")], provider="LeadHub", provider_lead_id="A")
    first = lead_create(store=store, data=data).lead
    data.provider_lead_id = "B"
    again = lead_create(store=store, data=data).lead
    assert again.customer == first.customer != noah
    assert PossibleDuplicate.objects.count() == 1
    assert customer_match(store=store, phones=["+13125550199"], emails=[], first_name="Noah", last_name="Brown") == noah
    assert customer_match(store=store, phones=["+13125550199"], emails=[], first_name="Derek") == first.customer


def test_different_people_is_remembered(org, noah, store):
    lead = lead_create(store=store, data=LeadData(source_type="third_party", intake_channel="api", first_name="Derek", last_name="Halvorsen",
                                                  phones=[("312-555-0199", "mobile")])).lead
    pair = PossibleDuplicate.objects.get()
    from leads.duplicates import duplicate_mark_different

    duplicate_mark_different(pair=pair, user=org["manager"].user)
    verdict = identity.Verdict(customer_id=None, duplicate_of=noah.pk, reason="same phone, different name", score=40)
    _possible_duplicate_record(store=store, customer=lead.customer, verdict=verdict, lead=lead)
    pair.refresh_from_db()
    assert PossibleDuplicate.objects.count() == 1 and pair.status == DuplicateStatus.DIFFERENT
    assert pair.decided_by == org["manager"] and pair.decided_at is not None


# --- review --------------------------------------------------------------------------------------


@pytest.fixture
def pair(org, noah, store):
    lead_create(store=store, data=LeadData(source_type="third_party", intake_channel="api", first_name="Derek", last_name="Halvorsen",
                                           phones=[("312-555-0199", "mobile")]))
    return PossibleDuplicate.objects.get()


def browser(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def test_managers_review_side_by_side_and_keep_people_apart(org, pair):
    client = browser(org["manager"])
    page = client.get(reverse("leads_duplicates:queue")).content.decode()
    assert "same phone, different name: Derek Halvorsen / Noah Brown" in page.replace("Same", "same")
    assert "Derek Halvorsen" in page and "Noah Brown" in page and org["agent2"].display_name in page
    assert "1 contact event" in page  # Noah's history, beside Derek's none
    lead_page = client.get(reverse("leads:detail", args=[pair.lead_id])).content.decode()
    assert f'id="possible-dup-{pair.pk}"' in lead_page
    response = client.post(reverse("leads_duplicates:different", args=[pair.pk]), follow=True)
    assert "are different people" in response.content.decode()
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DIFFERENT
    assert f'id="pair-{pair.pk}"' not in client.get(reverse("leads_duplicates:queue")).content.decode()
    again = client.post(reverse("leads_duplicates:different", args=[pair.pk]), follow=True).content.decode()
    assert "already decided" in again


def test_agents_and_the_receptionist_do_not_review_and_other_stores_do_not_see(org, pair, other_store):
    for role in ("agent", "receptionist"):
        assert browser(org[role]).get(reverse("leads_duplicates:queue")).status_code == 403
        assert browser(org[role]).post(reverse("leads_duplicates:different", args=[pair.pk])).status_code == 404
    outsider = StaffFactory(store=other_store, role=Role.SALES_MANAGER)
    assert browser(outsider).post(reverse("leads_duplicates:different", args=[pair.pk])).status_code == 404
    assert f'id="pair-{pair.pk}"' not in browser(outsider).get(reverse("leads_duplicates:queue")).content.decode()
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.PENDING


def test_the_api_lists_and_decides_with_the_browsers_rule(org, pair, api_for):
    director = api_for(org["director"])
    body = director.get("/api/v1/possible-duplicates/?status=pending").json()
    assert [row["id"] for row in body["results"]] == [pair.pk]
    assert body["results"][0]["other"] == {"id": pair.other_id, "first_name": "Noah", "last_name": "Brown"}
    assert api_for(org["agent"]).get("/api/v1/possible-duplicates/").json()["results"] == []
    assert api_for(org["agent"]).post(f"/api/v1/possible-duplicates/{pair.pk}/different/").status_code == 404
    decided = director.post(f"/api/v1/possible-duplicates/{pair.pk}/different/")
    assert decided.status_code == 200 and decided.json()["status"] == "different"
    again = director.post(f"/api/v1/possible-duplicates/{pair.pk}/different/")
    assert again.status_code == 400 and "already decided" in str(again.json())
    assert director.get("/api/v1/possible-duplicates/?status=pending").json()["results"] == []


def test_an_inbound_call_or_text_from_a_shared_number_is_the_customer_with_the_newest_open_lead(org, noah, store):
    from leads.services import customer_for_number

    derek = lead_create(store=store, data=LeadData(source_type="third_party", intake_channel="api", first_name="Derek",
                                                   last_name="Halvorsen", phones=[("312-555-0199", "mobile")])).lead
    assert customer_for_number(store=store, number="+13125550199") == derek.customer  # his lead is the newest open one
    Lead.objects.filter(pk=derek.pk).update(status="lost")
    assert customer_for_number(store=store, number="+13125550199") == noah  # Noah's lead is still open
    assert customer_for_number(store=store, number="+13125550000") is None


# --- automatic merges ----------------------------------------------------------------------------


def maria_with_a_recent_lead(store, *, provider="Cars.com", days_ago=5):
    customer = CustomerFactory(store=store, first_name="Maria", last_name="Lopez")
    CustomerPhoneFactory(customer=customer, store=store, number="+13125550142")
    LeadFactory(store=store, customer=customer, provider=provider,
                received_at=timezone.now() - dt.timedelta(days=days_ago))
    return customer


def typo_lead(store, commit, provider="Cars.com"):
    """Mraia Lopez's lead; the automatic merge runs once it is committed (`commit`: pytest-django's
    django_capture_on_commit_callbacks, which runs them)."""
    with commit(execute=True):
        return lead_create(store=store, data=LeadData(
            source_type="third_party", intake_channel="api", first_name="Mraia", last_name="Lopez",
            phones=[("312-555-0142", "mobile")], provider=provider, provider_lead_id="T-1")).lead


def test_automatic_merges_are_off_by_default(org, store, django_capture_on_commit_callbacks):
    maria = maria_with_a_recent_lead(store)
    lead = typo_lead(store, django_capture_on_commit_callbacks)
    assert lead.customer_id != maria.pk and PossibleDuplicate.objects.get().status == DuplicateStatus.PENDING
    assert not CustomerMerge.objects.exists()


def test_an_automatic_merge_inside_the_stores_limits_is_recorded_and_undoable(org, store,
                                                                             django_capture_on_commit_callbacks):
    store.auto_merge, store.auto_merge_similarity = True, 50  # "mraia lopez" / "maria lopez": 50 % alike
    store.save()
    maria = maria_with_a_recent_lead(store)
    lead = typo_lead(store, django_capture_on_commit_callbacks)
    lead.refresh_from_db()
    merge = CustomerMerge.objects.get()
    assert lead.customer_id == maria.pk and merge.survivor == maria and merge.by is None
    assert merge.reason == "automatic: same provider within 30 days, names 50% alike (store limit 50%)"
    assert merge.moved["lead"] == [lead.pk]
    assert PossibleDuplicate.objects.get().status == DuplicateStatus.MERGED
    merge_split(merge=merge, user=org["manager"].user)
    lead.refresh_from_db()
    assert lead.customer_id == merge.merged_id != maria.pk
    assert (lead.first_name, lead.last_name) == ("Mraia", "Lopez")
    assert PossibleDuplicate.objects.get().status == DuplicateStatus.PENDING


@pytest.mark.parametrize("outside", ["another provider", "too long ago", "names not alike enough"])
def test_no_automatic_merge_outside_any_limit(org, store, outside, django_capture_on_commit_callbacks):
    store.auto_merge, store.auto_merge_similarity = True, 51 if outside == "names not alike enough" else 50
    store.save()
    maria_with_a_recent_lead(store, provider="Autotrader" if outside == "another provider" else "Cars.com",
                             days_ago=31 if outside == "too long ago" else 5)
    typo_lead(store, django_capture_on_commit_callbacks)
    assert not CustomerMerge.objects.exists() and PossibleDuplicate.objects.get().status == DuplicateStatus.PENDING


def test_an_automatic_merge_that_cannot_be_done_leaves_the_pair_for_review_and_the_lead_safe(
        org, store, django_capture_on_commit_callbacks, caplog):
    """It runs after the lead is committed: a merge refused on the way (here: a manager merged the
    new customer into someone else meanwhile) is logged, and the pair waits for a person."""
    store.auto_merge, store.auto_merge_similarity = True, 50
    store.save()
    maria = maria_with_a_recent_lead(store)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lead = lead_create(store=store, data=LeadData(
            source_type="third_party", intake_channel="api", first_name="Mraia", last_name="Lopez",
            phones=[("312-555-0142", "mobile")], provider="Cars.com", provider_lead_id="T-1")).lead
    from leads.merge import customers_merge

    customers_merge(survivor=CustomerFactory(store=store), merged=lead.customer, user=org["director"].user)
    for callback in callbacks:
        callback()
    assert "left for review" in caplog.text
    assert PossibleDuplicate.objects.get(customer=lead.customer).status == DuplicateStatus.PENDING
    assert Lead.objects.filter(pk=lead.pk).exists() and not CustomerMerge.objects.filter(survivor=maria).exists()
