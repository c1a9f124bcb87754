"""Deals recorded against stored policy versions: frozen credit, team credit, overrides, disputes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from factories import ContactEventFactory, CustomerFactory, LeadFactory, StaffFactory, StoreFactory

from dealcoverage import services
from dealcoverage.models import DealCredit, Dispute
from dealcoverage.presets import preset
from leads.models import EvidenceLevel
from org.models import Role

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def install(store, name: str, role: str, effective_from: dt.datetime, by=None):
    params = preset(name).to_dict()
    return services.policy_version_create(
        store=store, role=role, effective_from=effective_from, created_by=by,
        **{k: params[k] for k in services.POLICY_FIELDS},
    )


@pytest.fixture
def sale(store, org):
    """The agent talked to the customer 2 days ago (recorded, 6 min); retail closes now."""
    now = timezone.now()
    install(store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))
    install(store, "retail-3d", Role.RETAIL, now - dt.timedelta(days=60))
    lead = LeadFactory(store=store, owner=org["agent"])
    ContactEventFactory(
        lead=lead, staff=org["agent"], channel="call", direction="outbound", outcome="connected", talk_seconds=372,
        answered_by_person=True, evidence_level=EvidenceLevel.VERIFIED, occurred_at=now - dt.timedelta(days=2),
        call_sid="CA" + "a" * 32,
    )
    return lead, now - dt.timedelta(minutes=5)


def test_a_covered_agent_shares_the_deal_and_their_manager_gets_team_credit(store, org, sale):
    lead, sold_at = sale
    deal = services.deal_record(
        store=store, customer=lead.customer, lead=lead, closer=org["retail"], sold_at=sold_at, source="api"
    )
    credits = {c.staff_id: c for c in deal.credits.all()}
    assert credits[org["agent"].pk].share == Decimal("0.5") and credits[org["retail"].pk].share == Decimal("0.5")
    assert sum(c.share for c in credits.values()) == 1
    assert credits[org["agent"].pk].team_manager_id == org["manager"].pk
    assert "Covered until" in deal.decision["decisions"][str(org["agent"].pk)]["explanation"]
    assert {p.name for p in deal.policy_versions.all()} == {"internet-72h", "retail-3d"}


def test_a_later_policy_version_never_rejudges_a_past_deal(store, org, sale):
    lead, sold_at = sale
    deal = services.deal_record(store=store, customer=lead.customer, closer=org["retail"], sold_at=sold_at, source="api")
    install(store, "internet-new-7d", Role.INTERNET_AGENT, timezone.now() - dt.timedelta(minutes=1))
    deal.refresh_from_db()
    assert deal.credits.get(staff=org["agent"]).policy.name == "internet-72h"
    assert deal.decision["shares"][0]["policy_name"] in {"internet-72h", "retail-3d"}


def test_two_versions_with_the_same_effective_from_is_a_validation_error(store):
    moment = timezone.now() - dt.timedelta(days=1)
    install(store, "internet-72h", Role.INTERNET_AGENT, moment)
    with pytest.raises(ValidationError) as excinfo:
        install(store, "internet-5d", Role.INTERNET_AGENT, moment)
    assert "effective_from" in excinfo.value.message_dict


@pytest.mark.parametrize("field", ["customer", "closer", "sold_at"])
def test_bad_deal_input_names_the_field(store, org, sale, field):
    lead, sold_at = sale
    kwargs = dict(store=store, customer=lead.customer, closer=org["retail"], sold_at=sold_at, source="api")
    if field == "customer":
        kwargs["customer"] = CustomerFactory(store=StoreFactory())
    elif field == "closer":
        kwargs["closer"] = StaffFactory(store=StoreFactory(), role=Role.RETAIL)
    else:
        kwargs["sold_at"] = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        services.deal_record(**kwargs)
    assert field in excinfo.value.message_dict


def test_override_keeps_the_original_beside_it_and_needs_a_reason(store, org, sale):
    lead, sold_at = sale
    deal = services.deal_record(store=store, customer=lead.customer, closer=org["retail"], sold_at=sold_at, source="api")
    services.dispute_raise(deal=deal, by=org["agent"], comment="I talked to him Monday")
    with pytest.raises(ValidationError) as excinfo:
        services.credit_override(deal=deal, shares={org["retail"].pk: Decimal(1)}, reason=" ", by=org["manager"])
    assert "reason" in excinfo.value.message_dict
    services.credit_override(
        deal=deal, shares={org["retail"].pk: Decimal("0.25"), org["agent"].pk: Decimal("0.75")},
        reason="Agent set the appointment", by=org["manager"],
    )
    assert DealCredit.objects.filter(deal=deal, active=False).count() == 2
    active = {c.staff_id: c.share for c in DealCredit.objects.filter(deal=deal, active=True)}
    assert active == {org["retail"].pk: Decimal("0.25"), org["agent"].pk: Decimal("0.75")}
    assert Dispute.objects.get(deal=deal).status == "changed"


def test_when_two_others_are_covered_the_latest_two_way_wins_and_the_other_is_listed_for_review(client, store, org, sale):
    lead, sold_at = sale  # the agent talked 2 days ago
    ContactEventFactory(
        lead=lead, staff=org["agent2"], channel="text", direction="inbound", outcome="reply",
        evidence_level=EvidenceLevel.VERIFIED, occurred_at=sold_at - dt.timedelta(hours=5), message_sid="SM" + "b" * 32,
    )
    deal = services.deal_record(store=store, customer=lead.customer, closer=org["retail"], sold_at=sold_at, source="api")
    shares = {c.staff_id: c.share for c in deal.credits.all()}
    assert shares == {org["agent2"].pk: Decimal("0.5"), org["retail"].pk: Decimal("0.5")}
    assert deal.decision["also_covered"] == [org["agent"].pk]
    client.force_login(org["director"].user)
    page = client.get(f"/coverage/deals/{deal.pk}/").content.decode()
    assert 'id="also-covered"' in page and org["agent"].display_name in page


def test_a_manager_keeps_the_split_and_closes_the_dispute_in_the_browser(client, store, org, sale):
    lead, sold_at = sale
    deal = services.deal_record(store=store, customer=lead.customer, closer=org["retail"], sold_at=sold_at, source="api")
    dispute = services.dispute_raise(deal=deal, by=org["agent"], comment="I should have more")
    client.force_login(org["manager"].user)
    assert "Keep the split" in client.get(f"/coverage/deals/{deal.pk}/").content.decode()
    client.post(f"/coverage/disputes/{dispute.pk}/uphold/", {"resolution": ""})
    dispute.refresh_from_db()
    assert dispute.status == "open"  # a reason is required
    client.post(f"/coverage/disputes/{dispute.pk}/uphold/", {"resolution": "Customer asked for the closer by name"})
    dispute.refresh_from_db()
    assert dispute.status == "upheld" and dispute.resolved_by_id == org["manager"].pk
    assert {c.staff_id: c.share for c in deal.credits.filter(active=True)}[org["agent"].pk] == Decimal("0.5")
    client.force_login(org["agent2"].user)
    assert client.post(f"/coverage/disputes/{dispute.pk}/uphold/", {"resolution": "x"}).status_code == 404
