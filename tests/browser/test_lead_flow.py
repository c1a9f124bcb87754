"""An internet agent's day in a real browser: log in, find the lead, log a contact, see it on the timeline.

Runs against pytest-django's live server with headless Chromium (see conftest.py). Screenshots of every
page go to bench/results/screenshots/ so a person can look at the layout at desk and phone size.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from factories import (
    ContactEventFactory,
    CustomerEmailFactory,
    CustomerFactory,
    CustomerPhoneFactory,
    LeadFactory,
    StaffFactory,
    StoreFactory,
)

from leads.models import (
    Channel,
    ContactEvent,
    Direction,
    EvidenceLevel,
    LeadStatus,
    LeadVehicle,
    Outcome,
    SourceType,
)
from org.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"  # tests/factories.py UserFactory
NOTE = "Customer wants a second-row captain's chair; call back Thursday after 5."


@pytest.fixture
def agent_with_leads():
    """A store, an internet agent and a few of her leads; the first one is the lead the test works."""
    store = StoreFactory(name="North Motors", slug="north-motors")
    agent = StaffFactory(
        store=store,
        role=Role.INTERNET_AGENT,
        user__username="dana",
        user__first_name="Dana",
        user__last_name="Whitfield",
    )
    customer = CustomerFactory(store=store, first_name="Maria", last_name="Gonzalez")
    CustomerPhoneFactory(customer=customer, number="+13125550142")
    CustomerEmailFactory(customer=customer, email="maria.gonzalez@example.com")
    lead = LeadFactory(
        store=store,
        customer=customer,
        owner=agent,
        provider="CarGurus",
        received_at=timezone.now() - dt.timedelta(minutes=42),
        comments="Is the 2024 Highlander XLE still available? Trading in a 2016 Camry.",
    )
    LeadVehicle.objects.create(
        lead=lead,
        condition="new",
        year=2024,
        make="Toyota",
        model="Highlander",
        trim="XLE",
        stock_number="T24118",
        vin="5TDKDRAH1RS012345",
    )
    LeadVehicle.objects.create(
        lead=lead, interest="trade-in", condition="used", year=2016, make="Toyota", model="Camry", odometer=88400
    )
    # A call the phone system saw: the timeline shows verified next to self-reported.
    ContactEventFactory(
        lead=lead,
        staff=agent,
        channel=Channel.CALL,
        direction=Direction.OUTBOUND,
        outcome=Outcome.CONNECTED,
        evidence_level=EvidenceLevel.VERIFIED,
        talk_seconds=187,
        call_sid="CA" + "0" * 32,
        body="",
        occurred_at=timezone.now() - dt.timedelta(minutes=30),
    )
    # A few other leads so the list has something to scan.
    others = [
        ("Jamal", "Okafor", SourceType.OEM, "Toyota USA", LeadStatus.CONTACTED, 3, ("used", 2021, "Toyota", "RAV4")),
        ("Priya", "Raman", SourceType.DEALER_WEBSITE, "Web form", LeadStatus.APPOINTMENT_SET, 26, None),
        (
            "Kowalczyk-Brandenburg",
            "Aleksandra",
            SourceType.THIRD_PARTY,
            "Autotrader",
            LeadStatus.NEW,
            70,
            ("new", 2025, "Toyota", "Grand Highlander Hybrid MAX Platinum"),
        ),
    ]
    for first, last, source, provider, status, hours, vehicle in others:
        other = LeadFactory(
            store=store,
            owner=agent,
            customer=CustomerFactory(store=store, first_name=first, last_name=last),
            source_type=source,
            provider=provider,
            status=status,
            received_at=timezone.now() - dt.timedelta(hours=hours),
        )
        if vehicle:
            condition, year, make, model = vehicle
            LeadVehicle.objects.create(lead=other, condition=condition, year=year, make=make, model=model)
    return store, agent, lead


def open_login(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").wait_for()


def log_in(page, username: str, password: str) -> None:
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("form button[type=submit]").click()


def assert_no_horizontal_overflow(page, what: str) -> None:
    """Nothing wider than the viewport: the page must not scroll sideways on a phone.

    A mobile browser zooms out to fit content that is too wide, which widens window.innerWidth with it;
    so the width is also checked against the viewport the test asked for.
    """
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    inner_width = min(inner_width, page.viewport_size["width"])
    if scroll_width <= inner_width:
        return
    culprits = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
            .slice(0, 8)
            .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')}`
                        + ` right=${Math.round(el.getBoundingClientRect().right)}`)"""
    )
    pytest.fail(f"{what}: page is {scroll_width}px wide in a {inner_width}px viewport; too wide: {culprits}")


def _log_note(page, note: str) -> None:
    """Fill the "Log a contact" form as a note and wait for htmx to swap the timeline block."""
    page.evaluate("window.__sameDocument = true")  # survives an htmx swap, not a full page load
    form = page.locator("#log-form")
    form.locator("input[name=channel][value=note]").check()
    form.locator("textarea[name=body]").fill(note)
    with page.expect_response(lambda r: r.url.endswith("/log/") and r.request.method == "POST") as response:
        form.locator("button[type=submit]").click()
    assert response.value.status == 200, response.value.text()
    page.locator("#timeline li", has_text=note).wait_for()
    assert page.evaluate("window.__sameDocument === true"), "the form reloaded the page instead of swapping the block"


