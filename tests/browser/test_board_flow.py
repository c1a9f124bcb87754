"""The receptionist board in a real browser: a new lead rings onto the open board without a reload,
and one click hands it to the salesperson who called in first. Screenshots at desk and phone size."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.utils import timezone
from factories import CustomerFactory, ShiftFactory, StaffFactory, StoreFactory, TeamFactory

from distribution import services
from distribution.models import LeadRouting, RoutingState
from leads.models import LeadAssignment, LeadVehicle, SourceType
from org.models import WEEKDAYS, Role
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login
from tests.distribution.floor import agent, new_lead, rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


def on_shift_all_week(person):
    for weekday in range(7):
        ShiftFactory(staff=person, weekday=weekday, starts=dt.time(0), ends=dt.time(23, 59))
        ShiftFactory(staff=person, weekday=weekday, starts=dt.time(23, 30), ends=dt.time(0, 30))
    return person


@pytest.fixture
def showroom():
    store = StoreFactory(name="North Motors", slug="north-motors",
                         business_hours={day: [["00:00", "23:59"]] for day in WEEKDAYS})
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="max",
                           user__first_name="Max", user__last_name="Reyes")
    team = TeamFactory(store=store, name="Showroom", manager=manager)
    people = {name: on_shift_all_week(agent(store, team, name, days=())) for name in ("ann", "bob", "cat")}
    people["dan"] = on_shift_all_week(agent(store, team, "dan", days=(), available=False))
    receptionist = StaffFactory(store=store, role=Role.RECEPTIONIST, user__username="rita",
                                user__first_name="Rita", user__last_name="Desk")
    rule(store, team=team, strategy="receptionist", name="Showroom board")
    return store, manager, receptionist, people


def board_lead(store, first, last, *, source=SourceType.THIRD_PARTY, provider="CarGurus", vehicle=None,
               waited: dt.timedelta | None = None):
    lead = new_lead(store, customer=CustomerFactory(store=store, first_name=first, last_name=last),
                    source_type=source, provider=provider)
    if vehicle:
        condition, year, make, model = vehicle
        LeadVehicle.objects.create(lead=lead, condition=condition, year=year, make=make, model=model)
    assert services.lead_route(lead_id=lead.pk)
    if waited is not None:
        LeadRouting.objects.filter(lead=lead).update(queued_at=timezone.now() - waited)
    lead.refresh_from_db()
    assert lead.routing.state == RoutingState.BOARD
    return lead


def open_board(page, base_url, username):
    open_login(page, base_url)
    log_in(page, username, PASSWORD)
    page.goto(f"{base_url}/distribution/board/")
    page.locator("#board .board-grid").wait_for()
    page.evaluate("window.__sameDocument = true")  # survives htmx swaps, not a reload


def test_a_new_lead_rings_onto_the_board_and_is_handed_in_one_click(live_server, desktop_page, screenshot, showroom):
    store, _manager, receptionist, people = showroom
    maria = board_lead(store, "Maria", "Gonzalez", source=SourceType.PHONE_UP, provider="",
                       vehicle=("new", 2024, "Toyota", "Highlander"), waited=dt.timedelta(minutes=6, seconds=12))
    page = desktop_page
    open_board(page, live_server.url, "rita")

    maria_row = page.locator(f'[data-lead-id="{maria.pk}"]')
    assert "Phone-up" in maria_row.inner_text()
    clock = maria_row.locator(".wait-clock")
    first_reading = clock.inner_text()
    assert re.fullmatch(r"6:[1-5]\d", first_reading), first_reading  # 6:12 and the seconds since
    assert "late" in clock.get_attribute("class")  # past five minutes: red
    floor = page.locator(".floor-list").inner_text()
    assert "Ann Agent" in floor and "Bob Agent" in floor and "Dan Agent" not in floor
    assert "Dan Agent" in page.locator(".off-list").inner_text()

    sound = page.get_by_role("button", name="Turn on sound")
    sound.click()
    assert page.locator("#sound-toggle").get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(1100)
    assert clock.inner_text() != first_reading, "the wait clock ticks in the browser"

    jamal = board_lead(store, "Jamal", "Okafor", vehicle=("used", 2021, "Honda", "CR-V"))
    created = time.monotonic()
    jamal_row = page.locator(f'[data-lead-id="{jamal.pk}"]')
    jamal_row.wait_for(timeout=3000)
    assert time.monotonic() - created < 3.0
    assert page.evaluate("window.__sameDocument === true"), "the board reloaded instead of updating in place"
    assert "is-new" in jamal_row.get_attribute("class")  # flashes
    assert page.evaluate("document.getElementById('board').dataset.rings") == "1"  # and rang, once
    assert page.title().startswith("(2) Receptionist board")
    rows = page.locator("[data-lead-id]")
    assert [rows.nth(i).get_attribute("data-lead-id") for i in range(rows.count())] == [str(maria.pk), str(jamal.pk)]
    screenshot(page, "desktop-board-1-new-lead")

    jamal_row.get_by_role("button", name="Hand Jamal Okafor to Bob Agent").click()
    jamal_row.wait_for(state="detached")
    assert "Jamal Okafor handed to Bob Agent." in page.locator("#flash").inner_text()
    jamal.refresh_from_db()
    assert jamal.owner == people["bob"]
    assert list(LeadAssignment.objects.filter(lead=jamal, to_staff__isnull=False).values_list("to_staff", "assigned_by")) \
        == [(people["bob"].pk, receptionist.pk)]
    assert page.evaluate("window.__sameDocument === true")
    screenshot(page, "desktop-board-2-handed")

    # Another receptionist hands Maria while this board is cut off; the late click is told who has her.
    page.route("**/distribution/board/live/**", lambda route: route.abort())
    page.locator("#board-status[data-state=offline]").wait_for(timeout=3000)
    assert "Offline" in page.locator("#board-status").inner_text()
    services.lead_hand(lead=maria, to_staff=people["ann"], by=None)
    maria_row.get_by_role("button", name="Hand Maria Gonzalez to Bob Agent").click()
    maria_row.wait_for(state="detached")
    assert "Ann Agent already has this lead." in page.locator("#flash").inner_text()
    maria.refresh_from_db()
    assert maria.owner == people["ann"]
    assert LeadAssignment.objects.filter(lead=maria, to_staff__isnull=False).count() == 1
    page.unroute("**/distribution/board/live/**")
    page.locator("#board-status[data-state=live]").wait_for(timeout=3000)
    assert "No leads waiting" in page.locator("#board").inner_text()
    screenshot(page, "desktop-board-3-second-click")
    assert page.js_errors == []


def test_the_board_on_a_managers_phone(live_server, phone_page, screenshot, showroom):
    store, _manager, _receptionist, people = showroom
    board_lead(store, "Aleksandra", "Kowalczyk-Brandenburg", provider="Autotrader",
               vehicle=("new", 2025, "Toyota", "Grand Highlander Hybrid MAX Platinum"), waited=dt.timedelta(minutes=1))
    maria = board_lead(store, "Maria", "Gonzalez", source=SourceType.PHONE_UP, provider="",
                       vehicle=("new", 2024, "Toyota", "Highlander"), waited=dt.timedelta(seconds=20))
    page = phone_page
    open_board(page, live_server.url, "max")

    assert_no_horizontal_overflow(page, "board on a phone")
    row = page.locator(f'[data-lead-id="{maria.pk}"]')
    buttons = row.locator(".hand-btn")
    assert buttons.count() == 3
    for i in range(3):
        box = buttons.nth(i).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 120, box  # a thumb hits it
    clock_box = row.locator(".wait-clock").bounding_box()
    assert clock_box["y"] < buttons.nth(0).bounding_box()["y"], "the wait shows before the buttons"
    screenshot(page, "phone-board-1")

    buttons.filter(has_text="Cat Agent").tap()
    row.wait_for(state="detached")
    maria.refresh_from_db()
    assert maria.owner == people["cat"]
    assert_no_horizontal_overflow(page, "board on a phone after handing")
    screenshot(page, "phone-board-2-handed")
    assert page.js_errors == []
