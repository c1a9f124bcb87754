"""Distribution in a real browser: an agent claims a lead from the pool; a manager reads on the
lead page why a lead moved from one agent to the next; the manager queue at desk and phone size.

Screenshots go to bench/results/screenshots/ (distribution-*.png).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from factories import CustomerFactory, StaffFactory, StoreFactory
from playwright.sync_api import expect

from distribution import services, sweeper
from distribution.models import LeadRouting
from leads.models import LeadAssignment
from org.models import Role, TimeOff
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login
from tests.distribution.floor import MONDAY, at, floor, new_lead, rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"  # tests/factories.py UserFactory


def customer(store, first: str, last: str):
    return CustomerFactory(store=store, first_name=first, last_name=last)


@pytest.fixture
def shop():
    store = StoreFactory(name="North Motors", slug="north-motors")
    team, manager, people = floor(store)
    return store, team, manager, people


def test_agent_claims_a_lead_from_the_pool(live_server, desktop_page, screenshot, shop):
    store, team, _, people = shop
    rule(store, name="Web leads: first to claim", team=team, strategy="claim_pool")
    lead = new_lead(store, customer=customer(store, "Grace", "Okafor"), make="Subaru", condition="new",
                    provider="Cars.com", received_at=timezone.now() - dt.timedelta(minutes=2))
    assert services.lead_route(lead_id=lead.pk, now=timezone.now())
    page = desktop_page

    open_login(page, live_server.url)
    log_in(page, "ann", PASSWORD)
    page.locator("header.top nav").get_by_role("link", name="My leads").click()  # she starts on Today
    page.wait_for_url("**/leads/")
    row = page.locator("#lead-list tr", has_text="Grace Okafor")
    expect(row.locator(".c-owner")).to_contain_text("claim pool")
    screenshot(page, "distribution-1-pool-lead-in-list")
    with page.expect_navigation():
        row.get_by_role("button", name="Claim Grace Okafor").click()

    page.wait_for_url(f"**/leads/{lead.pk}/")
    expect(page.locator(".messages")).to_contain_text("The lead is yours")
    expect(page.locator("#routing")).to_contain_text("Working it: Ann Agent")
    expect(page.locator("#assignment-history li").last).to_contain_text("no owner → Ann Agent")
    lead.refresh_from_db()
    assert lead.owner == people["ann"] and not lead.in_claim_pool
    assert LeadRouting.objects.get(lead=lead).state == "assigned"

    # Back on the list it is hers, and nobody else can claim it.
    page.goto(f"{live_server.url}/leads/")
    row = page.locator("#lead-list tr", has_text="Grace Okafor")
    expect(row.locator(".c-owner")).to_have_text("Ann Agent")
    assert row.get_by_role("button", name="Claim Grace Okafor").count() == 0
    assert page.js_errors == []


def _reassigned_lead(store, team, people):
    """Ann got it at 10:00, made no attempt; at 10:21 the sweeper moved it to the next in line."""
    TimeOff.objects.create(staff=people["dan"], first_day=MONDAY, last_day=MONDAY)
    rule(store, name="Internet: 20-minute rule", team=team, strategy="round_robin_reassign", response_minutes=20)
    lead = new_lead(store, customer=customer(store, "Maria", "Gonzalez"), make="Toyota", condition="new",
                    provider="TrueCar", received_at=at(10))
    assert services.lead_route(lead_id=lead.pk, now=at(10))
    lead.refresh_from_db()
    assert lead.owner == people["ann"]
    assert sweeper.responses_due(now=at(10, 21)) == 1
    lead.refresh_from_db()
    assert lead.owner == people["bob"]
    return lead


def test_lead_page_history_shows_a_reassignment(live_server, desktop_page, screenshot, shop):
    store, team, manager, people = shop
    lead = _reassigned_lead(store, team, people)
    page = desktop_page

    open_login(page, live_server.url)
    log_in(page, manager.user.username, PASSWORD)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    panel = page.locator("#routing")
    expect(panel).to_contain_text("Round robin with reassignment")
    expect(panel).to_contain_text("“Internet: 20-minute rule”")
    moved = page.locator("#assignment-history li").last
    expect(moved).to_contain_text("Ann Agent → Bob Agent")
    expect(moved).to_contain_text("Ann Agent made no first attempt within 20 business minutes")
    expect(moved).to_contain_text("automatic")
    expect(page.locator("#assignment-history li").first).to_contain_text("Skipped: Dan Agent (time off)")
    # The new owner's clock is live, and the manager can move it on by hand.
    expect(page.locator(".countdown").first).to_contain_text("has made no first attempt: it moves on after")
    expect(page.get_by_role("button", name="Next in line")).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(page, "distribution-2-lead-routing-desktop")
    panel.screenshot(path=str(_dir() / "distribution-2b-routing-panel.png"))
    assert LeadAssignment.objects.filter(lead=lead).count() == 2
    assert page.js_errors == []


def _dir():
    from tests.browser.conftest import SCREENSHOT_DIR

    return SCREENSHOT_DIR


def test_lead_routing_panel_on_a_phone(live_server, phone_page, screenshot, shop):
    store, team, manager, people = shop
    lead = _reassigned_lead(store, team, people)
    page = phone_page
    open_login(page, live_server.url)
    log_in(page, "bob", PASSWORD)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    # The owner sees their clock at the top, before the timeline, and can release the lead.
    expect(page.locator(".head-alerts .countdown")).to_contain_text("Your first attempt is due: it moves on after")
    expect(page.get_by_role("button", name="Release")).to_be_visible()
    expect(page.locator("#available-switch")).to_be_visible()
    assert_no_horizontal_overflow(page, "lead page (phone)")
    page.screenshot(path=str(_dir() / "distribution-3a-lead-top-phone.png"))  # what the owner sees first
    screenshot(page, "distribution-3-lead-routing-phone")
    page.locator("#routing").screenshot(path=str(_dir() / "distribution-3b-routing-panel-phone.png"))
    assert page.js_errors == []


@pytest.fixture
def busy_queue(shop):
    """A lead no rule takes, one waiting overnight because everyone is off, and a breach."""
    store, team, manager, people = shop
    rule(store, name="New cars", team=team, condition="new", open_new_cap=3)
    nomatch = new_lead(store, customer=customer(store, "Li", "Wei"), condition="used", make="Ford",
                       provider="Facebook", received_at=timezone.now() - dt.timedelta(minutes=12))
    assert services.lead_route(lead_id=nomatch.pk, now=timezone.now())
    sunday_night = at(22, day=MONDAY - dt.timedelta(days=1))
    waiting = new_lead(store, customer=customer(store, "Aleksandra", "Kowalczyk-Brandenburg"), condition="new",
                       make="Toyota", provider="Autotrader", received_at=sunday_night)
    assert services.lead_route(lead_id=waiting.pk, now=sunday_night)
    late = new_lead(store, customer=customer(store, "Jamal", "Reed"), condition="new", make="Honda",
                    provider="TrueCar", received_at=at(9, 5))
    assert services.lead_route(lead_id=late.pk, now=at(9, 5))
    LeadRouting.objects.filter(lead=late).update(breach_at=timezone.now() - dt.timedelta(minutes=25))
    director = StaffFactory(store=store, role=Role.INTERNET_DIRECTOR, user__username="dee",
                            user__first_name="Dee", user__last_name="Director")
    return store, manager, director, {"nomatch": nomatch, "waiting": waiting, "late": late}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_manager_queue_at_desk_and_phone(live_server, desktop_page, phone_page, screenshot, busy_queue, size):
    store, manager, _, leads = busy_queue
    page = desktop_page if size == "desktop" else phone_page
    open_login(page, live_server.url)
    log_in(page, manager.user.username, PASSWORD)
    page.get_by_role("link", name="Queue").click()
    page.wait_for_url("**/distribution/queue/")
    needs = page.locator("#needs-assigning")
    expect(needs).to_contain_text("Li Wei")
    expect(needs).to_contain_text("No routing rule matched this lead")
    expect(page.locator("#waiting")).to_contain_text("Waits for the next shift at Mon 9:00 AM")
    expect(page.locator("#breaches")).to_contain_text("Jamal Reed")
    expect(page.locator("#breaches")).to_contain_text("business min late")
    if size == "phone":
        assert_no_horizontal_overflow(page, "queue (phone)")
    screenshot(page, f"distribution-4-queue-{size}")

    # Assign the no-rule lead from the queue.
    row = needs.locator("li", has_text="Li Wei")
    row.locator("select").select_option(label="Cat Agent")
    with page.expect_navigation():
        row.get_by_role("button", name="Assign").click()
    expect(page.locator(".messages")).to_contain_text("Li Wei is now Cat Agent's lead.")
    expect(page.locator("#needs-assigning")).not_to_contain_text("Li Wei")
    leads["nomatch"].refresh_from_db()
    assert leads["nomatch"].owner.user.username == "cat"
    assert page.js_errors == []


def test_bell_counts_new_notifications_without_a_reload(live_server, desktop_page, shop):
    store, team, _, people = shop
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "ann", PASSWORD)
    bell = page.locator("#bell .bell")
    expect(bell).to_have_attribute("aria-label", "Notifications: 0 unread")
    services.notify(staff_id=people["ann"].pk, store=store, lead=None, kind="warning", text="Call Maria now.", sms=False)
    expect(bell).to_have_attribute("aria-label", "Notifications: 1 unread", timeout=9_000)
    bell.click()
    page.wait_for_url("**/distribution/notifications/")
    expect(page.locator("#notifications")).to_contain_text("Call Maria now.")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#bell .bell")).to_have_attribute("aria-label", "Notifications: 0 unread")
    # The availability switch flips in place.
    switch = page.locator("#available-switch")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.locator("#available-switch")).to_have_attribute("aria-checked", "false")
    people["ann"].refresh_from_db()
    assert people["ann"].available is False
    assert page.js_errors == []
