"""Recording a sale in the browser, and the manager's coverage dashboard on the deal list:
credits per person and team this month, and near misses read from the frozen decisions."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factories import LeadFactory

from dealcoverage import services
from dealcoverage.models import Deal, DealCredit
from org.models import Role
from tests.coverage.test_deals import install
from tests.coverage.test_pages import client_for, talk, text

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


@pytest.fixture
def policies(store):
    now = timezone.now()
    install(store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))
    install(store, "retail-3d", Role.RETAIL, now - dt.timedelta(days=60))


def local_input(when: dt.datetime, store) -> str:
    """A datetime-local value as the browser sends it, in the store's zone."""
    return when.astimezone(store.tz).strftime("%Y-%m-%dT%H:%M")


def record(store, closer, lead=None, sold_at=None):
    lead = lead or LeadFactory(store=store)
    return services.deal_record(
        store=store, customer=lead.customer, lead=lead, closer=closer,
        sold_at=sold_at or timezone.now() - dt.timedelta(minutes=1), source="api",
    )


def table_rows(html: str, table_id: str) -> dict[str, str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if len(cells) == 2:
            rows[cells[0]] = cells[1]
    return rows


# --------------------------------------------------------------------------------------
# Recording a sale
# --------------------------------------------------------------------------------------


def test_the_form_prefills_the_lead_and_the_deal_list_links_to_it(store, org, policies):
    lead = LeadFactory(store=store, owner=org["agent"])
    client = client_for(org["agent"])
    listing = client.get(reverse("coverage:deal_list")).content.decode()
    assert 'id="record-sale"' in listing and reverse("coverage:deal_new") in listing
    page = client.get(reverse("coverage:deal_new") + f"?lead={lead.pk}")
    body = page.content.decode()
    assert page.status_code == 200
    assert f'name="lead" value="{lead.pk}"' in body and lead.customer.full_name in body
    assert 'type="datetime-local"' in body and store.time_zone in body


def test_recording_a_sale_in_the_browser_freezes_credit_and_redirects_to_the_deal(store, org, policies):
    now = timezone.now()
    lead = LeadFactory(store=store, owner=org["agent"])
    talk(lead, org["agent"], now - dt.timedelta(days=2))
    sold_at = (now - dt.timedelta(minutes=10)).replace(second=0, microsecond=0)
    response = client_for(org["manager"]).post(reverse("coverage:deal_new"), {
        "lead": lead.pk, "closer": org["retail"].pk, "sold_at": local_input(sold_at, store),
        "vehicle": "2024 Honda CR-V EX", "stock_number": "H1234",
    })
    deal = Deal.objects.get()
    assert response.status_code == 302 and response.url == reverse("coverage:deal_detail", args=[deal.pk])
    assert deal.source == "browser" and deal.recorded_by == org["manager"]
    assert deal.customer == lead.customer and deal.lead == lead and deal.sold_at == sold_at
    assert deal.vehicle == "2024 Honda CR-V EX" and deal.stock_number == "H1234"
    credits = {c.staff_id: c.share for c in DealCredit.objects.filter(deal=deal, active=True)}
    assert credits == {org["agent"].pk: Decimal("0.5"), org["retail"].pk: Decimal("0.5")}


def test_a_sale_in_the_future_is_a_form_error_on_sold_at_and_saves_nothing(store, org, policies):
    lead = LeadFactory(store=store, owner=org["agent"])
    response = client_for(org["agent"]).post(reverse("coverage:deal_new"), {
        "lead": lead.pk, "closer": org["agent"].pk,
        "sold_at": local_input(timezone.now() + dt.timedelta(hours=3), store),
    })
    assert response.status_code == 422
    body = response.content.decode()
    assert "A deal cannot be sold in the future." in body
    sold_at_field = body.split('id="id_sold_at"', 1)[1].split("</div>", 1)[0]
    assert "A deal cannot be sold in the future." in sold_at_field
    assert not Deal.objects.exists() and not DealCredit.objects.exists()


def test_another_stores_lead_is_not_found_or_a_form_error(store, org, other_store, policies):
    """Issue 13: the record-sale form reaches every lead of the user's store (the closer records a
    sale on another agent's customer); another store's lead is a 404 or a form error naming the lead."""
    lead = LeadFactory(store=store, owner=org["agent"])
    stranger_lead = LeadFactory(store=other_store)
    client = client_for(org["agent2"])  # another team's agent: the lead is not theirs, the store is
    assert client.get(reverse("coverage:deal_new") + f"?lead={lead.pk}").status_code == 200
    assert client.get(reverse("coverage:deal_new") + f"?lead={stranger_lead.pk}").status_code == 404
    response = client.post(reverse("coverage:deal_new"), {
        "lead": stranger_lead.pk, "closer": org["agent2"].pk,
        "sold_at": local_input(timezone.now() - dt.timedelta(minutes=5), store),
    })
    assert response.status_code == 422 and "No lead of this store with that number" in response.content.decode()
    assert not Deal.objects.exists()


def test_a_receptionist_does_not_record_sales(org):
    # 403 like the API (dealcoverage.permissions.can_record_deal): there is no object to hide.
    assert client_for(org["receptionist"]).get(reverse("coverage:deal_new")).status_code == 403


# --------------------------------------------------------------------------------------
# The manager's dashboard
# --------------------------------------------------------------------------------------


def test_credits_per_person_and_team_sum_active_shares(store, org, policies):
    now = timezone.now()
    shared = LeadFactory(store=store, owner=org["agent"])
    talk(shared, org["agent"], now - dt.timedelta(days=2))
    first = record(store, org["retail"], lead=shared)  # agent 0.5, retail 0.5
    record(store, org["retail"])  # retail 1
    record(store, org["agent2"])  # agent2 1, team B has no manager
    services.credit_override(  # only active shares count: agent 0.75, retail 0.25 on the first deal
        deal=first, shares={org["agent"].pk: Decimal("0.75"), org["retail"].pk: Decimal("0.25")},
        reason="Agent set the appointment", by=org["manager"],
    )
    last_month = record(store, org["retail"])
    Deal.objects.filter(pk=last_month.pk).update(sold_at=now - dt.timedelta(days=40))

    page = client_for(org["director"]).get(reverse("coverage:deal_list")).content.decode()
    people = table_rows(page, "credits-by-person")
    assert people == {
        org["retail"].display_name: "1.25", org["agent2"].display_name: "1", org["agent"].display_name: "0.75",
    }
    teams = table_rows(page, "credits-by-team")
    assert teams == {f"Team A · {org['manager'].display_name}": "2"}
    # The manager sees their team's deals (the shared one and retail's own), not team B's.
    mine = table_rows(client_for(org["manager"]).get(reverse("coverage:deal_list")).content.decode(), "credits-by-team")
    assert mine == {f"Team A · {org['manager'].display_name}": "2"}


def test_an_agent_sees_no_dashboard(store, org, policies):
    record(store, org["agent"])
    page = client_for(org["agent"]).get(reverse("coverage:deal_list")).content.decode()
    assert 'id="credits-by-person"' not in page and 'id="near-misses"' not in page


def near_miss_sale(store, org, hours_before: float, closer=None):
    """The agent's last contact started a 72 h window that ended `hours_before` the sale."""
    sold_at = (timezone.now() - dt.timedelta(minutes=2)).replace(microsecond=0)
    lead = LeadFactory(store=store, owner=org["agent"])
    talk(lead, org["agent"], sold_at - dt.timedelta(hours=72 + hours_before))
    return record(store, closer or org["retail"], lead=lead, sold_at=sold_at)


def test_a_near_miss_says_how_long_before_the_sale_coverage_ended(store, org, policies):
    deal = near_miss_sale(store, org, 3)
    agent_decision = deal.decision["decisions"][str(org["agent"].pk)]
    assert agent_decision["covered"] is False
    assert not DealCredit.objects.filter(deal=deal, staff=org["agent"]).exists()
    far = near_miss_sale(store, org, 30)  # ended more than a day before: not a near miss
    page = client_for(org["manager"]).get(reverse("coverage:deal_list")).content.decode()
    section = page.split('id="near-misses"', 1)[1].split("</section>", 1)[0]
    assert f"{org['agent'].display_name}'s coverage ended 3 h before the sale" in text(section)
    assert reverse("coverage:deal_detail", args=[deal.pk]) in section
    assert reverse("coverage:deal_detail", args=[far.pk]) not in section


def test_a_covered_and_credited_agent_is_no_near_miss(store, org, policies):
    lead = LeadFactory(store=store, owner=org["agent"])
    talk(lead, org["agent"], timezone.now() - dt.timedelta(hours=60))
    record(store, org["retail"], lead=lead)
    page = client_for(org["director"]).get(reverse("coverage:deal_list")).content.decode()
    assert "No near misses this month." in page


@pytest.mark.parametrize("role", ["director", "manager"])
def test_the_dashboard_queries_do_not_grow_with_deals(store, org, policies, role):
    client = client_for(org[role])

    def count_queries() -> tuple[int, str]:
        client.get(reverse("coverage:deal_list"))  # warm the session and the viewer
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(reverse("coverage:deal_list")).content.decode()
        return len(ctx.captured_queries), body

    for hours in (2, 5, 9):
        near_miss_sale(store, org, hours)
    few, body = count_queries()
    assert len(re.findall(r"ended \d+ h before the sale", body)) == 3
    for i in range(9):
        near_miss_sale(store, org, 1 + i, closer=org["agent2"] if i % 2 else org["retail"])
    many, body = count_queries()
    assert Deal.objects.count() == 12 and len(re.findall(r"ended \d+ h before the sale", body)) == 12
    # The page, its credits, the month once, totals, misses; a manager's month is their teams' deals.
    assert many == few <= {"director": 14, "manager": 21}[role], (few, many)


def test_the_deal_list_shows_fifty_deals_a_page_and_the_near_misses_of_the_whole_month(store, org, policies):
    """A busy month no longer renders every deal on one page (huge store, issue 14): 50 a page,
    newest first, while the dashboard still reads the month, not the page."""
    miss = near_miss_sale(store, org, 3)  # the oldest deal of the month: on page 2
    start = miss.sold_at
    later = [record(store, org["retail"], sold_at=start + dt.timedelta(seconds=i + 1)) for i in range(52)]
    client = client_for(org["manager"])
    first = client.get(reverse("coverage:deal_list")).content.decode()
    rows = re.findall(r'href="/coverage/deals/(\d+)/">#', first.split('id="deal-list"', 1)[1])
    assert [int(pk) for pk in rows] == [deal.pk for deal in reversed(later)][:50]
    assert "page=2" in first and "Older" in first
    near = first.split('id="near-misses"', 1)[1].split("</section>", 1)[0]
    assert reverse("coverage:deal_detail", args=[miss.pk]) in near
    second = client.get(reverse("coverage:deal_list") + "?page=2").content.decode()
    rows = re.findall(r'href="/coverage/deals/(\d+)/">#', second.split('id="deal-list"', 1)[1])
    assert [int(pk) for pk in rows] == [later[1].pk, later[0].pk, miss.pk]
    assert "Newer" in second and "page=3" not in second
    assert client.get(reverse("coverage:deal_list") + "?page=x").status_code == 404


def test_uncovered_judgements_read_only_the_uncovered_with_an_end_whatever_the_decision_holds(store, org, policies):
    from dealcoverage.selectors import uncovered_judgements

    shapes = {
        "mixed": {"decisions": {"7": {"covered": False, "covered_until": "2026-11-02T10:00:00+00:00", "explanation": "x" * 500},
                                "8": {"covered": True, "covered_until": "2026-11-03T10:00:00+00:00"},
                                "9": {"covered": False}}},
        "skipped": {"skipped": [{"staff_id": 7}]},
        "odd": {"decisions": ["not", "an", "object"]},
        "empty": {},
    }
    deals = {}
    for name, decision in shapes.items():
        deal = record(store, org["retail"])
        Deal.objects.filter(pk=deal.pk).update(decision=decision)
        deals[name] = deal.pk
    found = uncovered_judgements(list(deals.values()))
    assert dict(found) == {deals["mixed"]: {"7": {"covered": False, "covered_until": "2026-11-02T10:00:00+00:00"}}}
    assert uncovered_judgements([]) == {}
