"""Issue 13: a deal is seen by everyone it concerns (the closer, everyone judged, their managers,
the director), the same in the browser and the API; recording a sale (closer, closer's manager,
lead owner's manager, director) finds the customer by name, phone or email and marks the lead
sold; bad input is refused in both channels with nothing stored. Seed 000's people and events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from factories import LeadFactory, StaffFactory, StoreFactory

from dealcoverage import services
from dealcoverage.models import Deal, Dispute, DisputeStatus
from leads.models import LeadStatus, Task
from org.models import Role
from tests.conftest import api_client_for
from tests.coverage import seed000

pytestmark = [pytest.mark.clock, pytest.mark.django_db]
DEALS, DISPUTES = "/api/v1/deals/", "/api/v1/disputes/"


def browser(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


@pytest.fixture
def world(store):
    org = seed000.people(store)
    sold_at = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=30)
    org.update(seed000.scenario(store, org, sold_at))
    org["sold_at"] = sold_at
    return org


@pytest.fixture
def deal(store, world):
    return services.deal_record(
        store=store, customer=world["customer"], lead=world["lead"], closer=world["sam"], sold_at=world["sold_at"],
        source="browser", recorded_by=world["rita"], vehicle="2024 Toyota RAV4 XLE",
    )


def test_the_agent_is_judged_not_covered_and_everyone_concerned_sees_the_deal(world, deal):
    dana = str(world["dana"].pk)
    assert deal.decision["decisions"][dana]["covered"] is False
    assert not deal.credits.filter(staff=world["dana"]).exists()
    for name in ("dana", "mike", "sam", "rita", "director"):
        staff = world[name]
        assert browser(staff).get(reverse("coverage:deal_detail", args=[deal.pk])).status_code == 200, name
        assert f"#{deal.pk}" in browser(staff).get(reverse("coverage:deal_list")).content.decode(), name
        assert api_client_for(staff).get(f"{DEALS}{deal.pk}/").status_code == 200, name
        assert [d["id"] for d in api_client_for(staff).get(DEALS).json()["results"]] == [deal.pk], name
    # Lee (Mike's team) never touched Maria: the deal is not his (404 in both channels).
    assert browser(world["lee"]).get(reverse("coverage:deal_detail", args=[deal.pk])).status_code == 404
    assert api_client_for(world["lee"]).get(f"{DEALS}{deal.pk}/").status_code == 404


def test_the_agent_sees_why_on_her_deal_list_and_the_lead_pages_deal_card(world, deal):
    page = browser(world["dana"]).get(reverse("coverage:deal_list")).content.decode()
    assert "Not covered" in page
    lead_page = browser(world["dana"]).get(reverse("leads:detail", args=[world["lead"].pk])).content.decode()
    assert f'id="lead-deal-{deal.pk}"' in lead_page and "You: no credit." in lead_page
    assert "Sam Ortiz" in lead_page


@pytest.mark.parametrize("channel", ["browser", "api"])
def test_a_dispute_reaches_both_managers_queues_and_the_resolution_reaches_the_agent(world, deal, channel):
    dana = world["dana"]
    if channel == "browser":
        response = browser(dana).post(reverse("coverage:deal_dispute", args=[deal.pk]), {"comment": "Nine days of work."})
        assert response.status_code == 302
    else:
        response = api_client_for(dana).post(f"{DEALS}{deal.pk}/dispute/", {"comment": "Nine days of work."}, format="json")
        assert response.status_code == 201
    dispute = Dispute.objects.get(deal=deal)
    for manager in ("mike", "rita"):
        queue = browser(world[manager]).get(reverse("coverage:deal_list")).content.decode()
        assert "Nine days of work." in queue.split('id="review-queue"')[1], manager
        api_queue = api_client_for(world[manager]).get(DISPUTES, {"status": "open"}).json()["results"]
        assert [d["id"] for d in api_queue] == [dispute.pk], manager
    services.credit_override(
        deal=deal, shares={dana.pk: Decimal("0.5"), world["sam"].pk: Decimal("0.5")}, reason="Maria came in for Dana's quote.",
        by=world["mike"],
    )
    page = browser(dana).get(reverse("coverage:deal_detail", args=[deal.pk])).content.decode()
    assert "Credit changed" in page and "Maria came in for Dana&#x27;s quote." in page


def test_recording_marks_the_lead_sold_and_ends_its_follow_up(world, deal):
    lead = world["lead"]
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SOLD
    assert not Task.objects.filter(lead=lead, completed_at__isnull=True, canceled_at__isnull=True).exists()
    assert lead.status_changes.filter(to_status=LeadStatus.SOLD, changed_by=world["rita"]).exists()


def test_the_record_sale_search_finds_the_customer_by_name_phone_or_email(world):
    client = browser(world["rita"])  # Maria's lead is Dana's: Rita does not otherwise see it
    for term in ("Maria Gonzalez", "Gonzalez", "(312) 555-0188", "maria.gonzalez@example.com"):
        page = client.get(reverse("coverage:deal_new"), {"q": term}).content.decode()
        assert f"?lead={world['lead'].pk}" in page, term
    other = LeadFactory(store=StoreFactory(), customer__first_name="Maria", customer__last_name="Gonzalez")
    page = client.get(reverse("coverage:deal_new"), {"q": "Maria Gonzalez"}).content.decode()
    assert f"?lead={other.pk}" not in page


@pytest.mark.parametrize("recorder, allowed", [
    ("sam", True), ("rita", True), ("mike", True), ("director", True), ("lee", False), ("dana", False),
])
@pytest.mark.parametrize("channel", ["browser", "api"])
def test_who_records_the_sale(store, world, recorder, allowed, channel):
    """Sam closes: Sam, his manager Rita, the lead owner's manager Mike and the director record it."""
    staff, lead, sold_at = world[recorder], world["lead"], world["sold_at"]
    if channel == "browser":
        response = browser(staff).post(reverse("coverage:deal_new"), {
            "lead": lead.pk, "closer": world["sam"].pk,
            "sold_at": timezone.localtime(sold_at, store.tz).strftime("%Y-%m-%dT%H:%M"),
        })
        assert response.status_code == (302 if allowed else 403), response.content[:300]
        if not allowed:
            assert "Only the closer, the closer&#x27;s sales manager" in response.content.decode()
    else:
        response = api_client_for(staff).post(DEALS, {
            "customer": lead.customer_id, "lead": lead.pk, "closer": world["sam"].pk, "sold_at": sold_at.isoformat(),
        }, format="json")
        assert response.status_code == (201 if allowed else 403), response.content[:300]
    assert Deal.objects.exists() is allowed
    lead.refresh_from_db()
    assert (lead.status == LeadStatus.SOLD) is allowed


