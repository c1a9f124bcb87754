"""Claiming from the pool (one winner), who may change a lead's status, handing leads out in the
browser, and the intake refusals a newcomer's trial turned up."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from factories import LeadFactory, StaffFactory

from distribution import services as ownership_writer
from leads.models import Lead, LeadAssignment, LeadStatus, RejectedIntake
from org.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool_lead(lead_for):
    return lead_for(in_claim_pool=True)


# --- Claim -----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_simultaneous_claims_have_exactly_one_winner(store):
    agents = [StaffFactory(store=store, role=Role.INTERNET_AGENT, user__username=f"racer{i}") for i in range(6)]
    lead = LeadFactory(store=store, in_claim_pool=True)
    barrier = threading.Barrier(len(agents))
    outcomes: list[str] = []

    def claim(agent):
        try:
            barrier.wait()
            ownership_writer.lead_claim(lead=lead, staff=agent)
            outcomes.append("won")
        except ownership_writer.LeadTaken:
            outcomes.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["taken"] * 5 + ["won"]
    lead.refresh_from_db()
    assert lead.owner_id in {a.pk for a in agents} and lead.in_claim_pool is False
    assert LeadAssignment.objects.filter(lead=lead).count() == 1


def test_api_claim_then_409_naming_the_holder(api_for, org, pool_lead):
    first = api_for(org["agent"]).post(f"/api/v1/leads/{pool_lead.pk}/claim/")
    assert first.status_code == 200 and first.json()["owner"] == org["agent"].pk
    late = LeadFactory(store=pool_lead.store, in_claim_pool=True)
    api_for(org["agent2"]).post(f"/api/v1/leads/{late.pk}/claim/")
    second = api_for(org["agent"]).post(f"/api/v1/leads/{late.pk}/claim/")
    assert second.status_code == 404  # once agent2 holds it, it left agent's pool altogether
    retail = api_for(org["retail"]).post(f"/api/v1/leads/{pool_lead.pk}/claim/")
    assert retail.status_code == 404


def test_claim_race_loser_through_the_service_hears_who_has_it(org, pool_lead):
    ownership_writer.lead_claim(lead=pool_lead, staff=org["agent2"])
    with pytest.raises(ownership_writer.LeadTaken, match=org["agent2"].display_name):
        ownership_writer.lead_claim(lead=pool_lead, staff=org["agent"])


def test_claim_button_in_the_browser(client, org, pool_lead):
    client.force_login(org["agent"].user)
    page = client.get(f"/leads/{pool_lead.pk}/").content.decode()
    assert 'id="claim-lead"' in page
    response = client.post(f"/leads/{pool_lead.pk}/claim/", follow=True)
    assert "The lead is yours" in response.content.decode()
    pool_lead.refresh_from_db()
    assert pool_lead.owner_id == org["agent"].pk


# --- Who may change the status ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("agent", True), ("manager", True), ("director", True), ("agent2", False), ("receptionist", False)],
)
def test_status_change_needs_the_owner_their_manager_or_the_director(api_for, org, lead_for, who, allowed):
    lead = lead_for(owner=org["agent"])  # agent is on the manager's team
    response = api_for(org[who]).post(f"/api/v1/leads/{lead.pk}/transition/", {"status": "contacted"})
    lead.refresh_from_db()
    if allowed:
        assert response.status_code == 200 and lead.status == LeadStatus.CONTACTED
    else:
        assert response.status_code in (403, 404) and lead.status == LeadStatus.NEW


def test_agent_must_claim_a_pool_lead_before_working_it(api_for, org, pool_lead):
    response = api_for(org["agent"]).post(f"/api/v1/leads/{pool_lead.pk}/transition/", {"status": "lost"})
    assert response.status_code == 403
    pool_lead.refresh_from_db()
    assert pool_lead.status == LeadStatus.NEW


def test_receptionist_cannot_mark_a_lead_lost_in_the_browser(client, org, lead_for):
    lead = lead_for(owner=org["agent"])
    client.force_login(org["receptionist"].user)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Mark lost" not in page
    response = client.post(f"/leads/{lead.pk}/status/", {"status": "lost"}, follow=True)
    assert "Only the lead&#x27;s owner" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


# --- Assign in the browser -------------------------------------------------------------------------


def test_manager_assigns_a_pool_lead_in_the_browser(client, org, pool_lead):
    client.force_login(org["manager"].user)
    page = client.get(f"/leads/{pool_lead.pk}/").content.decode()
    assert 'id="assign-owner"' in page and org["agent"].display_name in page
    client.post(f"/leads/{pool_lead.pk}/assign/", {"owner": org["agent"].pk})
    pool_lead.refresh_from_db()
    assert pool_lead.owner_id == org["agent"].pk and pool_lead.in_claim_pool is False
    assert LeadAssignment.objects.get(lead=pool_lead).assigned_by_id == org["manager"].pk


def test_agent_cannot_assign_in_the_browser(client, org, lead_for):
    lead = lead_for(owner=org["agent"])
    client.force_login(org["agent"].user)
    assert 'id="assign-owner"' not in client.get(f"/leads/{lead.pk}/").content.decode()
    client.post(f"/leads/{lead.pk}/assign/", {"owner": org["agent2"].pk})
    lead.refresh_from_db()
    assert lead.owner_id == org["agent"].pk


def test_assign_to_a_non_salesperson_is_refused(client, org, pool_lead):
    client.force_login(org["manager"].user)
    client.post(f"/leads/{pool_lead.pk}/assign/", {"owner": org["receptionist"].pk})
    pool_lead.refresh_from_db()
    assert pool_lead.owner_id is None


# --- Intake refusals -------------------------------------------------------------------------------


def test_json_body_over_the_cap_is_413_and_kept_as_rejected(api_for, org, settings):
    settings.INTAKE_MAX_BYTES = 2000
    body = {"store": "north-motors", "source_type": "oem", "customer": {"phone": "3125550142"}, "comments": "x" * 5000}
    response = api_for(org["director"]).post("/api/v1/leads/", body, format="json")
    assert response.status_code == 413 and response.json()["reason"] == "too_large"
    assert not Lead.objects.exists()
    assert RejectedIntake.objects.get().reason == "too_large"


def test_malformed_and_invalid_json_are_kept_as_rejected(api_for, org):
    client = api_for(org["director"])
    assert client.post("/api/v1/leads/", "{not json", content_type="application/json").status_code == 400
    no_contact = {"store": "north-motors", "source_type": "oem", "customer": {"first_name": "X"}}
    refused = client.post("/api/v1/leads/", no_contact, format="json")
    assert refused.status_code == 400 and "customer" in refused.json()
    assert sorted(RejectedIntake.objects.values_list("reason", flat=True)) == ["invalid_json", "invalid_lead"]
    assert not Lead.objects.exists()


def test_adf_without_store_parameter_says_so(api_for, org):
    response = api_for(org["director"]).post("/api/v1/leads/adf/", "<adf/>", content_type="application/xml")
    assert response.status_code == 400 and "?store=" in response.json()["store"][0]


# --- Search, duplicates, web form vehicle ----------------------------------------------------------


@pytest.mark.parametrize("term", ["{pk}", "#{pk}"])
def test_search_by_lead_id(client, org, lead_for, term):
    lead = lead_for(owner=org["agent"])
    other = lead_for(owner=org["agent"])
    client.force_login(org["director"].user)
    page = client.get("/leads/", {"q": term.format(pk=lead.pk)})
    assert [row.pk for row in page.context["page"]] == [lead.pk]
    assert other.pk != lead.pk


def test_search_last_comma_first(client, org, lead_for):
    lead = lead_for(owner=org["agent"], customer__first_name="Walter", customer__last_name="Robinson")
    lead_for(owner=org["agent"], customer__first_name="Wanda", customer__last_name="Rivers")
    client.force_login(org["director"].user)
    page = client.get("/leads/", {"q": "Robinson, Walter"})
    assert [row.pk for row in page.context["page"]] == [lead.pk]


def test_new_lead_for_a_customer_with_an_open_lead_opens_that_lead(client, org):
    client.force_login(org["agent"].user)
    form = {"source_type": "phone_up", "first_name": "Ann", "last_name": "Lee", "phone": "312-555-0177"}
    first = client.post("/leads/new/", form)
    original = Lead.objects.get()
    assert first.url == f"/leads/{original.pk}/"
    again = client.post("/leads/new/", form)
    assert again.url == f"/leads/{original.pk}/"
    assert Lead.objects.filter(duplicate_of=original).count() == 1


def test_web_form_vehicle_text_becomes_a_vehicle(client, store):
    client.post(f"/f/{store.slug}/", {
        "first_name": "Ann", "last_name": "Lee", "phone": "312-555-0177", "vehicle": "used 2021 Toyota RAV4 XLE",
    })
    vehicle = Lead.objects.get().vehicles.get()
    assert (vehicle.condition, vehicle.year, vehicle.make, vehicle.model) == ("used", 2021, "Toyota", "RAV4 XLE")


def test_admin_cannot_edit_owner_or_status_around_the_history(client, org, lead_for):
    lead = lead_for(owner=org["agent"])
    admin_user = org["admin"].user
    admin_user.is_staff = True
    admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    page = client.get(f"/admin/leads/lead/{lead.pk}/change/").content.decode()
    assert 'name="status"' not in page and 'name="owner"' not in page


def test_email_sent_from_a_personal_address_is_logged_self_reported_and_flagged(client, org, lead_for):
    from leads.models import ContactEvent, EvidenceLevel

    lead = lead_for(owner=org["agent"])
    client.force_login(org["agent"].user)
    client.post(f"/leads/{lead.pk}/log/", {
        "channel": "email", "body": "Sent the quote from my gmail", "outside_company_channels": "on",
    })
    event = ContactEvent.objects.get(lead=lead)
    assert (event.channel, event.outcome, event.evidence_level) == ("email", "sent", EvidenceLevel.SELF_REPORTED)
    assert event.outside_company_channels is True


@pytest.mark.parametrize(("source", "channel"), [("walk_in", "visit"), ("phone_up", "call")])
def test_a_walk_in_or_phone_up_typed_by_the_salesperson_who_met_the_customer_starts_contacted(
    client, org, source, channel
):
    """From a trial: the routing card said the clock was stopped, but the status stayed New, the
    timeline said "No contact yet", the five-day cadence started and the retail policy saw no contact."""
    from leads.models import ContactEvent, Task, TaskKind

    client.force_login(org["retail"].user)
    client.post("/leads/new/", {"source_type": source, "first_name": "Walter", "last_name": "Kowalczyk",
                                "phone": "312-555-0166"})
    lead = Lead.objects.get()
    assert lead.owner == org["retail"] and lead.status == "contacted"
    [met] = ContactEvent.objects.filter(lead=lead)
    assert (met.channel, met.evidence_level, met.staff, met.is_two_way) == (channel, "self_reported", org["retail"], True)
    assert not Task.objects.filter(lead=lead, kind=TaskKind.CADENCE, canceled_at__isnull=True,
                                   completed_at__isnull=True).exists()
    assert "No contact yet" not in client.get(f"/leads/{lead.pk}/").content.decode()
