"""Coverage pages through the Django test client: live coverage, coverage ending, deals, overrides, disputes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from factories import ContactEventFactory, CustomerFactory, LeadFactory, StaffFactory

from dealcoverage import services
from dealcoverage.models import DealCredit, Dispute
from leads.models import EvidenceLevel
from org.models import Role
from tests.coverage.test_deals import install

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def text(html: str) -> str:
    """The page's text, tags stripped and whitespace collapsed, as a reader sees it."""
    return " ".join(strip_tags(html).split())


def client_for(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def talk(lead, staff, when):
    """A recorded, answered 6-minute call: two-way contact at the verified level."""
    return ContactEventFactory(
        lead=lead, staff=staff, channel="call", direction="outbound", outcome="connected", talk_seconds=372,
        answered_by_person=True, evidence_level=EvidenceLevel.VERIFIED, occurred_at=when,
        call_sid=f"CA{lead.pk:08d}{int(when.timestamp()):024d}",
    )


@pytest.fixture
def policies(store):
    now = timezone.now()
    install(store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))
    install(store, "retail-3d", Role.RETAIL, now - dt.timedelta(days=60))


@pytest.fixture
def deal(store, org, policies):
    now = timezone.now()
    lead = LeadFactory(store=store, owner=org["agent"])
    talk(lead, org["agent"], now - dt.timedelta(days=2))
    return services.deal_record(
        store=store, customer=lead.customer, lead=lead, closer=org["retail"], sold_at=now - dt.timedelta(minutes=5),
        source="browser", vehicle="2024 Toyota Highlander XLE",
    )


def test_lead_page_shows_live_coverage_of_a_covered_agent(store, org, policies, django_assert_max_num_queries):
    lead = LeadFactory(store=store, owner=org["agent"])
    talk(lead, org["agent"], timezone.now() - dt.timedelta(hours=2))
    client = client_for(org["agent"])
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    live_url = reverse("coverage:lead_live", args=[lead.pk])
    assert f'hx-get="{live_url}"' in page
    with django_assert_max_num_queries(12):
        body = client.get(live_url).content.decode()
    name = org["agent"].display_name
    assert f"{name} (internet agent): covered until" in text(body)
    assert "<details>" in body and "Covered until" in body  # the engine's explanation


def test_lead_coverage_without_a_policy_says_who_sets_it_up(store, org):
    lead = LeadFactory(store=store, owner=org["agent"])
    talk(lead, org["agent"], timezone.now() - dt.timedelta(hours=2))
    body = client_for(org["agent"]).get(reverse("coverage:lead_live", args=[lead.pk])).content.decode()
    assert "no coverage policy yet" in body and "director sets it up" in body


def test_lead_coverage_is_scoped(store, org, policies):
    lead = LeadFactory(store=store, owner=org["agent"])
    assert client_for(org["agent2"]).get(reverse("coverage:lead_live", args=[lead.pk])).status_code == 404


def test_coverage_ending_lists_windows_ending_within_24_hours(store, org, policies):
    now = timezone.now()
    soon = LeadFactory(store=store, owner=org["agent"], customer=CustomerFactory(store=store, first_name="Soon"))
    later = LeadFactory(store=store, owner=org["agent"], customer=CustomerFactory(store=store, first_name="Later"))
    sooner = LeadFactory(store=store, owner=org["agent"], customer=CustomerFactory(store=store, first_name="Sooner"))
    talk(soon, org["agent"], now - dt.timedelta(hours=62))  # 72 h window ends in 10 h
    talk(sooner, org["agent"], now - dt.timedelta(hours=70))  # ends in 2 h
    talk(later, org["agent"], now - dt.timedelta(minutes=5))  # ends in 3 days
    response = client_for(org["agent"]).get(reverse("coverage:ending"))
    body = response.content.decode()
    assert response.status_code == 200
    assert reverse("leads:detail", args=[soon.pk]) in body
    assert reverse("leads:detail", args=[later.pk]) not in body
    assert body.index(sooner.customer.full_name) < body.index(soon.customer.full_name)  # soonest first


def test_coverage_ending_queries_do_not_grow_with_customers(store, org, policies, django_assert_max_num_queries):
    now = timezone.now()
    for i in range(30):
        talk(LeadFactory(store=store, owner=org["agent"]), org["agent"], now - dt.timedelta(hours=60, minutes=i))
    client = client_for(org["agent"])
    with django_assert_max_num_queries(14):
        body = client.get(reverse("coverage:ending")).content.decode()
    assert body.count("/leads/") >= 30


def test_deal_page_is_scoped(store, org, other_store, deal):
    url = reverse("coverage:deal_detail", args=[deal.pk])
    for who in ("agent", "retail", "manager", "director", "admin"):
        assert client_for(org[who]).get(url).status_code == 200, who
    assert client_for(org["agent2"]).get(url).status_code == 404
    stranger = StaffFactory(store=other_store, role=Role.INTERNET_DIRECTOR)
    assert client_for(stranger).get(url).status_code == 404
    assert client_for(org["receptionist"]).get(url).status_code == 404