@pytest.mark.parametrize("channel", ["browser", "api"])
def test_a_sale_for_another_stores_customer_is_refused_naming_the_customer(store, world, channel):
    stranger = LeadFactory(store=StoreFactory(), owner=None)
    if channel == "browser":
        response = browser(world["rita"]).post(reverse("coverage:deal_new"), {
            "lead": stranger.pk, "closer": world["sam"].pk,
            "sold_at": timezone.localtime(world["sold_at"], store.tz).strftime("%Y-%m-%dT%H:%M"),
        })
        assert response.status_code == 422 and "No lead of this store with that number" in response.content.decode()
    else:
        response = api_client_for(world["rita"]).post(DEALS, {
            "customer": stranger.customer_id, "closer": world["sam"].pk, "sold_at": world["sold_at"].isoformat(),
        }, format="json")
        assert response.status_code == 400 and "customer" in response.json()
    assert not Deal.objects.exists()
    stranger.refresh_from_db()
    assert stranger.status == LeadStatus.NEW


@pytest.mark.parametrize("channel", ["browser", "api"])
def test_a_dispute_by_someone_the_deal_does_not_concern_is_refused(world, deal, channel):
    lee = world["lee"]
    if channel == "browser":
        response = browser(lee).post(reverse("coverage:deal_dispute", args=[deal.pk]), {"comment": "Mine!"})
    else:
        response = api_client_for(lee).post(f"{DEALS}{deal.pk}/dispute/", {"comment": "Mine!"}, format="json")
    assert response.status_code == 404
    assert not Dispute.objects.exists()


