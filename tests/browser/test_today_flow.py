"""An agent works a lead from Today in a real browser: the new lead's clock is running; Call (c)
rings through the telephony sandbox, whose real Celery worker sends the app signed Twilio callbacks;
the lead leaves "New leads" and its call ticks off; a Text sent from the side panel ticks off the
text; an appointment set with the keyboard (a) lands in Today's appointments. Screenshots at desk
and phone size go to bench/results/screenshots/."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.utils import timezone
from factories import CustomerEmailFactory, CustomerPhoneFactory, LeadFactory
from playwright.sync_api import expect

from dealercrm.celery import app as celery_app
from distribution.models import LeadRouting, RoutingState
from leads.models import (
    Appointment,
    Channel,
    ContactEvent,
    Direction,
    LeadStatus,
    LeadVehicle,
    Task,
    TaskKind,
)
from org.models import Role
from telephony.models import Call, DealerNumber, NumberPurpose
from tests.browser.conftest import SCREENSHOT_DIR
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login
from tests.coverage.test_deals import install
from tests.test_celery_worker import start_worker, stop
from tests.today.test_today import OPEN_8_TO_8, local_today, noon_zone, talk

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"
# The sandbox by last digit: 0 rings out (no answer), texts are delivered.
MARIA = "+13125550140"


@pytest.fixture
def sandbox_env(live_server, settings, monkeypatch, tmp_path):
    """As tests/browser/test_click_to_call.py: the worker learns from its environment where the
    live server is, and the sandbox's HTTP client plays Twilio at the HTTP boundary (real-looking
    credentials from tests/conftest.py, so the calls are verified)."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("PUBLIC_BASE_URL", live_server.url)
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
    worker = start_worker(tmp_path, with_beat=False)
    yield tmp_path
    stop(worker)


def customer_lead(store, agent, first, last, phone, *, vehicle=None, **fields):
    lead = LeadFactory(store=store, owner=agent, customer__first_name=first, customer__last_name=last, **fields)
    CustomerPhoneFactory(customer=lead.customer, number=phone)
    CustomerEmailFactory(customer=lead.customer, email=f"{first.lower()}.{last.lower()}@example.com")
    if vehicle:
        condition, year, make, model = vehicle
        LeadVehicle.objects.create(lead=lead, condition=condition, year=year, make=make, model=model)
    return lead


def cadence_day(lead, agent, due, day=0, channels=(Channel.CALL, Channel.TEXT, Channel.EMAIL)):
    for channel in channels:
        Task.objects.create(store=lead.store, customer=lead.customer, lead=lead, staff=agent, kind=TaskKind.CADENCE,
                            channel=channel, step_day=day, due_at=due, reason=f"{channel} · day {day + 1}")


