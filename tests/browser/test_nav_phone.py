"""The main menu on a manager's phone: the nav is one row that scrolls sideways, and the Setup
menu opens on rows of its own with every item in view (it used to open further along that row,
off the right edge of the screen). The director lands on the sales board of a store with nobody
on it yet, whose one-sentence row must not widen the page either."""

from __future__ import annotations

import pytest
from factories import StaffFactory, StoreFactory

from org.models import Role
from tests.browser.conftest import PHONE
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


def test_setup_opens_in_view_on_a_phone(live_server, phone_page, screenshot):
    store = StoreFactory(name="North Motors", slug="north-motors")
    director = StaffFactory(store=store, role=Role.INTERNET_DIRECTOR, user__username="donna")
    director.user.set_password(PASSWORD)
    director.user.save()
    page = phone_page
    open_login(page, live_server.url)
    log_in(page, "donna", PASSWORD)

    items = page.locator("details.nav-more .nav-more-menu a")
    assert not items.first.is_visible()  # closed until asked
    page.locator("details.nav-more summary").click()
    names = [items.nth(i).inner_text() for i in range(items.count())]
    assert {"Routing", "Schedules", "What-if", "Duplicates", "Policies", "Cadence", "API"} <= set(names)
    for i in range(items.count()):
        box = items.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (names[i], box)
    assert_no_horizontal_overflow(page, "the open Setup menu")
    screenshot(page, "phone-setup-menu")

    page.get_by_role("link", name="Cadence").click()
    page.wait_for_url("**/follow-up/cadence/")