@pytest.mark.parametrize("channel", ["browser", "api"])
def test_a_second_dispute_of_the_same_split_is_refused(world, deal, channel):
    dana = world["dana"]
    first = services.dispute_raise(deal=deal, by=dana, comment="Nine days of work.")
    # While it is open: nobody disputes again.
    again = api_client_for(dana).post(f"{DEALS}{deal.pk}/dispute/", {"comment": "Again."}, format="json")
    assert again.status_code == 400 and "already disputed" in again.json()["deal"][0]
    services.dispute_uphold(dispute=first, by=world["mike"], resolution="Nine days without a reply: policy is policy.")
    if channel == "browser":
        response = browser(dana).post(reverse("coverage:deal_dispute", args=[deal.pk]), {"comment": "Again."})
        assert response.status_code == 422
        assert "You already disputed this split and it was kept by" in response.content.decode()
    else:
        response = api_client_for(dana).post(f"{DEALS}{deal.pk}/dispute/", {"comment": "Again."}, format="json")
        assert response.status_code == 400 and "You already disputed this split" in response.json()["deal"][0]
    assert list(Dispute.objects.values_list("pk", flat=True)) == [first.pk]
    assert Dispute.objects.get().status == DisputeStatus.UPHELD


def test_a_manager_of_neither_team_does_not_see_the_deal(store, world, deal):
    outsider = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="otto")
    assert browser(outsider).get(reverse("coverage:deal_detail", args=[deal.pk])).status_code == 404
    assert api_client_for(outsider).get(f"{DEALS}{deal.pk}/").status_code == 404


@pytest.mark.parametrize("channel", ["browser", "api"])
def test_a_lead_already_sold_is_not_sold_again(store, world, deal, channel):
    """From a trial: a second manager recorded the same car eight minutes later and the agent got
    two half deals for one sale."""
    lead = deal.lead
    if channel == "browser":
        response = browser(world["rita"]).post(reverse("coverage:deal_new"), {
            "lead": lead.pk, "closer": world["sam"].pk,
            "sold_at": timezone.localtime(world["sold_at"], store.tz).strftime("%Y-%m-%dT%H:%M"),
        })
        assert response.status_code == 422 and f"This lead is already sold: deal #{deal.pk}" in response.content.decode()
    else:
        response = api_client_for(world["rita"]).post(DEALS, {
            "customer": lead.customer_id, "lead": lead.pk, "closer": world["sam"].pk,
            "sold_at": world["sold_at"].isoformat(),
        }, format="json")
        assert response.status_code == 400 and f"deal #{deal.pk}" in str(response.json()["lead"])
    assert Deal.objects.count() == 1


def test_the_sale_the_dispute_and_its_settlement_reach_the_bells_of_those_concerned(world, deal):
    """From a trial: a sale recorded on someone else's lead, a dispute and its outcome told nobody."""
    from distribution.models import Notification

    def bell(name):
        return list(Notification.objects.filter(staff=world[name]).order_by("pk").values_list("kind", "text"))

    [(kind, text)] = bell("dana")  # the lead's owner, judged not covered
    assert kind == "deal" and text.startswith(f"Deal #{deal.pk}: ") and "bought from Sam Ortiz" in text
    assert text.endswith("no share for you: see why on the deal.")
    assert bell("sam")[0][1].endswith("your share 100 %.")
    assert bell("rita") == []  # she recorded it
    services.dispute_raise(deal=deal, by=world["dana"], comment="Nine days of work.")
    for manager in ("mike", "rita"):  # the agent's manager and the closer's
        assert bell(manager)[-1] == ("dispute", f"Dana Whitfield disputes deal #{deal.pk} (Maria Gonzalez): “Nine days of work.”")
    assert bell("lee") == [] and bell("director") == []
    services.credit_override(deal=deal, shares={world["dana"].pk: Decimal("0.5"), world["sam"].pk: Decimal("0.5")},
                             reason="She carried the customer for nine days.", by=world["mike"])
    assert bell("dana")[-1] == ("dispute", f"Your dispute of deal #{deal.pk}: Mike Reyes changed the split: "
                                           "She carried the customer for nine days.")