def test_deal_page_shows_explanations_and_forms_by_role(org, deal):
    url = reverse("coverage:deal_detail", args=[deal.pk])
    manager_page = client_for(org["manager"]).get(url).content.decode()
    assert "Covered until" in manager_page and "2024 Toyota Highlander XLE" in manager_page
    assert 'id="override-form"' in manager_page and 'id="dispute-form"' not in manager_page
    agent_page = client_for(org["agent"]).get(url).content.decode()
    assert 'id="dispute-form"' in agent_page and 'id="override-form"' not in agent_page


def test_override_without_a_reason_is_a_form_error_and_changes_nothing(org, deal):
    before = list(DealCredit.objects.filter(deal=deal).values_list("pk", "staff_id", "share", "active"))
    response = client_for(org["manager"]).post(
        reverse("coverage:deal_override", args=[deal.pk]),
        {f"share_{org['agent'].pk}": "75", f"share_{org['retail'].pk}": "25", "reason": "  "},
    )
    assert response.status_code == 422
    assert "An override needs a written reason." in response.content.decode()
    assert list(DealCredit.objects.filter(deal=deal).values_list("pk", "staff_id", "share", "active")) == before


def test_override_shares_must_add_up(org, deal):
    response = client_for(org["manager"]).post(
        reverse("coverage:deal_override", args=[deal.pk]),
        {f"share_{org['agent'].pk}": "75", f"share_{org['retail'].pk}": "75", "reason": "why not"},
    )
    assert response.status_code == 422 and "add up to 100" in response.content.decode()
    assert DealCredit.objects.filter(deal=deal, active=False).count() == 0


def test_override_with_a_reason_replaces_the_split_and_keeps_the_original(org, deal):
    client = client_for(org["manager"])
    response = client.post(
        reverse("coverage:deal_override", args=[deal.pk]),
        {f"share_{org['agent'].pk}": "75", f"share_{org['retail'].pk}": "25", "reason": "Agent set the appointment"},
    )
    assert response.status_code == 302
    active = {c.staff_id: c.share for c in DealCredit.objects.filter(deal=deal, active=True)}
    assert active == {org["agent"].pk: Decimal("0.75"), org["retail"].pk: Decimal("0.25")}
    assert DealCredit.objects.filter(deal=deal, active=False).count() == 2
    page = client.get(response.url).content.decode()
    assert "Agent set the appointment" in page and "<del>" in page


def test_an_agent_cannot_override(org, deal):
    response = client_for(org["agent"]).post(
        reverse("coverage:deal_override", args=[deal.pk]),
        {f"share_{org['agent'].pk}": "100", "reason": "mine"},
    )
    assert response.status_code == 403  # the agent sees the deal; the API answers 403 too
    assert DealCredit.objects.filter(deal=deal, active=False).count() == 0


def test_a_dispute_shows_in_the_managers_review_queue(org, deal):
    response = client_for(org["agent"]).post(
        reverse("coverage:deal_dispute", args=[deal.pk]), {"comment": "I set the appointment Monday"}
    )
    assert response.status_code == 302
    assert Dispute.objects.get(deal=deal).raised_by == org["agent"]
    listing = client_for(org["manager"]).get(reverse("coverage:deal_list")).content.decode()
    assert 'id="review-queue"' in listing and "I set the appointment Monday" in listing
    # The agent's own list has the deal with its split, but no review queue.
    mine = client_for(org["agent"]).get(reverse("coverage:deal_list")).content.decode()
    assert 'id="review-queue"' not in mine and reverse("coverage:deal_detail", args=[deal.pk]) in mine
    assert "50 %" in mine


def test_an_empty_dispute_is_a_form_error(org, deal):
    response = client_for(org["agent"]).post(reverse("coverage:deal_dispute", args=[deal.pk]), {"comment": ""})
    assert response.status_code == 422 and "Say what you dispute." in response.content.decode()
    assert not Dispute.objects.exists()


def test_nav_links(org):
    agent_page = client_for(org["agent"]).get(reverse("coverage:deal_list")).content.decode()
    assert reverse("coverage:ending") in agent_page
    manager_page = client_for(org["manager"]).get(reverse("coverage:deal_list")).content.decode()
    assert reverse("coverage:ending") not in manager_page and ">Deals</a>" in manager_page


def test_override_form_prefills_percentages_not_scientific_notation(org, deal):
    page = client_for(org["manager"]).get(reverse("coverage:deal_detail", args=[deal.pk])).content.decode()
    assert "E+" not in page
    assert 'value="50"' in page or 'value="100"' in page
