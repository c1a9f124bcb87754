"""Seed 000, acted out in real browsers, each person in their own logged-in context.

Dana (internet agent, Mike's team) worked Maria Gonzalez for nine days; Maria's last email
reply came nine days before the sale; Dana kept calling, texting and emailing. Sam (retail,
Rita's team) sold Maria a car. Rita records the sale by searching Maria's name. Dana sees the
decision and why, on her deal list and the deal page, and disputes it; Mike (her manager) sees
the dispute in his review queue and overrides with a reason; Rita sees it too; Dana sees the
resolution. Screenshots at desk and phone size go to /tmp/seed000_*.png.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dealcoverage.models import Deal, DealCredit, Dispute, DisputeStatus
from leads.models import LeadStatus, Task
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login
from tests.coverage import seed000

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
COMMENT = "I worked Maria for nine days: 3 email replies and a 6-minute call. She came in on my quote."
REASON = "Maria came in on Dana's quote; Dana kept following up. Half deal."


def shot(page, name: str) -> None:
    page.screenshot(path=f"/tmp/seed000_{name}.png", full_page=True)


def context_for(browser, live_server, username: str, viewport):
    extra = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if viewport == PHONE else {}
    context = browser.new_context(viewport=viewport, **extra)
    context.set_default_timeout(10_000)
    page = context.new_page()
    open_login(page, live_server.url)
    log_in(page, username, PASSWORD)
    return context, page


def test_seed_000_who_deserves_the_deal(live_server, browser, store):
    org = seed000.people(store)
    now = timezone.now().replace(second=0, microsecond=0)
    month_start = timezone.localtime(now, store.tz).replace(day=1, hour=0, minute=0)
    sold_at = max(now - dt.timedelta(minutes=30), month_start + dt.timedelta(minutes=1))
    world = seed000.scenario(store, org, sold_at)
    lead = world["lead"]
    contexts = []
    try:
        # --- Rita (Sam's manager) records the sale, finding Maria by name ---------------------------
        ctx, rita = context_for(browser, live_server, "rita", DESKTOP)
        contexts.append(ctx)
        rita.goto(f"{live_server.url}/coverage/deals/")
        rita.locator("#record-sale").click()
        rita.locator("#sale-q").fill("Maria Gonzalez")
        with rita.expect_navigation():
            rita.locator("#sale-search button[type=submit]").click()
        results = rita.locator("#sale-results")
        assert "Maria Gonzalez" in results.inner_text() and "Dana Whitfield" in results.inner_text()
        shot(rita, "1_rita_search_desk")
        with rita.expect_navigation():
            results.get_by_role("link", name="Choose Maria Gonzalez").click()
        assert "Maria Gonzalez" in rita.locator("#sale-customer").inner_text()
        rita.locator("#id_closer").select_option(str(org["sam"].pk))
        rita.locator("#id_sold_at").fill(timezone.localtime(sold_at, store.tz).strftime("%Y-%m-%dT%H:%M"))
        rita.locator("#id_vehicle").fill("2024 Toyota RAV4 XLE")
        with rita.expect_navigation():
            rita.get_by_role("button", name="Record the sale").click()
        deal = Deal.objects.get()
        assert rita.url.endswith(f"/coverage/deals/{deal.pk}/")
        assert "Sam Ortiz" in rita.locator("#active-credits").inner_text()
        assert "not covered" in rita.locator("#decision").inner_text()
        shot(rita, "2_rita_deal_desk")
        lead.refresh_from_db()
        assert lead.status == LeadStatus.SOLD
        assert not Task.objects.filter(lead=lead, completed_at__isnull=True, canceled_at__isnull=True).exists()

        # --- Dana sees the decision and why: deal list, deal page, her lead's Deal card ------------
        ctx, dana = context_for(browser, live_server, "dana", DESKTOP)
        contexts.append(ctx)
        dana.goto(f"{live_server.url}/coverage/deals/")
        row = dana.locator("#deal-list tr", has_text="Maria Gonzalez")
        assert "Not covered" in row.inner_text() and "Sam Ortiz" in row.inner_text()
        shot(dana, "3_dana_deals_desk")
        dana.goto(f"{live_server.url}/leads/{lead.pk}/")
        card = dana.locator(f"#lead-deal-{deal.pk}")
        assert "You: no credit." in card.inner_text()
        shot(dana, "4_dana_lead_card_desk")
        with dana.expect_navigation():
            card.get_by_role("link", name="Open the deal").click()
        why = dana.locator("#decision").inner_text()
        assert "Dana Whitfield" in why and "not covered" in why
        dana.locator("#dispute-form textarea").fill(COMMENT)
        with dana.expect_navigation():
            dana.get_by_role("button", name="Send to my manager").click()
        assert COMMENT in dana.locator("#disputes").inner_text()
        assert "Open" in dana.locator("#disputes").inner_text()
        shot(dana, "5_dana_disputed_desk")

        # Dana on her phone: the same deal page, nothing scrolls sideways.
        ctx, dana_phone = context_for(browser, live_server, "dana", PHONE)
        contexts.append(ctx)
        dana_phone.goto(f"{live_server.url}/coverage/deals/{deal.pk}/")
        assert_no_horizontal_overflow(dana_phone, "Dana's deal page on a phone")
        shot(dana_phone, "6_dana_deal_phone")

        # --- Both managers see the dispute in their review queue at once -----------------------
        rita.goto(f"{live_server.url}/coverage/deals/")
        assert COMMENT in rita.locator("#review-queue").inner_text()
        ctx, mike = context_for(browser, live_server, "mike", DESKTOP)
        contexts.append(ctx)
        mike.goto(f"{live_server.url}/coverage/deals/")
        queue = mike.locator("#review-queue")
        assert COMMENT in queue.inner_text() and "Dana Whitfield" in queue.inner_text()
        shot(mike, "7_mike_queue_desk")
        with mike.expect_navigation():
            queue.get_by_role("link", name=f"Deal #{deal.pk}").click()
        mike.locator(f"#id_share_{org['dana'].pk}").fill("50")
        mike.locator(f"#id_share_{org['sam'].pk}").fill("50")
        mike.locator("#override-form textarea").fill(REASON)
        with mike.expect_navigation():
            mike.get_by_role("button", name="Override").click()
        assert "Dana Whitfield" in mike.locator("#active-credits").inner_text()
        shot(mike, "8_mike_overridden_desk")
        assert Dispute.objects.get().status == DisputeStatus.CHANGED
        assert DealCredit.objects.filter(deal=deal, staff=org["dana"], active=True).exists()

        # Mike on his phone: the queue is empty now.
        ctx, mike_phone = context_for(browser, live_server, "mike", PHONE)
        contexts.append(ctx)
        mike_phone.goto(f"{live_server.url}/coverage/deals/")
        assert "No open disputes." in mike_phone.locator("#review-queue").inner_text()
        assert_no_horizontal_overflow(mike_phone, "Mike's deal list on a phone")
        shot(mike_phone, "9_mike_deals_phone")

        # --- Dana sees the resolution ------------------------------------------------------------
        dana.reload()
        disputes = dana.locator("#disputes").inner_text()
        assert "Credit changed" in disputes and REASON in disputes
        assert "50 % Dana Whitfield" in dana.locator("#active-credits").inner_text()
        shot(dana, "10_dana_resolved_desk")
        dana_phone.reload()
        assert REASON in dana_phone.locator("#disputes").inner_text()
        shot(dana_phone, "11_dana_resolved_phone")
        dana.goto(f"{live_server.url}/coverage/deals/")
        assert "Covered: 50 %" in dana.locator("#deal-list tr", has_text="Maria Gonzalez").inner_text()
    finally:
        for ctx in contexts:
            ctx.close()