def _assert_note_on_timeline(page, note: str) -> None:
    entry = page.locator("#timeline li", has_text=note)
    assert entry.count() == 1
    badge = entry.locator(".pill.self_reported")
    assert badge.inner_text().strip() == "Self-reported"
    # The verified call logged earlier keeps its own badge, below the new note (newest first).
    items = page.locator("#timeline > li")
    assert note in items.nth(0).inner_text()
    assert page.locator("#timeline li .pill.verified").count() == 1
    # The swapped-in form is fresh and still wired to htmx.
    assert page.locator("#log-form textarea[name=body]").input_value() == ""
    assert page.locator("#log-form").get_attribute("hx-post")


def test_agent_logs_a_note_on_her_lead(live_server, desktop_page, screenshot, agent_with_leads):
    store, agent, lead = agent_with_leads
    page = desktop_page

    open_login(page, live_server.url)
    screenshot(page, "desktop-1-login")
    log_in(page, "dana", PASSWORD)

    # Lands on Today; her lead list is one click away, with vehicle, source, status and owner.
    assert page.url.endswith("/today/")
    page.locator("header.top nav").get_by_role("link", name="My leads").click()
    page.wait_for_url("**/leads/")
    row = page.locator("#lead-list").locator("tr", has_text="Maria Gonzalez")
    row_text = row.inner_text()
    for expected in ("2024 Toyota Highlander XLE", "CarGurus", "New", "Dana Whitfield"):
        assert expected in row_text, f"{expected!r} missing from the list row: {row_text!r}"
    assert "Camry" not in row_text  # the trade-in is not what the customer wants to buy
    screenshot(page, "desktop-2-lead-list")

    row.get_by_role("link", name="Maria Gonzalez").click()
    page.wait_for_url(f"**/leads/{lead.pk}/")
    assert "Maria Gonzalez" in page.locator("h1").inner_text()
    # Calling is one tap away, and the customer's email is there.
    assert page.get_by_role("link", name="Call (312) 555-0142").get_attribute("href") == "tel:+13125550142"
    # The email is shown; writing goes through the tracked Email form, not a mailto: link.
    assert "maria.gonzalez@example.com" in page.locator(".lead-side").inner_text()
    assert page.locator('a[href^="mailto:"]').count() == 0
    # The call outcome is only asked for a call.
    outcome = page.locator("#log-form select[name=outcome]")
    assert outcome.is_hidden()
    page.locator("#log-form input[name=channel][value=call]").check()
    assert outcome.is_visible()

    _log_note(page, NOTE)
    _assert_note_on_timeline(page, NOTE)
    screenshot(page, "desktop-3-lead-after-note")

    event = ContactEvent.objects.get(lead=lead, body=NOTE)
    assert (event.staff_id, event.channel, event.outcome) == (agent.pk, Channel.NOTE, Outcome.NOTE)
    assert event.evidence_level == EvidenceLevel.SELF_REPORTED
    assert event.customer_id == lead.customer_id and event.store_id == store.pk

    # An empty note is refused in place, and nothing is stored.
    page.locator("#log-form button[type=submit]").click()
    page.locator("#log-form .errorlist").wait_for()
    assert "needs some text" in page.locator("#log-form .errorlist").inner_text()
    screenshot(page, "desktop-3b-lead-empty-note-error")
    assert ContactEvent.objects.filter(lead=lead, channel=Channel.NOTE).count() == 1

    page.goto(f"{live_server.url}/leads/new/")
    assert page.locator("form input[name=first_name]").is_visible()
    screenshot(page, "desktop-4-new-lead")
    assert page.js_errors == []


def test_phone_layout_has_no_horizontal_scroll(live_server, phone_page, screenshot, agent_with_leads):
    _store, _agent, lead = agent_with_leads
    page = phone_page

    open_login(page, live_server.url)
    assert_no_horizontal_overflow(page, "login")
    screenshot(page, "phone-1-login")
    log_in(page, "dana", PASSWORD)

    assert page.url.endswith("/today/")
    page.locator("header.top nav").get_by_role("link", name="My leads").click()
    page.wait_for_url("**/leads/")
    assert page.locator("#lead-list").get_by_text("Maria Gonzalez").is_visible()
    assert_no_horizontal_overflow(page, "lead list")
    screenshot(page, "phone-2-lead-list")

    page.locator("#lead-list").get_by_role("link", name="Maria Gonzalez").click()
    page.wait_for_url(f"**/leads/{lead.pk}/")
    assert_no_horizontal_overflow(page, "lead page")

    _log_note(page, NOTE)
    _assert_note_on_timeline(page, NOTE)
    assert_no_horizontal_overflow(page, "lead page after logging a note")
    screenshot(page, "phone-3-lead-after-note")

    page.goto(f"{live_server.url}/leads/new/")
    assert_no_horizontal_overflow(page, "new lead form")
    screenshot(page, "phone-4-new-lead")
    assert page.js_errors == []
