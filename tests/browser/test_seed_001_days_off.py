"""Seed 001's acceptance test, in real browsers: the customer came on the internet agent's day off.

Dana Whitfield (internet agent) works every day but Saturday and Monday. She reaches the customer
on Thursday Oct 1, 2026 at 10:12 AM by a recorded call; calls Friday go unanswered, Saturday is
her day off, a text Sunday gets no reply. On Monday Oct 5 at 2:00 PM, her day off, Sam Ortiz
(retail) sells the customer a car. The store's policy is internet-72h v1 (no pause): her window
ended Sunday 10:12 AM, Sam gets the whole deal. With the days-off pause, Saturday and Monday do not
count and she is covered until Tuesday 10:12 AM: she shares the deal.

Each person in their own logged-in browser context: her sales manager on his phone reads why
she got nothing (an agent without credit cannot open the deal page); the director runs the what-if from the form (the store's current version, plus the pause)
and sees Dana's credit change in the chart and in the per-deal CSV. Dates are fixed (no clock patch).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories import ContactEventFactory, CustomerFactory, LeadFactory, StaffFactory, StoreFactory, TeamFactory

from dealcoverage import engine, selectors, services
from dealcoverage.models import CoveragePolicy
from dealcoverage.presets import preset
from leads.models import EvidenceLevel
from org.models import Role, Shift
from tests.browser.conftest import DESKTOP, PHONE, _page
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
CHICAGO = ZoneInfo("America/Chicago")
SHOTS = Path("/tmp")


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"seed001_{name}.png"), full_page=True)


def _install(store, name: str, role: str, when: dt.datetime) -> CoveragePolicy:
    params = preset(name).to_dict()
    return services.policy_version_create(
        store=store, role=role, effective_from=when, created_by=None,
        **{k: params[k] for k in services.POLICY_FIELDS},
    )


@pytest.fixture
def story():
    store = StoreFactory(name="North Motors", slug="north-motors", time_zone="America/Chicago")
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="mike",
                           user__first_name="Mike", user__last_name="Reyes")
    team = TeamFactory(store=store, name="Team A", manager=manager)
    agent = StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team, user__username="dana",
                         user__first_name="Dana", user__last_name="Whitfield")
    closer = StaffFactory(store=store, role=Role.RETAIL, team=team, user__username="sam",
                          user__first_name="Sam", user__last_name="Ortiz")
    director = StaffFactory(store=store, role=Role.INTERNET_DIRECTOR, user__username="bobby",
                            user__first_name="Bobby", user__last_name="Morales")
    for weekday in (1, 2, 3, 4, 6):  # Tue-Fri and Sunday; Saturday and Monday off
        Shift.objects.create(staff=agent, weekday=weekday, starts=dt.time(9), ends=dt.time(18))
    current = _install(store, "internet-72h", Role.INTERNET_AGENT, at(6, 1))
    _install(store, "retail-3d", Role.RETAIL, at(6, 1))

    customer = CustomerFactory(store=store, first_name="Maria", last_name="Gonzalez")
    lead = LeadFactory(store=store, customer=customer, owner=agent, received_at=at(10, 1, 9, 30))

    def event(when, channel, outcome, **kw):
        return ContactEventFactory(lead=lead, staff=agent, channel=channel, direction="outbound", outcome=outcome,
                                   evidence_level=EvidenceLevel.VERIFIED, occurred_at=when, **kw)

    event(at(10, 1, 10, 12), "call", "connected", talk_seconds=372, answered_by_person=True, call_sid="CA" + "9f2e" * 8)
    event(at(10, 2, 11), "call", "no_answer", talk_seconds=0)
    event(at(10, 4, 9), "text", "delivered", message_sid="SM" + "1" * 32)
    sold_at = at(10, 5, 14)  # Monday, Dana's day off
    deal = services.deal_record(store=store, customer=customer, lead=lead, closer=closer, sold_at=sold_at,
                                source="browser", vehicle="2025 Honda CR-V EX", stock_number="H25012")
    # Another sale in the month that nobody covered: the replay must leave it alone.
    other = CustomerFactory(store=store, first_name="Lee", last_name="Park")
    services.deal_record(store=store, customer=other, lead=LeadFactory(store=store, customer=other), closer=closer,
                         sold_at=at(10, 12, 11), source="browser")
    return {"store": store, "agent": agent, "closer": closer, "director": director, "deal": deal,
            "current": current, "sold_at": sold_at}


def test_the_rule_itself_without_and_with_the_pause(story):
    """The engine's answer the browsers will show: not covered without the pause, covered with it."""
    agent, store = story["agent"], story["store"]
    events = selectors.customer_events(story["deal"].customer, story["sold_at"])[agent.pk]
    schedule = selectors.schedules_for([agent.pk], store, story["sold_at"])[agent.pk]
    assert schedule.days_off == frozenset({0, 5})
    plain = engine.decide(preset("internet-72h"), events, schedule, story["sold_at"])
    paused = engine.decide(preset("internet-72h", pause_on_days_off=True), events, schedule, story["sold_at"])
    assert not plain.covered and plain.covered_until == at(10, 4, 10, 12)
    assert paused.covered and paused.covered_until == at(10, 6, 10, 12)
    assert paused.paused_days == [dt.date(2026, 10, 3), dt.date(2026, 10, 5)]
    assert {c.staff_id: c.share for c in story["deal"].credits.filter(active=True)} == {story["closer"].pk: 1}


