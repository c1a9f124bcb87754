"""An internet director sets up routing in a real browser: opens Routing, is told a rule without a pool
cannot be saved, saves a rule, and previews where a sample lead would go (htmx, no page reload).
Screenshots at desk and phone size go to bench/results/screenshots/."""

from __future__ import annotations

import pytest
from factories import LeadFactory, StaffFactory, StoreFactory

from distribution.models import RoutingRule
from leads.models import LeadStatus
from org.models import Role
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login
from tests.distribution.floor import floor, rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
MONDAY_10 = "2026-11-23T10:00"  # the floor's agents work Mon-Sat 9-18, Chicago time


@pytest.fixture
def director_floor():
    store = StoreFactory(name="North Motors", slug="north-motors")
    team, manager, people = floor(store)
    StaffFactory(store=store, role=Role.INTERNET_DIRECTOR, user__username="dora",
                 user__first_name="Dora", user__last_name="Director")
    return store, team, manager, people


def _preview(page, *, condition: str, make: str, when: str) -> str:
    page.evaluate("window.__sameDocument = true")  # survives an htmx swap, not a page load
    form = page.locator("#preview-form")
    form.locator("select[name=condition]").select_option(condition)
    form.locator("input[name=make]").fill(make)
    form.locator("input[name=at]").fill(when)
    with page.expect_response(lambda r: r.url.endswith("/distribution/rules/preview/")) as answer:
        form.get_by_role("button", name="Preview").click()
    assert answer.value.status == 200, answer.value.text()
    result = page.locator("#preview-result .preview-result")
    result.wait_for()
    assert page.evaluate("window.__sameDocument === true"), "the preview reloaded the page instead of swapping"
    return " ".join(result.inner_text().split())


def test_director_creates_a_rule_and_previews_a_lead(live_server, desktop_page, screenshot, director_floor):
    store, team, _manager, people = director_floor
    people["bob"].shifts.update(starts="12:00")  # Bob starts at noon on Mondays
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "dora", PASSWORD)

    page.locator("header.top nav summary", has_text="Setup").click()
    page.locator("header.top nav").get_by_role("link", name="Routing").click()
    page.wait_for_url("**/distribution/rules/")
    assert "No fallback rule" in page.locator("#no-fallback").inner_text()
    screenshot(page, "rules-1-empty-desktop")

    page.get_by_role("link", name="+ New rule").click()
    page.wait_for_url("**/distribution/rules/new/**")
    form = page.locator("#rule-form")
    form.get_by_label("Rule name").fill("Used Hondas")
    form.locator("select[name=condition]").select_option("used")
    form.get_by_label("Make").fill("Honda")
    form.locator("label.strategy-option", has_text="Round robin with reassignment").click()
    # The reassignment settings appear only for that strategy.
    assert form.get_by_label("Minutes to a first attempt").is_visible()
    assert not form.get_by_label("Round robin if unclaimed after (minutes)").is_visible()
    form.get_by_label("Skip whoever holds this many open new leads").fill("5")

    # Saved without a pool: refused, said plainly, nothing saved, what was typed kept.
    form.get_by_role("button", name="Save rule").click()
    page.locator(".form-error-summary").wait_for()
    assert "The pool is empty" in page.locator("#rule-pool").inner_text()
    assert page.get_by_label("Rule name").input_value() == "Used Hondas"
    assert not RoutingRule.objects.exists()
    screenshot(page, "rules-2-form-error-desktop")

    page.locator("#rule-pool").get_by_label("Internet (4 people)").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save rule").click()
    assert "Rule “Used Hondas” saved." in page.locator("#flash").inner_text()
    sentence = " ".join(page.locator("#rules .rule-sentence").first.inner_text().split())
    assert sentence == ("Used Honda leads → round robin with reassignment (20 min, then manager after 2 moves) "
                        "among Team Internet; skip at 5 open new leads")
    made = RoutingRule.objects.get()
    assert list(made.pool_teams.all()) == [team] and made.open_new_cap == 5

    said = _preview(page, condition="used", make="Honda", when=MONDAY_10)
    assert ("This sample lead would go to Ann Agent because rule “Used Hondas” matched "
            "(condition is used, make is Honda); round robin with reassignment") in said
    assert "Skipped: Bob Agent (off shift)" in said
    assert "Ann Agent Cat Agent Dan Agent Ann Agent Cat Agent" in said
    assert page.js_errors == []
    screenshot(page, "rules-3-preview-desktop")

    # A lead no rule takes: said so, with the manager queue as where it would go.
    said = _preview(page, condition="new", make="Toyota", when=MONDAY_10)
    assert "No rule matched this sample lead." in said and "manager queue" in said


def test_rules_and_preview_on_a_phone(live_server, phone_page, screenshot, director_floor):
    store, team, manager, people = director_floor
    LeadFactory(store=store, owner=people["ann"], status=LeadStatus.NEW)
    rule(store, name="Used Hondas", team=team, condition="used", make="Honda", strategy="round_robin_reassign",
         open_new_cap=1)
    rule(store, name="CarGurus leases", staff=[people["bob"], people["cat"]], provider="CarGurus",
         lead_kind="lease", strategy="claim_pool", claim_minutes=15)
    rule(store, name="Everything else", team=team, is_fallback=True, strategy="manager", manager=manager)
    page = phone_page
    open_login(page, live_server.url)
    log_in(page, "dora", PASSWORD)
    page.locator("header.top nav summary", has_text="Setup").click()
    page.locator("header.top nav").get_by_role("link", name="Routing").click()
    page.wait_for_url("**/distribution/rules/")
    assert page.locator("#rules > li").count() == 3
    assert_no_horizontal_overflow(page, "rules list on a phone")
    screenshot(page, "rules-4-list-phone")

    said = _preview(page, condition="used", make="honda", when=MONDAY_10)
    assert "would go to Bob Agent" in said and "Ann Agent (at cap: 1 open new lead)" in said
    page.locator("#preview-result").scroll_into_view_if_needed()
    assert_no_horizontal_overflow(page, "preview on a phone")
    screenshot(page, "rules-5-preview-phone")

    # The second rule moves up; the order on the page follows.
    page.get_by_role("button", name="Move CarGurus leases up").click()
    page.wait_for_url("**/distribution/rules/?store=*")
    names = [" ".join(t.split()) for t in page.locator("#rules .rule-head h2").all_inner_texts()]
    assert names == ["1. CarGurus leases", "2. Used Hondas", "Everything else"]

    page.locator("#rules li", has_text="Used Hondas").get_by_role("link", name="Edit Used Hondas").click()
    page.wait_for_url("**/distribution/rules/*/")
    screenshot(page, "rules-6-form-phone")
    assert_no_horizontal_overflow(page, "rule form on a phone")
    assert page.js_errors == []
