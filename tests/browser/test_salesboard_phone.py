"""A store's first day on a manager's phone: the director lands on the sales board of a store
with nobody on it yet, and its one-sentence row ("Nobody on the board yet…") wraps instead of
widening the page past the screen (it made the page 641 px wide in a 390 px viewport)."""

from __future__ import annotations

import pytest
from factories import StaffFactory, StoreFactory

from org.models import Role
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


def test_an_empty_sales_board_fits_a_phone(live_server, phone_page, screenshot):
    store = StoreFactory(name="North Motors", slug="north-motors")
    StaffFactory(store=store, role=Role.INTERNET_DIRECTOR, user__username="donna")
    page = phone_page
    open_login(page, live_server.url)
    log_in(page, "donna", PASSWORD)
    page.wait_for_url("**/sales-board/")
    assert "Nobody on the board yet" in page.locator("main").inner_text()
    assert_no_horizontal_overflow(page, "an empty sales board")
    screenshot(page, "phone-salesboard-empty")