@pytest.fixture
def agents_day(store, org):
    """Dana's book at about noon, store time: two new leads (Maria's clock is at 6 minutes, another is
    past the limit), follow-ups due and overdue, a customer whose coverage ends tonight, and two
    appointments today."""
    store.time_zone = noon_zone()
    store.business_hours = OPEN_8_TO_8
    store.save(update_fields=["time_zone", "business_hours"])
    agent = org["agent"]
    agent.user.first_name, agent.user.last_name = "Dana", "Whitfield"
    agent.user.save(update_fields=["first_name", "last_name"])
    agent.desk_phone = "+13125550111"
    agent.save(update_fields=["desk_phone"])
    DealerNumber.objects.create(store=store, number="+13125550150", purpose=NumberPurpose.MAIN)
    DealerNumber.objects.create(store=store, number="+13125550151", purpose=NumberPurpose.AGENT, staff=agent)
    now = timezone.now()
    install(store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))

    maria = customer_lead(store, agent, "Maria", "Gonzalez", MARIA, vehicle=("new", 2024, "Toyota", "Highlander XLE"),
                          provider="CarGurus", received_at=now - dt.timedelta(minutes=6))
    started = now - dt.timedelta(minutes=6)
    LeadRouting.objects.create(lead=maria, store=store, state=RoutingState.ASSIGNED, rule_name="Internet",
                               strategy="round_robin_reassign", assigned_at=started, clock_started_at=started,
                               breach_at=started + dt.timedelta(minutes=20), response_due_at=now + dt.timedelta(minutes=9))
    cadence_day(maria, agent, now - dt.timedelta(minutes=5))

    late = customer_lead(store, agent, "Kevin", "Osei", "+13125550260", vehicle=("used", 2021, "Honda", "CR-V EX"),
                         provider="Autotrader", received_at=now - dt.timedelta(minutes=31))
    LeadRouting.objects.create(lead=late, store=store, state=RoutingState.ASSIGNED, rule_name="Internet",
                               strategy="round_robin", assigned_at=now - dt.timedelta(minutes=31),
                               clock_started_at=now - dt.timedelta(minutes=31), breach_at=now - dt.timedelta(minutes=11))

    follow_ups = [
        ("Priya", "Raman", "+13125550270", ("new", 2025, "Toyota", "RAV4 Hybrid XSE"), 1, dt.timedelta(hours=-2, minutes=-10)),
        ("Luis", "Ortega", "+13125550280", ("new", 2024, "Toyota", "Tacoma TRD Off-Road"), 2, dt.timedelta(minutes=-35)),
        ("Grace", "Kim", "+13125550290", ("used", 2022, "Lexus", "RX 350"), 3, dt.timedelta(hours=3)),
        ("Marcus", "Bell", "+13125550300", ("new", 2025, "Toyota", "Camry SE"), 1, dt.timedelta(hours=4, minutes=30)),
    ]
    for first, last, phone, vehicle, day, offset in follow_ups:
        lead = customer_lead(store, agent, first, last, phone, vehicle=vehicle, status=LeadStatus.CONTACTED,
                             received_at=now - dt.timedelta(days=day, hours=2))
        cadence_day(lead, agent, now + offset, day=day)
    callback = customer_lead(store, agent, "Helen", "Park", "+13125550310", vehicle=("new", 2024, "Toyota", "Sienna XLE"),
                             status=LeadStatus.CONTACTED, received_at=now - dt.timedelta(days=6))
    Task.objects.create(store=store, customer=callback.customer, lead=callback, staff=agent, kind=TaskKind.CALL_BACK,
                        channel=Channel.CALL, due_at=now + dt.timedelta(hours=1, minutes=15),
                        reason="Call back after 5: wants trade numbers on the 2016 Camry")

    ending = customer_lead(store, agent, "Omar", "Haddad", "+13125550320", vehicle=("new", 2025, "Toyota", "4Runner"),
                           status=LeadStatus.CONTACTED, received_at=now - dt.timedelta(days=4))
    talk(ending, agent, now - dt.timedelta(hours=66))
    Task.objects.filter(lead=ending).delete()  # the keep-in-touch task the call planned: shown in coverage only

    for first, last, phone, vehicle, hour in [("Rosa", "Delgado", "+13125550330", ("new", 2025, "Toyota", "Corolla Cross"), 14),
                                              ("Ben", "Carter", "+13125550340", ("used", 2020, "Ford", "F-150 XLT"), 18)]:
        lead = customer_lead(store, agent, first, last, phone, vehicle=vehicle, status=LeadStatus.APPOINTMENT_SET,
                             received_at=now - dt.timedelta(days=2))
        Appointment.objects.create(store=store, lead=lead, customer=lead.customer, staff=agent,
                                   starts_at=local_today(store, hour), note="Test drive")
    return agent, maria


