"""Seed 002's acceptance test, in real browsers, each person in their own logged-in context.

"If a customer submitted a lead at 3:30pm on a Tuesday, the best time to make contact with them
usually is as close to 3:30pm on that day and all subsequent days" -- and "stop letting your
salespeople convince you that they're making their outbound calls from their cell phones ...
I'm fine making a call attempt or two from the employee's cell, but not all."

- Tuesday 3:30 PM store time (America/Chicago): Linda Moss's internet lead arrives and is assigned
  to Tess Rivera (internet agent). Tess's Today page lists it as a new lead with its call, text
  and email steps; the lead page's To do lists the new-lead cadence at 3:30 PM each day.
- Wednesday 3:34 PM: Tess logs a call she made from her own cell ("From my personal phone",
  voicemail). The timeline shows it Self-reported, flagged "personal phone"; the call ticks off
  the day's call steps and the lead leaves "New leads".
- Wednesday 3:50 PM: she calls through the dealer number and talks four minutes (a verified,
  connected call through the one write path). The timeline shows it Verified and "two-way"; the
  cadence is cancelled, the To do holds only the keep-in-touch task, and the lead is Contacted.
- Wednesday 4:00 PM: Marcus Reed (sales manager) opens the sales board in his own context, at
  the desk and on his phone, and sees how much of Tess's activity he can trust.

The clock is pinned with time-machine per step (the week is the current one, so the browser keeps
the session cookie the server sets). Screenshots: /tmp/seed002_*.png.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from factories import StaffFactory, StoreFactory, TeamFactory

from distribution.services import lead_owner_set
from leads.events import contact_event_record
from leads.models import ContactEvent, LeadStatus, Task, TaskKind
from leads.services import LeadData, lead_create
from org.models import Role
from reporting import salesboard
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
CHICAGO = ZoneInfo("America/Chicago")
OPEN_8_TO_8 = {day: [["08:00", "20:00"]] for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
SHOTS = "/tmp/seed002_{}.png"


def _this_weeks_tuesday() -> dt.date:
    today = dt.datetime.now(CHICAGO).date()
    return today - dt.timedelta(days=(today.weekday() - 1) % 7)


def at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHICAGO)


def day(date) -> str:
    """How the lead page writes a day: "Tue Dec 1"."""
    return f"{date:%a %b} {date.day}"


def text(locator) -> str:
    return re.sub(r"\s+", " ", locator.inner_text()).strip()


def pin(page, when: dt.datetime) -> None:
    """The page's JavaScript clock reads the same pinned time as the server (the running clocks
    on Today and the routing card count from it); cookies still expire by the real clock."""
    page.clock.set_fixed_time(when)


def shot(page, name: str) -> None:
    page.screenshot(path=SHOTS.format(name), full_page=True)


def context_for(browser, live_server, username: str, viewport):
    extra = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if viewport == PHONE else {}
    context = browser.new_context(viewport=viewport, **extra)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    open_login(page, live_server.url)
    log_in(page, username, PASSWORD)
    return context, page


@pytest.fixture
def dealership():
    store = StoreFactory(name="Lakeside Toyota", slug="lakeside-toyota", time_zone="America/Chicago",
                         business_hours=OPEN_8_TO_8, daily_call_target=120)
    team = TeamFactory(store=store, name="Internet Team")

    def staff(username, first, last, role, **kw):
        return StaffFactory(store=store, role=role, user__username=username, user__first_name=first,
                            user__last_name=last, **kw)

    marcus = staff("marcus", "Marcus", "Reed", Role.SALES_MANAGER)
    team.manager = marcus
    team.save()
    tess = staff("tess", "Tess", "Rivera", Role.INTERNET_AGENT, team=team)
    cache.delete(salesboard._key(store.pk))  # a board cached by an earlier run must not answer for this one
    return {"store": store, "marcus": marcus, "tess": tess}


def _todo(page) -> list[str]:
    return [re.sub(r"\s+", " ", t).strip() for t in page.locator("#open-tasks li").all_inner_texts()]


def test_seed_002_follow_up_at_the_hour_the_lead_came_and_calls_the_manager_can_trust(
    live_server, browser, dealership
):
    d = dealership
    store, tess = d["store"], d["tess"]
    tuesday = _this_weeks_tuesday()
    wednesday = tuesday + dt.timedelta(days=1)
    contexts = []
    try:
        # ---- Tuesday 3:30 PM: the lead arrives and is Tess's --------------------------------------
        with time_machine.travel(at(tuesday, 15, 30), tick=False):
            result = lead_create(store=store, data=LeadData(
                source_type="third_party", intake_channel="api", first_name="Linda", last_name="Moss",
                phones=[("(312) 555-0188", "mobile")], emails=["linda.moss@example.com"], provider="Autotrader",
                received_at=at(tuesday, 15, 30),
            ))
            lead = lead_owner_set(lead=result.lead, to_staff=tess, by=None, reason="Internet rule: Tess is up.")
        cadence = Task.objects.filter(lead=lead, kind=TaskKind.CADENCE).order_by("due_at", "pk")
        assert cadence.count() == 15  # call, text and email on each of the first five days
        # Every step after the first day falls at 3:30 PM store time, the hour the lead came in.
        assert {t.due_at.astimezone(CHICAGO).time() for t in cadence} == {dt.time(15, 30)}
        assert sorted({t.due_at.astimezone(CHICAGO).date() for t in cadence}) == [
            tuesday + dt.timedelta(days=n) for n in range(5)
        ]

        with time_machine.travel(at(tuesday, 15, 31), tick=False):
            ctx, agent = context_for(browser, live_server, "tess", DESKTOP)
            contexts.append(ctx)
            pin(agent, at(tuesday, 15, 31))
            agent.goto(f"{live_server.url}/today/")
            row = agent.locator("#sec-new .t-row", has_text="Linda Moss")
            assert row.count() == 1
            assert text(row.locator(".clock")) == "1:00"  # the response clock, 1 of 20 business minutes used
            chips = row.locator(".tchip")
            assert [text(c) for c in chips.all()] == ["Call overdue", "Text overdue", "Email overdue"]
            assert [c.get_attribute("title") for c in chips.all()] == [
                "Call: overdue 1 min", "Text: overdue 1 min", "Email: overdue 1 min"
            ]
            shot(agent, "1_tess_today_tuesday_desk")

            agent.locator("#sec-new .t-row a.t-name", has_text="Linda Moss").click()
            agent.locator("#open-tasks").wait_for()
            assert "New" in text(agent.locator("h1 .pill"))
            todo = _todo(agent)
            # The first ten (the card's limit), soonest first: today's three, then 3:30 PM each day.
            assert len(todo) == 10
            # Today's steps fell due at 3:30 PM: a minute later they are flagged overdue; later days are not.
            for line in todo[:3]:
                assert line.startswith(f"New-lead cadence · due {day(tuesday)}, 3:30 PM overdue"), line
            for line in todo[3:6]:
                assert line.startswith(f"New-lead cadence · due {day(wednesday)}, 3:30 PM") and "overdue" not in line, line
            for line in todo[6:9]:
                assert line.startswith(f"New-lead cadence · due {day(tuesday + dt.timedelta(days=2))}, 3:30 PM"), line
            assert any("Call · day 2 of the new-lead cadence · Tess Rivera" in line for line in todo)
            shot(agent, "2_tess_lead_tuesday_desk")
            assert agent.js_errors == []

        # ---- Wednesday 3:25 PM: Today still has Linda as a new lead (nobody has tried yet) ---------
        with time_machine.travel(at(wednesday, 15, 25), tick=False):
            pin(agent, at(wednesday, 15, 25))
            agent.goto(f"{live_server.url}/today/")
            row = agent.locator("#sec-new .t-row", has_text="Linda Moss")
            assert row.count() == 1
            # Tuesday's steps are still open: each chip is overdue by a day.
            assert [c.get_attribute("title") for c in row.locator(".tchip").all()] == [
                "Call: overdue 23 h", "Text: overdue 23 h", "Email: overdue 23 h"
            ]

        # ---- Wednesday 3:34 PM: a call from her own cell, logged by hand ----------------------------
        with time_machine.travel(at(wednesday, 15, 34), tick=False):
            pin(agent, at(wednesday, 15, 34))
            agent.goto(f"{live_server.url}/leads/{lead.pk}/")
            form = agent.locator("#log-form")
            form.locator("input[name=channel][value=call]").check()
            form.locator("select[name=outcome]").select_option("voicemail")
            form.locator("textarea[name=body]").fill("Left a voicemail from my cell.")
            form.get_by_label("From my personal phone").check()
            with agent.expect_response(lambda r: r.url.endswith("/log/") and r.request.method == "POST") as response:
                form.locator("button[type=submit]").click()
            assert response.value.status == 200, response.value.text()
            entry = agent.locator("#timeline > li").first
            entry.locator(".pill.self_reported").wait_for()
            assert "Left a voicemail from my cell." in entry.inner_text()
            assert text(entry.locator(".pill.self_reported")) == "Self-reported"
            assert text(entry.locator(".pill.flag")) == "personal phone"
            assert entry.locator(".pill.two-way").count() == 0
            assert entry.locator(".pill.verified").count() == 0
            assert text(entry.locator(".ev-head")).startswith("Call · outbound · Voicemail")
            event = ContactEvent.objects.get(lead=lead)
            assert (event.evidence_level, event.outside_company_channels, event.is_attempt, event.is_two_way) == (
                "self_reported", True, True, False
            )
            shot(agent, "3_tess_personal_phone_desk")

            # The attempt ticks off the calls due by tonight; the lead leaves "New leads".
            agent.goto(f"{live_server.url}/today/")
            assert agent.locator("#sec-new .t-row", has_text="Linda Moss").count() == 0
            row = agent.locator("#sec-tasks .t-row", has_text="Linda Moss")
            assert row.count() == 1
            assert [c.get_attribute("title") for c in row.locator(".tchip").all()] == [
                "Call: done today", "Text: overdue 1 d", "Email: overdue 1 d"
            ]
            assert "New-lead cadence, days 1–2" in text(row.locator(".t-what"))
            shot(agent, "4_tess_today_after_cell_call_desk")
            lead.refresh_from_db()
            assert lead.status == LeadStatus.NEW  # a voicemail is not contact

        # ---- Wednesday 3:50 PM: a four-minute conversation through the dealer number -----------------
        with time_machine.travel(at(wednesday, 15, 50), tick=False):
            contact_event_record(
                store=store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=tess.pk, channel="call",
                direction="outbound", outcome="connected", evidence_level="verified", talk_seconds=240,
                answered_by_person=True, call_sid="CA" + "5" * 32, occurred_at=at(wednesday, 15, 46),
            )
            pin(agent, at(wednesday, 15, 50))
            agent.goto(f"{live_server.url}/leads/{lead.pk}/")
            newest = agent.locator("#timeline > li").first
            assert text(newest.locator(".pill.verified")) == "Verified"
            assert text(newest.locator(".pill.two-way")) == "two-way"
            assert "240 s talk" in text(newest)
            assert newest.locator(".pill.flag").count() == 0
            older = agent.locator("#timeline > li").nth(1)
            assert text(older.locator(".pill.flag")) == "personal phone"
            assert text(agent.locator("h1 .pill")) == "Contacted"
            # The cadence is over: only the keep-in-touch task is left, at 3:30 PM again.
            todo = _todo(agent)
            assert len(todo) == 1, todo
            friday = wednesday + dt.timedelta(days=2)
            assert todo[0].startswith(f"Keep in touch · due {day(friday)}, 3:30 PM"), todo
            assert "Keep in touch: stay inside your coverage window. · Tess Rivera" in todo[0]
            shot(agent, "5_tess_lead_after_dealer_call_desk")
            assert agent.js_errors == []
        lead.refresh_from_db()
        assert lead.status == LeadStatus.CONTACTED
        assert not Task.objects.filter(lead=lead, kind=TaskKind.CADENCE, completed_at__isnull=True,
                                       canceled_at__isnull=True).exists()

        # ---- Tess on her phone: the same timeline fits a 390 px screen ------------------------------
        with time_machine.travel(at(wednesday, 15, 55), tick=False):
            ctx, tess_phone = context_for(browser, live_server, "tess", PHONE)
            contexts.append(ctx)
            pin(tess_phone, at(wednesday, 15, 55))
            tess_phone.goto(f"{live_server.url}/leads/{lead.pk}/")
            tess_phone.locator("#timeline").wait_for()
            assert_no_horizontal_overflow(tess_phone, "seed 002 lead page on a phone")
            assert text(tess_phone.locator("#timeline > li").nth(1).locator(".pill.flag")) == "personal phone"
            shot(tess_phone, "6_tess_lead_phone")
            tess_phone.locator("#timeline").evaluate("el => el.scrollIntoView()")
            tess_phone.screenshot(path=SHOTS.format("7_tess_timeline_phone_view"))

        # ---- Wednesday 4:00 PM: Marcus reads how much of it he can trust ----------------------------
        with time_machine.travel(at(wednesday, 16, 0), tick=False):
            ctx, manager = context_for(browser, live_server, "marcus", DESKTOP)
            contexts.append(ctx)
            pin(manager, at(wednesday, 16, 0))
            manager.goto(f"{live_server.url}/sales-board/")
            manager.locator("#board").wait_for()
            row = manager.locator(f'tbody .sb-row.person[data-staff="{tess.pk}"]')
            verified = row.locator('td[data-label="Verified"]')
            # The call from her own cell is named, not just left out of the verified share (seed 002).
            assert text(verified) == "50% 1 personal"
            assert verified.get_attribute("title") == (
                "1 of 2 activities verified by the phone, text or email system; 1 from a personal phone or address"
            )
            # Both calls count as dials (the typed one too), so the verified share is what tells them apart.
            assert text(row.locator("td.calls")).startswith("2 / 120")
            assert text(row.locator('td[data-label="Conn."]')) == "50%"
            assert text(row.locator('td[data-label="Reached"]')) == "100%"
            shot(manager, "8_marcus_board_desk")
            assert manager.js_errors == []

            ctx, manager_phone = context_for(browser, live_server, "marcus", PHONE)
            contexts.append(ctx)
            pin(manager_phone, at(wednesday, 16, 0))
            manager_phone.goto(f"{live_server.url}/sales-board/")
            manager_phone.locator("#board").wait_for()
            assert_no_horizontal_overflow(manager_phone, "seed 002 sales board on a phone")
            phone_row = manager_phone.locator(f'tbody .sb-row.person[data-staff="{tess.pk}"]')
            assert text(phone_row.locator('td[data-label="Verified"]')) == "50% 1 personal"
            shot(manager_phone, "9_marcus_board_phone")
            assert manager_phone.js_errors == []
    finally:
        for context in contexts:
            context.close()
