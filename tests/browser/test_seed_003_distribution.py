"""Seed 003's acceptance test, in real browsers: each person in their own logged-in context.

- A walk-in typed at the desk by the salesperson who met the customer: it is his, from its first
  moment, with no breach and no reassignment clock.
- A phone-up on a tracking number rings on the receptionist board; she hands it, in one click,
  to the salesperson who called in first, and that salesperson sees it as theirs.
- A web lead nobody answered in time moves to the next in line; the history says why, the new
  owner sees it, and the manager sees it on the lead page and on the queue.
- A claim-pool lead: one agent claims it; the other, whose page still offers it, is told who has it.

Screenshots at desk size and phone size (390x844) go to /tmp/seed003_*.png.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from factories import CustomerFactory, ShiftFactory, StaffFactory, StoreFactory, TeamFactory
from playwright.sync_api import expect

from distribution import services, sweeper
from distribution.models import LeadRouting, RoutingState
from leads.models import LeadAssignment, SourceType
from org.models import WEEKDAYS, Role
from telephony.calls import _phone_up_lead_create
from telephony.models import DealerNumber, NumberPurpose
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login
from tests.distribution.floor import agent, new_lead, rule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"  # tests/factories.py UserFactory
SHOTS = "/tmp/seed003_{}.png"


def on_shift_all_week(person):
    for weekday in range(7):
        ShiftFactory(staff=person, weekday=weekday, starts=dt.time(0), ends=dt.time(23, 59))
        ShiftFactory(staff=person, weekday=weekday, starts=dt.time(23, 30), ends=dt.time(0, 30))
    return person


@pytest.fixture
def store_003():
    """A store open around the clock (the browser runs at the real time), one team of two agents,
    a manager and a receptionist; phone-ups ring on her board, Cars.com leads go to a claim pool,
    everything else goes round robin with a 20-minute reassignment."""
    store = StoreFactory(name="North Motors", slug="north-motors",
                         business_hours={day: [["00:00", "23:59"]] for day in WEEKDAYS})
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="max",
                           user__first_name="Max", user__last_name="Reyes")
    team = TeamFactory(store=store, name="Showroom", manager=manager)
    people = {name: on_shift_all_week(agent(store, team, name, days=())) for name in ("ann", "bob")}
    receptionist = StaffFactory(store=store, role=Role.RECEPTIONIST, user__username="rita",
                                user__first_name="Rita", user__last_name="Desk")
    rule(store, team=team, name="Phone-ups: receptionist board", strategy="receptionist",
         source_type=SourceType.PHONE_UP, position=1)
    rule(store, team=team, name="Cars.com: first to claim", strategy="claim_pool", provider="Cars.com", position=2)
    rule(store, team=team, name="Internet: 20-minute rule", strategy="round_robin_reassign", response_minutes=20,
         is_fallback=True)
    tracking = DealerNumber.objects.create(store=store, number="+13125550100", purpose=NumberPurpose.TRACKING,
                                           source_type=SourceType.PHONE_UP, provider="Autotrader ad")
    return store, manager, receptionist, people, tracking


def signed_in(browser, live_server, username, viewport):
    extra = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if viewport == PHONE else {}
    context = browser.new_context(viewport=viewport, **extra)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    open_login(page, live_server.url)
    log_in(page, username, PASSWORD)
    return context, page


def shot(page, name):
    page.screenshot(path=SHOTS.format(name), full_page=True)


def test_seed_003_distribution(live_server, browser, store_003):
    store, manager, receptionist, people, tracking = store_003
    url = live_server.url
    contexts = []

    def person(username, viewport=DESKTOP):
        context, page = signed_in(browser, live_server, username, viewport)
        contexts.append(context)
        return page

    rita = person("rita")
    ann = person("ann")
    bob = person("bob", PHONE)  # on the floor, with his phone
    max_ = person("max")
    try:
        # 1. A walk-in, typed at the desk by Bob, who met the customer: his, with no clock.
        bob.goto(f"{url}/leads/new/")
        bob.locator("#id_source_type").select_option(SourceType.WALK_IN)
        bob.locator("#id_first_name").fill("Walter")
        bob.locator("#id_last_name").fill("Kowalski")
        bob.locator("#id_phone").fill("(312) 555-0188")
        bob.locator("#id_make").fill("Ford")
        bob.locator("#id_model").fill("F-150")
        with bob.expect_navigation():
            bob.locator("form button[type=submit]").last.click()
        expect(bob.locator(".messages")).to_contain_text("Lead saved.")
        routing_panel = bob.locator("#routing")
        expect(routing_panel).to_contain_text("Working it: Bob Agent")
        expect(routing_panel).to_contain_text("Stopped: the customer has had two-way contact")
        expect(bob.locator("#assignment-history li").first).to_contain_text("Entered by its owner.")
        assert bob.locator(".breach").count() == 0 and bob.locator(".countdown").count() == 0
        assert_no_horizontal_overflow(bob, "walk-in lead page (phone)")
        shot(bob, "1_walkin_bob_phone")
        walk_in = LeadRouting.objects.select_related("lead").get(lead__customer__last_name="Kowalski")
        assert walk_in.lead.owner == people["bob"] and walk_in.response_due_at is None and not walk_in.breached

        # 2. A phone-up on the Autotrader tracking number rings on Rita's board; Ann calls in first.
        rita.goto(f"{url}/distribution/board/")
        rita.locator("#board .board-grid").wait_for()
        phone_up = _phone_up_lead_create(number=tracking, caller="+13125550142", at=timezone.now())
        assert services.lead_route(lead_id=phone_up.pk)
        row = rita.locator(f'[data-lead-id="{phone_up.pk}"]')
        row.wait_for(timeout=5000)  # rings without a reload
        expect(row).to_contain_text("Phone-up")
        expect(row).to_contain_text("Autotrader ad")
        shot(rita, "2_board_rita_desk")
        row.get_by_role("button", name="to Ann Agent").click()
        row.wait_for(state="detached")
        expect(rita.locator("#flash")).to_contain_text("handed to Ann Agent.")
        phone_up.refresh_from_db()
        assert phone_up.owner == people["ann"]
        ann.goto(f"{url}/leads/{phone_up.pk}/")
        expect(ann.locator("#routing")).to_contain_text("Working it: Ann Agent")
        expect(ann.locator("#assignment-history li").last).to_contain_text("Handed to Ann Agent, first to call in, by Rita Desk.")
        shot(ann, "3_phoneup_ann_desk")

        # 3. A web lead from TrueCar: the first in line lets 20 business minutes pass.
        web = new_lead(store, customer=CustomerFactory(store=store, first_name="Maria", last_name="Gonzalez"),
                       provider="TrueCar", source_type=SourceType.THIRD_PARTY,
                       received_at=timezone.now() - dt.timedelta(minutes=25))
        assert services.lead_route(lead_id=web.pk, now=timezone.now() - dt.timedelta(minutes=25))
        web.refresh_from_db()
        first = web.owner
        due = LeadRouting.objects.get(lead=web).response_due_at
        assert sweeper.responses_due(now=due) == 1
        web.refresh_from_db()
        second = web.owner
        assert first is not None and second is not None and first != second
        # The manager sees why on the lead page, and the lead on the queue's breaches.
        max_.goto(f"{url}/leads/{web.pk}/")
        moved = max_.locator("#assignment-history li").last
        expect(moved).to_contain_text(f"{first.display_name} → {second.display_name}")
        expect(moved).to_contain_text(f"{first.display_name} made no first attempt within 20 business minutes")
        expect(moved).to_contain_text("automatic")
        shot(max_, "4_reassigned_manager_desk")
        max_.goto(f"{url}/distribution/queue/")
        expect(max_.locator("#breaches")).to_contain_text("Maria Gonzalez")
        # The walk-in and the handed phone-up are not breaches.
        expect(max_.locator("#breaches")).not_to_contain_text("Kowalski")
        shot(max_, "5_queue_manager_desk")
        # The new owner sees it as theirs.
        owner_page = ann if second == people["ann"] else bob
        owner_page.goto(f"{url}/leads/{web.pk}/")
        expect(owner_page.locator("#routing")).to_contain_text(f"Working it: {second.display_name}")
        shot(owner_page, "6_reassigned_new_owner_" + ("desk" if owner_page is ann else "phone"))

        # 4. A Cars.com lead in the claim pool: both see it; Ann claims it; Bob's click is told.
        pool = new_lead(store, customer=CustomerFactory(store=store, first_name="Grace", last_name="Okafor"),
                        provider="Cars.com", source_type=SourceType.THIRD_PARTY,
                        received_at=timezone.now() - dt.timedelta(minutes=1))
        assert services.lead_route(lead_id=pool.pk)
        pool.refresh_from_db()
        assert pool.in_claim_pool and LeadRouting.objects.get(lead=pool).state == RoutingState.POOL
        ann.goto(f"{url}/leads/{pool.pk}/")
        bob.goto(f"{url}/leads/{pool.pk}/")
        expect(bob.locator("#claim-lead")).to_be_visible()
        shot(bob, "7_pool_bob_phone")
        with ann.expect_navigation():
            ann.locator("#claim-lead").click()
        expect(ann.locator(".messages")).to_contain_text("The lead is yours")
        with bob.expect_navigation():
            bob.locator("#claim-lead").click()
        # Bob no longer sees the lead (it is Ann's): he is told who has it, on his list, not "Not Found".
        expect(bob.locator(".messages")).to_contain_text("Ann Agent already has this lead.")
        assert bob.url.endswith("/leads/")
        assert bob.get_by_role("button", name="Claim Grace Okafor").count() == 0
        shot(bob, "8_pool_taken_bob_phone")
        pool.refresh_from_db()
        assert pool.owner == people["ann"]
        assert LeadAssignment.objects.filter(lead=pool, to_staff__isnull=False).count() == 1

        # Phone-size views of the receptionist board and the manager queue.
        for page, path, name in ((rita, "/distribution/board/", "9_board_rita_phone"),
                                 (max_, "/distribution/queue/", "10_queue_manager_phone")):
            page.set_viewport_size(PHONE)
            page.goto(f"{url}{path}")
            assert_no_horizontal_overflow(page, name)
            shot(page, name)
        for page in (rita, ann, bob, max_):
            assert page.js_errors == [], page.js_errors
    finally:
        for context in contexts:
            context.close()
