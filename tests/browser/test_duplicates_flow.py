"""In a real browser, issue 15's story: Derek Halvorsen's lead arrives with the number of Noah
Brown, a customer another agent worked. Derek gets his own customer; the agent who owns his lead
sees Derek, not Noah's history; the sales manager reviews the pair side by side and keeps them
apart. At desk and phone size (screenshots in bench/results/screenshots/)."""

from __future__ import annotations

import pytest
from factories import ContactEventFactory, CustomerPhoneFactory, LeadFactory, StaffFactory, StoreFactory, TeamFactory

from leads.models import CustomerMerge, DuplicateStatus, PossibleDuplicate
from leads.services import LeadData, lead_create
from org.models import Role
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


@pytest.fixture
def floor():
    store = StoreFactory(name="North Motors", slug="north-motors")
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="frank",
                           user__first_name="Frank", user__last_name="Alvarez")
    team = TeamFactory(store=store, name="Internet", manager=manager)
    dana = StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team, user__username="dana",
                        user__first_name="Dana", user__last_name="Whitfield")
    luis = StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team, user__username="luis",
                        user__first_name="Luis", user__last_name="Ortega")
    noah = LeadFactory(store=store, owner=luis, customer__first_name="Noah", customer__last_name="Brown")
    CustomerPhoneFactory(customer=noah.customer, store=store, number="+13125550199")
    ContactEventFactory(store=store, customer=noah.customer, lead=noah, staff=luis)
    return {"store": store, "manager": manager, "dana": dana, "luis": luis, "noah": noah}


def arrive(store, first, last, phone, provider_id):
    return lead_create(store=store, data=LeadData(
        source_type="third_party", intake_channel="adf", first_name=first, last_name=last,
        phones=[(phone, "mobile")], emails=[f"{first.lower()}@example.com"], provider="Autotrader",
        provider_lead_id=provider_id,
    )).lead


def test_a_manager_keeps_two_people_who_share_a_phone_apart(live_server, desktop_page, phone_page, screenshot, floor):
    store, manager, dana = floor["store"], floor["manager"], floor["dana"]
    derek = arrive(store, "Derek", "Halvorsen", "(312) 555-0199", "AT-1")
    from distribution import services as ownership_writer

    ownership_writer.lead_owner_set(lead=derek, to_staff=dana, by=None, reason="test")
    pair = PossibleDuplicate.objects.get()

    # Dana opens her new lead: it is Derek's, with none of Noah's history.
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "dana", PASSWORD)
    page.goto(f"{live_server.url}/leads/{derek.pk}/")
    assert page.locator("h1").inner_text().startswith("Derek Halvorsen")
    assert "Noah" not in page.locator("main").inner_text()
    assert page.locator(".possible-dup").count() == 0  # the review is the managers'
    page.context.clear_cookies()

    # Frank reviews it from the Setup menu.
    open_login(page, live_server.url)
    log_in(page, "frank", PASSWORD)
    page.locator("details.nav-more summary").click()
    page.get_by_role("link", name="Duplicates").click()
    page.wait_for_url("**/customers/duplicates/")
    card = page.locator(f"#pair-{pair.pk}")
    text = card.inner_text()
    assert "Same phone, different name: Derek Halvorsen / Noah Brown" in text
    assert "Derek Halvorsen" in text and "Noah Brown" in text and "Luis Ortega" in text and "Dana Whitfield" in text
    assert "1 contact event" in text and "0 contact events" in text
    screenshot(page, "desktop-duplicates")
    with page.expect_navigation():
        card.get_by_role("button", name="Different people").click()
    assert "are different people" in page.locator(".messages").inner_text()
    assert page.locator(f"#pair-{pair.pk}").count() == 0
    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DIFFERENT and pair.decided_by == manager

    # A site sends Noah again under a nickname the rule will not guess: Frank merges it, then splits it back.
    nick = arrive(store, "Nate", "Brown", "(312) 555-0199", "AT-3")
    typo = PossibleDuplicate.objects.get(customer=nick.customer)
    page.reload()
    card = page.locator(f"#pair-{typo.pk}")
    with page.expect_navigation():
        card.get_by_role("button", name="Same person: merge into Noah Brown").click()
    assert "Merged: Nate Brown is now part of Noah Brown" in page.locator(".messages").inner_text()
    nick.refresh_from_db()
    assert nick.customer_id == floor["noah"].customer_id
    merge = CustomerMerge.objects.get()
    assert "Nate Brown" in page.locator(f"#merge-{merge.pk}").inner_text()
    screenshot(page, "desktop-duplicates-merged")
    with page.expect_navigation():
        page.locator(f"#merge-{merge.pk}").get_by_role("button", name="Split").click()
    assert "two customers again" in page.locator(".messages").inner_text()
    nick.refresh_from_db()
    assert nick.customer_id != floor["noah"].customer_id
    assert page.locator(f"#pair-{typo.pk}").count() == 1  # back in the queue, as before the merge
    assert not page.js_errors

    # On his phone, the next one: a spouse's lead with the same number.
    arrive(store, "Emma", "Brown", "(312) 555-0199", "AT-2")
    phone = phone_page
    open_login(phone, live_server.url)
    log_in(phone, "frank", PASSWORD)
    phone.goto(f"{live_server.url}/customers/duplicates/")
    phone.locator("li.dup-pair").first.wait_for()
    assert "Emma Brown" in phone.locator("#duplicates").inner_text()
    assert_no_horizontal_overflow(phone, "possible duplicates on a phone")
    screenshot(phone, "phone-duplicates")
    assert not phone.js_errors
