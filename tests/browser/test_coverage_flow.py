"""A sales manager reviews a deal in a real browser: reads why it was split, overrides it with a reason,
and sees the new split with the original struck through beside it. The agent sees live coverage on a lead."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from factories import ContactEventFactory, CustomerFactory, LeadFactory, StaffFactory, StoreFactory, TeamFactory

from dealcoverage import services
from dealcoverage.models import DealCredit
from dealcoverage.presets import preset
from leads.models import EvidenceLevel
from org.models import Role
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
REASON = "Dana set the appointment and did the walk-around; Sam only signed."


def _install(store, name, role, when):
    params = preset(name).to_dict()
    services.policy_version_create(
        store=store, role=role, effective_from=when, created_by=None,
        **{k: params[k] for k in services.POLICY_FIELDS},
    )


@pytest.fixture
def sold_deal():
    now = timezone.now()
    store = StoreFactory(name="North Motors", slug="north-motors")
    manager = StaffFactory(
        store=store, role=Role.SALES_MANAGER, user__username="mike", user__first_name="Mike", user__last_name="Reyes"
    )
    team = TeamFactory(store=store, name="Team A", manager=manager)
    agent = StaffFactory(
        store=store, role=Role.INTERNET_AGENT, team=team,
        user__username="dana", user__first_name="Dana", user__last_name="Whitfield",
    )
    closer = StaffFactory(
        store=store, role=Role.RETAIL, team=team, user__username="sam", user__first_name="Sam", user__last_name="Ortiz"
    )
    _install(store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))
    _install(store, "retail-3d", Role.RETAIL, now - dt.timedelta(days=60))
    customer = CustomerFactory(store=store, first_name="Maria", last_name="Gonzalez")
    lead = LeadFactory(store=store, customer=customer, owner=agent)
    ContactEventFactory(
        lead=lead, staff=agent, channel="call", direction="outbound", outcome="connected", talk_seconds=372,
        answered_by_person=True, evidence_level=EvidenceLevel.VERIFIED, occurred_at=now - dt.timedelta(days=2),
        call_sid="CA" + "b" * 32,
    )
    deal = services.deal_record(
        store=store, customer=customer, lead=lead, closer=closer, sold_at=now - dt.timedelta(minutes=10),
        source="browser", vehicle="2024 Toyota Highlander XLE", stock_number="T24118",
    )
    return deal, manager, agent, closer, lead


def test_manager_overrides_a_deal_with_a_reason(live_server, desktop_page, screenshot, sold_deal):
    deal, manager, agent, closer, _lead = sold_deal
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "mike", PASSWORD)

    page.get_by_role("link", name="Deals").click()
    page.wait_for_url("**/coverage/deals/")
    row = page.locator("#deal-list tr", has_text="Maria Gonzalez")
    assert "Dana Whitfield 50 %" in row.inner_text() and "Sam Ortiz 50 %" in row.inner_text()
    screenshot(page, "coverage-1-deal-list")
    row.get_by_role("link", name=f"#{deal.pk}").click()
    page.wait_for_url(f"**/coverage/deals/{deal.pk}/")

    # The explanation of the frozen decision is there, per person.
    why = page.locator("#decision")
    assert "Dana Whitfield" in why.inner_text() and "Covered until" in why.inner_text()
    assert page.locator("#decision-summary").inner_text().startswith("Dana Whitfield shares the deal")
    assert "2024 Toyota Highlander XLE" in page.locator(".deal-head").inner_text()
    screenshot(page, "coverage-2-deal-before-override")

    form = page.locator("#override-form")
    form.get_by_label("Dana Whitfield").fill("75")
    form.get_by_label("Sam Ortiz").fill("25")
    # Without a reason: refused in place, nothing changes.
    with page.expect_navigation():
        form.get_by_role("button", name="Override").click()
    assert "An override needs a written reason." in page.locator("#override-form .errorlist").inner_text()
    assert DealCredit.objects.filter(deal=deal, active=False).count() == 0
    screenshot(page, "coverage-3-override-no-reason")

    form = page.locator("#override-form")
    assert form.get_by_label("Dana Whitfield").input_value() == "75"  # what was typed is kept
    form.locator("textarea[name=reason]").fill(REASON)
    with page.expect_navigation():
        form.get_by_role("button", name="Override").click()
    page.wait_for_url(f"**/coverage/deals/{deal.pk}/")

    now_split = page.locator("#active-credits").inner_text()
    assert "75 % Dana Whitfield" in now_split and "25 % Sam Ortiz" in now_split
    struck = page.locator("#replaced-credits del")
    assert struck.count() == 2
    assert {t.strip() for t in struck.all_inner_texts()} == {"50 % Dana Whitfield", "50 % Sam Ortiz"}
    assert REASON in page.locator("#override-reason").inner_text()
    assert "Mike Reyes" in page.locator("#override-reason").inner_text()
    screenshot(page, "coverage-4-deal-after-override")
    assert page.js_errors == []


def test_agent_sees_live_coverage_and_the_deal_on_a_phone(live_server, phone_page, screenshot, sold_deal):
    deal, _manager, agent, _closer, lead = sold_deal
    page = phone_page
    open_login(page, live_server.url)
    log_in(page, "dana", PASSWORD)

    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    card = page.locator("#live-coverage li", has_text="Dana Whitfield")
    card.wait_for()  # loaded by htmx after the page
    assert "Dana Whitfield (internet agent): covered until" in " ".join(card.inner_text().split())
    card.locator("summary").click()
    assert "Covered until" in card.locator(".explanation").inner_text()
    assert_no_horizontal_overflow(page, "lead page with coverage")
    screenshot(page, "coverage-5-phone-lead-live-coverage")

    page.goto(f"{live_server.url}/coverage/deals/{deal.pk}/")
    assert page.locator("#dispute-form").is_visible() and page.locator("#override-form").count() == 0
    assert_no_horizontal_overflow(page, "deal page")
    screenshot(page, "coverage-6-phone-deal")
    page.goto(f"{live_server.url}/coverage/ending/")
    assert_no_horizontal_overflow(page, "coverage ending")
    assert page.js_errors == []