def view_shot(page, name: str) -> None:
    """What the screen shows (a side panel or the call dock is fixed to the viewport)."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=False)


def wait_for(check, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_agent_works_a_lead_from_the_queue(live_server, sandbox_env, agents_day, desktop_page, screenshot):
    agent, maria = agents_day
    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, agent.user.username, PASSWORD)
    page.goto(f"{live_server.url}/")
    assert page.url.endswith("/today/")

    new = page.locator("#sec-new")
    maria_new = new.locator(".t-row", has_text="Maria Gonzalez")
    expect(maria_new).to_be_visible()
    # Kevin is past the store's limit: his clock is red; Maria's runs and her lead moves on in 9 minutes.
    expect(new.locator(".t-row", has_text="Kevin Osei").locator(".clock.late")).to_be_visible()
    clock = maria_new.locator(".clock")
    first = clock.inner_text()
    assert re.fullmatch(r"\d+:\d\d", first), first
    page.wait_for_timeout(1100)
    assert clock.inner_text() != first  # it runs
    expect(maria_new.locator(".moves")).to_contain_text("moves on in")
    sections = page.locator("#queue section").evaluate_all("els => els.map(e => e.id)")
    assert sections == ["sec-new", "sec-tasks", "sec-coverage", "sec-appointments"]
    expect(page.locator("#sec-coverage")).to_contain_text("Omar Haddad")  # judged just after the page shows
    expect(page.locator("#stat-coverage")).to_contain_text("1 coverage ending")
    expect(page.locator("#sec-tasks .t-row", has_text="Priya Raman")).to_contain_text("overdue 2 h")
    screenshot(page, "desktop-today-1-queue")

    # The help overlay lists the keys.
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    view_shot(page, "desktop-today-2-shortcuts")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    # j selects the first row (the most urgent new lead: Kevin), j again Maria; c calls her.
    page.keyboard.press("j")
    expect(page.locator(".t-row.is-current")).to_contain_text("Kevin Osei")
    page.keyboard.press("j")
    expect(page.locator(".t-row.is-current")).to_contain_text("Maria Gonzalez")
    page.keyboard.press("c")
    dock = page.locator("#call-dock")
    expect(dock).to_be_visible()
    expect(dock).to_contain_text("Maria Gonzalez")
    # The call attempt is a first attempt: Maria leaves "New leads"; her call ticks off in Follow-ups.
    expect(new.locator(".t-row", has_text="Maria Gonzalez")).to_have_count(0)
    maria_task = page.locator("#sec-tasks .t-row", has_text="Maria Gonzalez")
    expect(maria_task.locator(".tchip.done", has_text="Call")).to_be_visible()
    expect(maria_task.locator(".tchip.overdue", has_text="Text")).to_be_visible()
    # The sandbox rings out (no answer) and posts its signed callbacks; the dock shows the result.
    expect(dock.locator(".call-result")).to_contain_text("No answer", timeout=30_000)
    call = Call.objects.get(lead=maria)
    assert call.staff_id == agent.pk and call.settled_at is not None
    view_shot(page, "desktop-today-3-after-call")
    page.locator("#call-dock-close").click()

    # The selection followed Maria to her new row. Text her from the side panel (t); keys typed in
    # the box are text, not shortcuts.
    expect(page.locator("#sec-tasks .t-row.is-current")).to_contain_text("Maria Gonzalez")
    page.keyboard.press("t")
    panel = page.locator("#work")
    expect(panel).to_be_visible()
    body = panel.locator("#text-body")
    expect(body).to_be_focused()
    page.keyboard.type("Hi Maria, it's Dana at North Motors: the Highlander XLE is here. Can you come by today? j k c a")
    assert panel.is_visible() and Call.objects.filter(lead=maria).count() == 1
    view_shot(page, "desktop-today-4-text-panel")
    panel.locator("#text-form button[type=submit]").click()
    expect(panel.locator("#message-forms")).to_contain_text("Text sent.")
    expect(maria_task.locator(".tchip.done", has_text="Text")).to_be_visible()
    expect(maria_task.locator(".tchip.overdue", has_text="Email")).to_be_visible()
    texts = ContactEvent.objects.filter(lead=maria, channel=Channel.TEXT, direction=Direction.OUTBOUND)
    assert texts.values("message_sid").distinct().count() == 1  # one text ("sent", then maybe "delivered")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()

    # a: set an appointment for 4:30 PM today.
    expect(page.locator(".t-row.is-current")).to_contain_text("Maria Gonzalez")
    page.keyboard.press("a")
    expect(panel).to_be_visible()
    when = panel.locator(f"#appt-when-{maria.pk}")
    expect(when).to_be_focused()
    when.fill(local_today(maria.store, 16, 30).strftime("%Y-%m-%dT%H:%M"))
    panel.locator(f"#appt-note-{maria.pk}").fill("Test drive the Highlander; bring the Camry's title")
    view_shot(page, "desktop-today-5-appointment-panel")
    with page.expect_response(lambda r: "/appointment/" in r.url) as answer:
        panel.locator(f"#appt-{maria.pk} button[type=submit]").click()
    assert answer.value.status == 200, answer.value.text()
    expect(panel.locator(f"#appt-{maria.pk}")).to_contain_text("Appointment set:")
    appointments = page.locator("#sec-appointments")
    expect(appointments.locator(".t-row", has_text="Maria Gonzalez")).to_contain_text("4:30 PM")
    appointment = Appointment.objects.get(lead=maria)
    maria.refresh_from_db()
    assert maria.status == LeadStatus.APPOINTMENT_SET and appointment.staff_id == agent.pk
    page.keyboard.press("Escape")
    wait_for(lambda: not page.locator("#work").is_visible(), what="the panel to close")
    screenshot(page, "desktop-today-6-after-appointment")
    assert not page.js_errors, page.js_errors


def test_today_on_a_phone(live_server, agents_day, phone_page, screenshot):
    agent, maria = agents_day
    page = phone_page
    open_login(page, live_server.url)
    log_in(page, agent.user.username, PASSWORD)
    page.goto(f"{live_server.url}/")
    expect(page.locator("#sec-new .t-row", has_text="Maria Gonzalez")).to_be_visible()
    expect(page.locator("#sec-coverage")).to_contain_text("Omar Haddad")
    assert_no_horizontal_overflow(page, "Today on a phone")
    screenshot(page, "phone-today-1-queue")
    view_shot(page, "phone-today-1-queue-top")

    row = page.locator("#sec-tasks .t-row", has_text="Priya Raman")
    box = row.locator("[data-act=text]").bounding_box()
    assert box["width"] >= 44 or box["height"] >= 36  # a thumb-sized button
    row.locator("[data-act=text]").tap()
    panel = page.locator("#work")
    expect(panel).to_be_visible()
    expect(panel.locator("#text-body")).to_be_visible()
    assert_no_horizontal_overflow(page, "the Text panel on a phone")
    view_shot(page, "phone-today-2-text-panel")
    panel.locator("[data-close]").first.tap()
    expect(panel).to_be_hidden()
    assert not page.js_errors, page.js_errors
