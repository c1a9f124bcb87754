"""The sales board in a real browser: a sales manager opens it, switches the period, opens the
showroom TV mode; the director sees the whole store; the board on a phone scrolls inside its
card. Screenshots go to bench/results/screenshots/salesboard-*.png.

The store gets a month of believable numbers (bulk-inserted up to the clock, which the board
counts by), so the screenshots look like a real afternoon's board. The clock is pinned, running, to
a recent Wednesday afternoon: on the 1st of a month "today" and "month to date" are the same
numbers, and before 8:30 there are none.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from factories import CustomerFactory, ShiftFactory, StaffFactory, StoreFactory, TeamFactory

from dealcoverage.models import Deal, DealCredit
from distribution.models import LeadRouting
from leads.models import Appointment, ContactEvent, Lead, LeadStatusChange, SourceType
from org.models import Role
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
TV = {"width": 1920, "height": 1080}
CHICAGO = ZoneInfo("America/Chicago")  # tests/factories.py StoreFactory.time_zone


def _people(store, prefix=""):
    internet = TeamFactory(store=store, name="Internet Team")
    floor = TeamFactory(store=store, name="Floor Team")

    def staff(username, first, last, role, team=None):
        return StaffFactory(store=store, role=role, team=team, user__username=prefix + username,
                            user__first_name=first, user__last_name=last)

    marcus = staff("marcus", "Marcus", "Reed", Role.SALES_MANAGER)
    internet.manager = marcus
    internet.save()
    floor.manager = staff("dana", "Dana", "Brooks", Role.SALES_MANAGER)
    floor.save()
    staff("gloria", "Gloria", "Hayes", Role.INTERNET_DIRECTOR)
    agents = [staff(u, f, last, Role.INTERNET_AGENT, internet) for u, f, last in [
        ("tasha", "Tasha", "Nguyen"), ("kevin", "Kevin", "Ortiz"), ("priya", "Priya", "Shah"),
        ("luis", "Luis", "Romero"), ("erin", "Erin", "McAllister-Whitfield"),
    ]]
    retail = [staff(u, f, last, Role.RETAIL, floor) for u, f, last in [
        ("mike", "Mike", "Carter"), ("jenna", "Jenna", "Wells"), ("sam", "Sam", "Patel"),
    ]]
    for person in agents:
        for weekday in range(5):
            ShiftFactory(staff=person, weekday=weekday)
    for person in retail:
        for weekday in range(6):
            ShiftFactory(staff=person, weekday=weekday)
    return marcus, agents, retail


def _month_of_numbers(store, agents, retail, now):
    """Leads, calls, texts, emails, appointments, sales and credits for the month so far."""
    rng = random.Random(7)
    tz = store.tz
    today = timezone.localtime(now, tz).date()
    events, routings, appointments, sold = [], [], [], []
    pool: dict[int, list[Lead]] = {p.pk: [] for p in agents + retail}
    effort = {p.pk: rng.uniform(0.75, 1.3) for p in agents + retail}
    day = today.replace(day=1)
    sid = 0
    while day <= today:
        opens = dt.datetime.combine(day, dt.time(8, 30), tzinfo=tz)
        closes = min(dt.datetime.combine(day, dt.time(19, 0), tzinfo=tz), now - dt.timedelta(minutes=1))
        if closes <= opens or day.weekday() == 6:
            day += dt.timedelta(days=1)
            continue
        span = (closes - opens).total_seconds()

        def moment(opens=opens, span=span):
            return opens + dt.timedelta(seconds=span * rng.random())

        for person in agents + retail:
            if person in agents and day.weekday() == 5:
                continue
            agent = person in agents
            share = span / (10.5 * 3600)
            for _ in range(max(0, round(rng.uniform(2, 5) * share if agent else rng.uniform(0, 2) * share))):
                received = moment()
                source = rng.choice([SourceType.THIRD_PARTY, SourceType.OEM, SourceType.DEALER_WEBSITE]) if agent \
                    else SourceType.PHONE_UP
                customer = CustomerFactory(store=store)
                lead = Lead.objects.create(store=store, customer=customer, owner=person, source_type=source,
                                           intake_channel="api", received_at=received, routed_at=received)
                late = rng.random() < (0.12 if agent else 0.3)
                attempt = received + dt.timedelta(minutes=rng.uniform(25, 90) if late else rng.uniform(1, 18))
                routings.append(LeadRouting(
                    lead=lead, store=store, state="assigned", clock_started_at=received,
                    breach_at=received + dt.timedelta(minutes=20), first_attempt_at=attempt if attempt < now else None,
                ))
                if rng.random() < 0.35:
                    appointments.append(Appointment(
                        store=store, lead=lead, customer=customer, staff=person, starts_at=received + dt.timedelta(days=1),
                        created_at=min(attempt + dt.timedelta(minutes=30), now), status="set",
                    ))
                    if rng.random() < 0.5 and received + dt.timedelta(days=1) < now:
                        appointments[-1].status = "shown"
                        appointments[-1].shown_at = received + dt.timedelta(days=1)
                        if rng.random() < 0.45:
                            sold.append((lead, person, received + dt.timedelta(days=1, hours=2)))
                pool[person.pk].append(lead)
            # The day's follow-up, spread over the person's recent customers (an agent has 100-150).
            recent = pool[person.pk][-120:]
            if not recent:
                continue
            dials = round((rng.uniform(75, 125) * effort[person.pk] if agent else rng.uniform(4, 18)) * share)
            for _ in range(dials):
                sid += 1
                on = rng.choice(recent)
                connected = rng.random() < 0.13
                talk = rng.choice([rng.randint(5, 25), rng.randint(35, 400), rng.randint(60, 600)]) if connected else None
                events.append(ContactEvent(
                    store=store, customer_id=on.customer_id, lead=on, staff=person, channel="call", direction="outbound",
                    outcome="connected" if connected else rng.choice(["no_answer", "voicemail", "busy"]),
                    occurred_at=moment(), evidence_level="verified", call_sid=f"CA{sid:030d}",
                    talk_seconds=talk, answered_by_person=connected or None,
                ))
            texts, emails = (rng.uniform(10, 26), rng.uniform(4, 12)) if agent else (rng.uniform(0, 5), rng.uniform(0, 2))
            for channel in ["text"] * round(texts * share) + ["email"] * round(emails * share):
                sid += 1
                on = rng.choice(recent)
                mine = rng.random() < (0.97 if agent else 0.6)
                events.append(ContactEvent(
                    store=store, customer_id=on.customer_id, lead=on, staff=person, channel=channel, direction="outbound",
                    outcome="sent", occurred_at=moment(), evidence_level="verified" if mine else "self_reported",
                    message_sid=f"SM{sid:030d}" if channel == "text" and mine else "",
                    email_message_id=f"<{sid}@lakeside.example>" if channel == "email" and mine else "",
                    outside_company_channels=not mine,
                ))
        day += dt.timedelta(days=1)
    LeadRouting.objects.bulk_create(routings)
    Appointment.objects.bulk_create(appointments)
    ContactEvent.objects.bulk_create(events, batch_size=2000)
    for lead, owner, when in sold:
        if when < now:
            LeadStatusChange.objects.create(lead=lead, from_status="shown", to_status="sold", changed_at=when)
            closer = owner if owner in retail or rng.random() < 0.5 else rng.choice(retail)
            deal = Deal.objects.create(store=store, customer=lead.customer, lead=lead, closer=closer, sold_at=when,
                                       source="browser", decision={"decisions": {str(owner.pk): {}, str(closer.pk): {}}})
            if closer != owner and rng.random() < 0.6:
                DealCredit.objects.create(deal=deal, staff=closer, share=Decimal("0.5"), reason="closed")
                DealCredit.objects.create(deal=deal, staff=owner, share=Decimal("0.5"), reason="covered")
            else:
                DealCredit.objects.create(deal=deal, staff=closer, share=Decimal("1"), reason="closed")


def _people_named(store):
    """The same team shapes in another store (usernames prefixed so they stay unique)."""
    return _people(store, prefix=f"{store.slug}-")


def _a_recent_wednesday_afternoon(now: dt.datetime, tz) -> dt.datetime:
    """15:00 on the latest Wednesday before `now` that is at least the 3rd of its month: a month so
    far with working days before today, recent enough for the browser to keep the session cookie."""
    day = timezone.localtime(now, tz).date() - dt.timedelta(days=1)
    while day.weekday() != 2 or day.day < 3:
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(15), tzinfo=tz)


@pytest.fixture
def wednesday_afternoon():
    moment = _a_recent_wednesday_afternoon(timezone.now(), CHICAGO)
    with time_machine.travel(moment, tick=True):
        yield moment


@pytest.fixture
def busy_store(wednesday_afternoon):
    store = StoreFactory(name="Lakeside Toyota", slug="lakeside-toyota", daily_call_target=120)
    marcus, agents, retail = _people(store)
    _month_of_numbers(store, agents, retail, timezone.now())
    return store, marcus, agents, retail


def _board_rows(page) -> list[str]:
    return page.locator("tbody .sb-row.person .sb-name").all_inner_texts()


def test_manager_opens_the_board_switches_period_and_opens_tv_mode(live_server, desktop_page, browser, screenshot,
                                                                    busy_store):
    store, marcus, agents, retail = busy_store
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "marcus", PASSWORD)
    page.goto(f"{live_server.url}/sales-board/")
    page.locator("#board").wait_for()
    assert "Sales board" in page.locator("h1").inner_text()
    names = _board_rows(page)
    # Marcus manages the internet team: its five agents, not the floor team.
    assert sorted(n.strip() for n in names) == sorted(a.display_name for a in agents)
    assert page.locator(".sb-row.store").count() == 0
    assert page.locator(".sb-tile").count() == 6
    # Each name opens that person's recorded calls.
    href = page.locator("tbody .sb-row.person .sb-name a").first.get_attribute("href")
    assert href.startswith("/calls/review/?staff=")
    screenshot(page, "salesboard-1-manager-today")

    # Month to date: an htmx swap (no reload), the address follows, the numbers change.
    page.evaluate("window.__sameDocument = true")
    today_calls = page.locator(".sb-row.team td.calls .sb-calls").inner_text()
    with page.expect_response(lambda r: "period=mtd" in r.url):
        page.locator(".sb-tab[data-period=mtd]").click()
    page.locator("#board[data-period=mtd]").wait_for()
    assert page.evaluate("window.__sameDocument === true"), "the tab reloaded the page instead of swapping the board"
    assert page.url.endswith("?period=mtd")
    assert page.locator(".sb-tab.active").inner_text() == "Month to date"
    mtd_calls = page.locator(".sb-row.team td.calls .sb-calls").inner_text()
    assert mtd_calls != today_calls
    assert page.locator(".sb-chart svg polyline").count() == 2  # calls and leads per day, one team
    screenshot(page, "salesboard-2-manager-month-to-date")

    # Yesterday, then back with the browser's back button.
    page.locator(".sb-tab[data-period=yesterday]").click()
    page.locator("#board[data-period=yesterday]").wait_for()
    page.go_back()
    page.locator("#board[data-period=mtd]").wait_for()

    # TV mode: no navigation, big type, refreshes itself.
    page.locator("#tv-link").click()
    page.wait_for_url("**tv=1**")
    page.locator("#tv").wait_for()
    assert page.locator("header.top").count() == 0
    assert page.locator("#tv").get_attribute("hx-trigger") == "every 60s"
    # Readable from across the room: the page's 15 px text becomes 20 px and more, the tiles' numbers 40 px and more.
    tile_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.tv-tile strong')).fontSize)")
    row_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.tv-table tbody th')).fontSize)")
    assert tile_size >= 40 and row_size >= 20, (tile_size, row_size)
    assert page.js_errors == []

    tv = browser.new_context(viewport=TV)
    try:
        tv_page = tv.new_page()
        open_login(tv_page, live_server.url)
        log_in(tv_page, "marcus", PASSWORD)
        tv_page.goto(f"{live_server.url}/sales-board/?tv=1")
        tv_page.locator("#tv").wait_for()
        assert tv_page.locator(".tv-table tbody tr").count() == len(agents)
        # It asks for a fresh board by itself (a minute in real life; triggered here).
        with tv_page.expect_response(lambda r: "tv=1" in r.url and r.request.headers.get("hx-request") == "true"):
            tv_page.evaluate("htmx.ajax('GET', document.querySelector('#tv').getAttribute('hx-get'), "
                             "{target: '#tv', swap: 'outerHTML'})")
        tv_page.locator("#tv").wait_for()
        assert tv_page.locator(".tv-table tbody tr").count() == len(agents)
        screenshot(tv_page, "salesboard-4-tv")
    finally:
        tv.close()


def test_director_sees_the_whole_store(live_server, desktop_page, screenshot, busy_store):
    store, marcus, agents, retail = busy_store
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "gloria", PASSWORD)
    page.goto(f"{live_server.url}/sales-board/?period=mtd")
    page.locator("#board").wait_for()
    assert len(_board_rows(page)) == len(agents) + len(retail)
    assert page.locator(".sb-row.team").count() == 2
    assert "Lakeside Toyota" in page.locator(".sb-row.store").inner_text()
    # Below-pace calls are flagged red somewhere on a board where agents make 60-125 of 120.
    assert page.locator("td.calls.bad").count() >= 1
    # At a 1366 px desk the whole table fits: no sideways scrolling to reach the credits.
    widths = page.locator(".sb-scroll").evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1], widths
    screenshot(page, "salesboard-3-director-month-to-date")
    # The CSV link downloads the same numbers.
    with page.expect_download() as download:
        page.locator("#csv-link").click()
    assert download.value.suggested_filename.startswith("sales-board-lakeside-toyota-mtd-")
    assert page.js_errors == []


def test_board_on_a_phone_collapses_to_cards(live_server, phone_page, screenshot, busy_store):
    page = phone_page
    open_login(page, live_server.url)
    log_in(page, "marcus", PASSWORD)
    page.goto(f"{live_server.url}/sales-board/")
    page.locator("#board").wait_for()
    assert_no_horizontal_overflow(page, "sales board on a phone")
    # One card per person: the name and the calls on the first line, every number labelled, all in view.
    first = page.locator("tbody .sb-row.person").first
    assert first.evaluate("el => getComputedStyle(el).display") == "grid"
    name, calls = first.locator(".sb-name").bounding_box(), first.locator("td.calls").bounding_box()
    assert abs(name["y"] - calls["y"]) < 12 and calls["x"] > name["x"]
    width = page.viewport_size["width"]
    for cell in first.locator("td").all():
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, cell.get_attribute("data-label")
    assert first.locator("td.resp").evaluate("el => getComputedStyle(el, '::before').content") == '"Response"'
    screenshot(page, "salesboard-5-phone")
    page.locator(".sb-tab[data-period=mtd]").click()
    page.locator("#board[data-period=mtd]").wait_for()
    assert_no_horizontal_overflow(page, "sales board on a phone, month to date")
    screenshot(page, "salesboard-6-phone-month-to-date")
    assert page.js_errors == []


def test_group_admin_sees_each_store_and_opens_one(live_server, desktop_page, screenshot, busy_store):
    store, marcus, agents, retail = busy_store
    sister = StoreFactory(name="Lakeside Honda", slug="lakeside-honda", group=store.group, daily_call_target=100)
    _, sister_agents, sister_retail = _people_named(sister)
    _month_of_numbers(sister, sister_agents, sister_retail, timezone.now())
    StoreFactory(name="Faraway Ford", slug="faraway-ford")  # another group: never listed
    StaffFactory(store=store, role=Role.ADMIN, user__username="owner", user__first_name="Olivia", user__last_name="Grant")
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "owner", PASSWORD)
    page.goto(f"{live_server.url}/sales-board/?period=mtd")
    page.locator("#board").wait_for()
    names = page.locator("tbody .sb-row .sb-name").all_inner_texts()
    assert [n.strip() for n in names] == ["Lakeside Honda", "Lakeside Toyota"]
    assert "All stores" in page.locator(".sb-row.store").inner_text()
    screenshot(page, "salesboard-7-group-admin")
    page.locator("tbody .sb-row .sb-name a", has_text="Lakeside Toyota").click()
    page.wait_for_url(f"**store={store.pk}**")
    page.locator("#board").wait_for()
    assert len(_board_rows(page)) == len(agents) + len(retail)
    page.goto(f"{live_server.url}/sales-board/?tv=1")
    page.locator("#tv").wait_for()
    assert page.locator(".tv-table tbody tr").count() == 2
    screenshot(page, "salesboard-8-group-tv")
    assert page.js_errors == []