def test_seed_001_director_compares_the_current_version_with_a_days_off_pause(live_server, browser, story):
    agent, deal = story["agent"], story["deal"]

    # Her sales manager, on his phone, reads why she got nothing: the frozen decision under v1.
    context, phone = _page(browser, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        open_login(phone, live_server.url)
        log_in(phone, "mike", PASSWORD)
        phone.goto(f"{live_server.url}/coverage/deals/{deal.pk}/")
        body = " ".join(phone.locator("main").inner_text().split())
        assert "Not covered at Mon Oct 5, 2:00 PM: coverage ended Sun Oct 4, 10:12 AM." in body
        assert "a recorded call of 6 min 12 s" in body and "CA9f2e" not in body  # no call SID in the sentence
        assert_no_horizontal_overflow(phone, "deal page, manager")
        shot(phone, "1-manager-deal-phone")
        assert phone.js_errors == []
    finally:
        context.close()

    # The director, at her desk: the what-if, from the form.
    context, page = _page(browser, DESKTOP)
    try:
        open_login(page, live_server.url)
        log_in(page, "bobby", PASSWORD)
        page.goto(f"{live_server.url}/coverage/replay/")
        source = page.locator("#id_internet_agent-source")
        assert source.input_value() == f"version:{story['current'].pk}"  # the store's version in force
        assert "internet-72h v1, in force" in source.locator("option:checked").inner_text()
        assert page.locator("#id_internet_agent-window_hours").input_value() == "72"
        assert not page.locator("#id_internet_agent-pause_on_days_off").is_checked()
        page.locator("#id_start").fill("2026-10-01")
        page.locator("#id_end").fill("2026-10-31")
        # Picking another start loads its parameters (and computes nothing); then back to the store's.
        with page.expect_navigation():
            source.select_option("preset:internet-5d")
        assert "Loaded the parameters for Internet agent" in page.locator("#replay-loaded").inner_text()
        assert page.locator("#id_internet_agent-window_hours").input_value() == "120"
        assert page.locator("#replay-summary").count() == 0
        with page.expect_navigation():
            page.locator("#id_internet_agent-source").select_option(f"version:{story['current'].pk}")
        assert page.locator("#id_internet_agent-window_hours").input_value() == "72"
        assert page.locator("#id_start").input_value() == "2026-10-01"
        shot(page, "2-director-form-desk")

        # First as it stands: the same version changes nothing.
        with page.expect_navigation():
            page.locator("#replay-submit").click()
        assert page.locator("#replay-message").inner_text() == "2 deals replayed; 0 would change."
        assert "Nobody's credit would change." in page.locator("#replay-chart-card").inner_text()

        # Then with the pause on days off.
        page.locator("#id_internet_agent-pause_on_days_off").check()
        with page.expect_navigation():
            page.locator("#replay-submit").click()
        assert page.locator("#replay-message").inner_text() == "2 deals replayed; 1 would change."
        proposed = " ".join(page.locator("#replay-proposed").inner_text().split())
        assert "Internet agent: proposed “internet-72h v1 + days-off pause”" in proposed
        assert "pause on days off" in proposed
        chart = page.locator("#replay-chart")
        dana = chart.locator(".bar-row", has_text="Dana Whitfield")
        assert "+0.5" in dana.locator(".delta").inner_text()
        assert dana.locator(".bar.now em").inner_text() == "0" and dana.locator(".bar.proposed em").inner_text() == "0.5"
        assert "-0.5" in chart.locator(".bar-row", has_text="Sam Ortiz").locator(".delta").inner_text()
        changed = page.locator("#replay-changed tbody tr").first
        assert "Mon Oct 5, 2:00 PM" in changed.inner_text()
        assert "Dana Whitfield 50 %" in changed.inner_text() and "Sam Ortiz 100 %" in changed.inner_text()
        page.locator("#replay-changed summary").first.click()
        why = page.locator("#replay-changed details").first.inner_text()
        assert "paused on days off (Sat Oct 3, Mon Oct 5)" in why and "Covered until Tue Oct 6, 10:12 AM" in why
        shot(page, "3-director-result-desk")

        with page.expect_download() as download:
            page.locator("#csv-deals").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert len(rows) == 2
        row = next(r for r in rows if int(r["deal_id"]) == deal.pk)
        assert row["changed"] == "yes" and row["closer"] == "Sam Ortiz" and row["sold_at"] == "2026-10-05 14:00"
        assert row["split_now"] == "Sam Ortiz 100 %"
        assert set(row["split_proposed"].split("; ")) == {"Dana Whitfield 50 %", "Sam Ortiz 50 %"}
        assert row[f"now: Dana Whitfield (#{agent.pk})"] == "0"
        assert row[f"proposed: Dana Whitfield (#{agent.pk})"] == "0.5"
        assert page.js_errors == []
        result_url = page.url
    finally:
        context.close()

    # The same result on the director's phone.
    context, phone = _page(browser, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        open_login(phone, live_server.url)
        log_in(phone, "bobby", PASSWORD)
        phone.goto(result_url)
        assert "1 would change" in phone.locator("#replay-message").inner_text()
        assert_no_horizontal_overflow(phone, "replay result")
        shot(phone, "4-director-result-phone")
        phone.goto(f"{live_server.url}/coverage/replay/")
        assert_no_horizontal_overflow(phone, "replay form")
        shot(phone, "5-director-form-phone")
        assert phone.js_errors == []
    finally:
        context.close()
