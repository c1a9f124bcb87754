"""A sales manager keeps the schedule in a real browser: opens Schedules from Setup, sees who is
on the floor, mistypes a day and is told which, saves a week, adds time off; then checks the
week on a phone. Screenshots at desk and phone size go to bench/results/screenshots/."""

from __future__ import annotations

import datetime as dt

import pytest
from factories import ShiftFactory, StoreFactory

from org.models import Shift, TimeOff
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login
from tests.distribution.floor import floor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
ALL_DAY = dt.time(23, 59, 59, 999999)


@pytest.fixture
def manager_floor():
    store = StoreFactory(name="North Motors", slug="north-motors")
    team, manager, people = floor(store)
    Shift.objects.filter(staff=people["ann"]).delete()
    for day in range(7):  # Ann works around the clock, so she is on the floor whenever the test runs
        ShiftFactory(staff=people["ann"], weekday=day, starts=dt.time(0), ends=ALL_DAY)
    return store, manager, people


def test_manager_saves_a_week_and_time_off_then_checks_it_on_a_phone(live_server, desktop_page, phone_page, screenshot,
                                                                      manager_floor):
    store, manager, people = manager_floor
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, manager.user.username, PASSWORD)

    page.locator("header.top nav summary", has_text="Setup").click()
    page.locator("header.top nav").get_by_role("link", name="Schedules").click()
    page.wait_for_url("**/schedules/")
    assert "Ann Agent" in page.locator("#on-now").inner_text()
    assert "9am-6pm" in page.locator(f"#staff-{people['bob'].pk}").inner_text()
    screenshot(page, "schedules-1-week-desktop")

    page.get_by_role("link", name="Change Bob Agent's schedule").click()
    page.wait_for_url(f"**/schedules/{people['bob'].pk}/")
    page.get_by_label("Saturday").fill("off")
    page.get_by_label("Sunday").fill("lunch")
    page.get_by_role("button", name="Save the week").click()
    error = page.locator(".day-field.has-error .error")
    error.wait_for()
    assert "“lunch” is not a shift" in error.inner_text()
    assert page.get_by_label("Saturday").input_value() == "off"  # the rest of what was typed is kept
    screenshot(page, "schedules-2-error-desktop")
    assert Shift.objects.filter(staff=people["bob"], weekday=5).exists()  # nothing saved yet

    page.get_by_label("Sunday").fill("10am-4pm")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the week").click()
    row = page.locator(f"#staff-{people['bob'].pk}")
    assert "week is saved" in page.locator(".messages").inner_text()
    assert "10am-4pm" in row.inner_text()
    assert not Shift.objects.filter(staff=people["bob"], weekday=5).exists()

    page.get_by_role("link", name="Change Bob Agent's schedule").click()
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    page.get_by_label("First day").fill(tomorrow.isoformat())
    page.get_by_label("Reason (optional)").fill("Dentist")
    with page.expect_navigation():
        page.get_by_role("button", name="Add time off").click()
    assert "Dentist" in page.locator("#time-off").inner_text()
    assert TimeOff.objects.filter(staff=people["bob"], first_day=tomorrow, last_day=tomorrow).exists()
    screenshot(page, "schedules-3-edit-desktop")

    phone = phone_page
    open_login(phone, live_server.url)
    log_in(phone, manager.user.username, PASSWORD)
    phone.locator("header.top nav summary", has_text="Setup").click()
    link = phone.locator("header.top nav").get_by_role("link", name="Schedules")
    phone.wait_for_function("() => document.querySelector('header.top nav').scrollLeft > 0")
    box = link.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 390, f"Schedules is off screen: {box}"
    screenshot(phone, "schedules-4-setup-menu-phone")
    link.click()
    phone.wait_for_url("**/schedules/")
    assert "Ann Agent" in phone.locator("#on-now").inner_text()
    bob = phone.locator(f"#staff-{people['bob'].pk}")
    assert "Off " in bob.inner_text()  # his time off shows on the week
    assert_no_horizontal_overflow(phone, "the week on a phone")
    screenshot(phone, "schedules-5-week-phone")
