"""In a real browser: a sales manager opens Call review and plays a recording (served by our own
permission-checked endpoint), and the receptionist checks a customer in from Arrivals.
Screenshots at desk and phone size go to bench/results/screenshots/."""

from __future__ import annotations

import datetime as dt
import io
import math
import struct
import wave

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from factories import CustomerPhoneFactory, LeadFactory, StaffFactory, StoreFactory, TeamFactory

from distribution.models import Notification
from followup import appointments
from leads.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    ContactEvent,
    EvidenceLevel,
    LeadStatus,
    LeadVehicle,
    Outcome,
)
from org.models import Role
from telephony.models import Call
from tests.browser.test_lead_flow import assert_no_horizontal_overflow, log_in, open_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-1"


def tone_wav(seconds: float = 4.0, rate: int = 8000) -> bytes:
    """A real, decodable WAV: a quiet 440 Hz tone."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = (int(3000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate)))
        out.writeframes(b"".join(struct.pack("<h", f) for f in frames))
    return buffer.getvalue()


@pytest.fixture
def floor(settings, tmp_path):
    """A store with a team (manager Frank, agents Dana and Luis), a receptionist and some customers."""
    settings.MEDIA_ROOT = tmp_path
    store = StoreFactory(name="North Motors", slug="north-motors")
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="frank",
                           user__first_name="Frank", user__last_name="Alvarez")
    team = TeamFactory(store=store, name="Internet", manager=manager)
    dana = StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team, user__username="dana",
                        user__first_name="Dana", user__last_name="Whitfield")
    luis = StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team, user__username="luis",
                        user__first_name="Luis", user__last_name="Ortega")
    receptionist = StaffFactory(store=store, role=Role.RECEPTIONIST, user__username="rita",
                                user__first_name="Rita", user__last_name="Moreno")
    return {"store": store, "manager": manager, "dana": dana, "luis": luis, "receptionist": receptionist}


def _lead(store, owner, first, last, phone, vehicle):
    lead = LeadFactory(store=store, owner=owner, customer__first_name=first, customer__last_name=last)
    CustomerPhoneFactory(customer=lead.customer, number=phone)
    year, make, model = vehicle
    LeadVehicle.objects.create(lead=lead, condition="new", year=year, make=make, model=model)
    return lead


def _recorded(store, staff, lead, *, minutes_ago, outcome, talk, sid, audio):
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    call = Call.objects.create(
        store=store, call_sid=f"CA{sid:032d}", direction="outbound", staff=staff, customer=lead.customer, lead=lead,
        customer_number="+13125550142", status="completed", customer_leg_status="completed",
        talk_seconds=talk, created_at=at, settled_at=at, recording_sid=f"RE{sid:032d}", recording_seconds=talk,
    )
    call.recording_file.save(f"call-{sid}.wav", ContentFile(audio), save=True)
    ContactEvent.objects.create(
        store=store, customer=lead.customer, lead=lead, staff=staff, channel=Channel.CALL, direction="outbound",
        outcome=outcome, occurred_at=at, evidence_level=EvidenceLevel.VERIFIED, talk_seconds=talk,
        answered_by_person=outcome == Outcome.CONNECTED, call_sid=call.call_sid, body="settled",
    )
    return call


def test_a_manager_plays_a_recording_from_call_review(live_server, desktop_page, phone_page, screenshot, floor):
    store, dana, luis = floor["store"], floor["dana"], floor["luis"]
    audio = tone_wav()
    maria = _lead(store, dana, "Maria", "Gonzalez", "+13125550142", (2024, "Toyota", "Highlander"))
    walter = _lead(store, luis, "Walter", "Robinson", "+13125550143", (2025, "Toyota", "RAV4 Hybrid"))
    newest = _recorded(store, dana, maria, minutes_ago=8, outcome=Outcome.CONNECTED, talk=184, sid=1, audio=audio)
    _recorded(store, luis, walter, minutes_ago=47, outcome=Outcome.VOICEMAIL, talk=21, sid=2, audio=audio)
    _recorded(store, dana, maria, minutes_ago=60 * 26, outcome=Outcome.CONNECTED, talk=412, sid=3, audio=audio)

    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "frank", PASSWORD)
    page.get_by_role("link", name="Call review").click()
    page.wait_for_url("**/calls/review/")
    rows = page.locator("#call-list li.cr-row")
    assert rows.count() == 3
    first = rows.first
    assert "Maria Gonzalez" in first.inner_text() and "Connected" in first.inner_text()
    assert first.get_attribute("id") == f"call-{newest.pk}"

    # Play it the way a manager does: a click on the player's play button.
    player = first.locator("audio")
    player.scroll_into_view_if_needed()
    box = player.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "(el) => el.readyState >= 2 && !el.error", arg=player.element_handle(), timeout=10_000
    )
    state = player.evaluate("(el) => ({ready: el.readyState, duration: el.duration, paused: el.paused, src: el.currentSrc})")
    assert state["ready"] >= 2 and state["duration"] > 3, state
    assert state["src"].endswith(f"/telephony/twilio/voice/calls/{newest.pk}/recording/")
    # It plays: the playhead moves (the browser has no sound card here, but the clock runs).
    page.wait_for_function("(el) => !el.paused && el.currentTime > 0.2", arg=player.element_handle(), timeout=10_000)
    screenshot(page, "desktop-call-review")

    # Filter to Luis's voicemails.
    page.select_option("#id_staff", str(luis.pk))
    page.select_option("#id_outcome", "voicemail")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    assert page.locator("#call-list li.cr-row").count() == 1
    assert "Walter Robinson" in page.locator("#call-list").inner_text()
    assert not page.js_errors

    phone = phone_page
    open_login(phone, live_server.url)
    log_in(phone, "frank", PASSWORD)
    phone.goto(f"{live_server.url}/calls/review/")
    phone.locator("#call-list li.cr-row audio").first.wait_for()
    assert_no_horizontal_overflow(phone, "call review on a phone")
    screenshot(phone, "phone-call-review")
    assert not phone.js_errors


def test_the_receptionist_checks_a_customer_in_from_arrivals(live_server, desktop_page, phone_page, screenshot, floor):
    store, dana, luis, rita = floor["store"], floor["dana"], floor["luis"], floor["receptionist"]
    maria = _lead(store, dana, "Maria", "Gonzalez", "+13125550142", (2024, "Toyota", "Highlander"))
    walter = _lead(store, luis, "Walter", "Robinson", "+13125550143", (2025, "Toyota", "RAV4 Hybrid"))
    jun = _lead(store, dana, "Jun", "Park", "+13125550144", (2023, "Toyota", "Tacoma"))
    now = timezone.now()

    def booked(lead, starts_at, by, note=""):
        return appointments.appointment_set(lead=lead, starts_at=starts_at, by=by, note=note, outside_hours_ok=True,
                                            now=starts_at - dt.timedelta(hours=1))

    # Times inside today (store zone): one already past, one due now, one later.
    day_start = timezone.localtime(now, store.tz).replace(hour=0, minute=0, second=0, microsecond=0)
    day_end = day_start + dt.timedelta(days=1)
    earlier = max(day_start, now - dt.timedelta(minutes=40))
    later = min(day_end - dt.timedelta(minutes=1), now + dt.timedelta(hours=2))
    booked(walter, earlier, luis)
    appointment = booked(maria, now + dt.timedelta(minutes=2) if now + dt.timedelta(minutes=2) < day_end else now,
                         dana, note="Test drive the Highlander XLE")
    booked(jun, later, dana)

    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "rita", PASSWORD)
    page.get_by_role("link", name="Appointments").click()
    page.wait_for_url("**/appointments/")
    row = page.locator(f"#arrival-{appointment.pk}")
    assert "Maria Gonzalez" in row.inner_text() and "Dana Whitfield" in row.inner_text()
    assert "2024 Toyota Highlander" in row.inner_text()
    screenshot(page, "desktop-arrivals")

    page.evaluate("window.__sameDocument = true")
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{appointment.pk}/check-in/")) as answer:
        row.get_by_role("button", name="Check in: Maria Gonzalez").click()
    assert answer.value.status == 200
    page.locator(f"#arrival-{appointment.pk} .arr-done").wait_for()
    assert page.evaluate("window.__sameDocument") is True  # htmx swapped the list, no reload
    assert "Dana Whitfield has been told" in page.locator("#arrivals-list .messages").inner_text()
    assert page.locator(f"#arrival-{appointment.pk} button").count() == 0
    screenshot(page, "desktop-arrivals-checked-in")

    assert ContactEvent.objects.filter(lead=maria, channel=Channel.VISIT, evidence_level=EvidenceLevel.VERIFIED).count() == 1
    appointment.refresh_from_db()
    maria.refresh_from_db()
    assert appointment.status == AppointmentStatus.SHOWN and appointment.checked_in_by == rita
    assert maria.status == LeadStatus.SHOWN
    assert Notification.objects.filter(staff=dana, kind="check_in", lead=maria).count() == 1

    # On the phone: a walk-in found by phone number and checked in with the big button.
    phone = phone_page
    open_login(phone, live_server.url)
    log_in(phone, "rita", PASSWORD)
    phone.goto(f"{live_server.url}/appointments/")
    phone.locator("#arrivals-list").wait_for()
    assert_no_horizontal_overflow(phone, "arrivals on a phone")
    screenshot(phone, "phone-arrivals")
    phone.locator("input[name=q]").fill("312 555 0144")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Find").click()
    result = phone.locator("#walk-in-results li").filter(has_text="Jun Park")
    button = result.get_by_role("button", name="Check in: Jun Park")
    assert button.bounding_box()["height"] >= 44  # thumb-sized
    screenshot(phone, "phone-arrivals-walk-in")
    with phone.expect_navigation():
        button.click()
    assert "Jun Park is checked in" in phone.locator("#flash").inner_text()
    assert_no_horizontal_overflow(phone, "arrivals after a walk-in check-in")
    assert ContactEvent.objects.filter(lead=jun, channel=Channel.VISIT).count() == 1
    # Jun had an appointment later today: the walk-in check-in marks it shown.
    assert Appointment.objects.get(lead=jun).status == AppointmentStatus.SHOWN
    assert not page.js_errors and not phone.js_errors


def test_the_agent_sets_an_appointment_on_the_lead_page(live_server, desktop_page, phone_page, screenshot, floor):
    store, dana = floor["store"], floor["dana"]
    maria = _lead(store, dana, "Maria", "Gonzalez", "+13125550142", (2024, "Toyota", "Highlander"))
    day = timezone.localdate(timezone.now(), store.tz) + dt.timedelta(days=2)
    while day.weekday() == 6:  # closed on Sunday
        day += dt.timedelta(days=1)

    page = desktop_page
    open_login(page, live_server.url)
    log_in(page, "dana", PASSWORD)
    page.goto(f"{live_server.url}/leads/{maria.pk}/")
    card = page.locator("#appointments")
    assert "No appointment yet." in card.inner_text()

    # After closing time: refused until "set it anyway" is ticked.
    card.locator("input[name=appt-starts_at]").fill(f"{day.isoformat()}T21:30")
    with page.expect_navigation():
        card.get_by_role("button", name="Set appointment").click()
    card = page.locator("#appointments")
    assert "outside store hours" in card.inner_text()
    assert not Appointment.objects.filter(lead=maria).exists()
    screenshot(page, "desktop-lead-appointment-outside-hours")

    card.locator("input[name=appt-starts_at]").fill(f"{day.isoformat()}T14:30")
    card.locator("input[name=appt-note]").fill("Test drive the Highlander XLE")
    with page.expect_navigation():
        card.get_by_role("button", name="Set appointment").click()
    appointment = Appointment.objects.get(lead=maria)
    assert timezone.localtime(appointment.starts_at, store.tz).replace(tzinfo=None) == dt.datetime.combine(day, dt.time(14, 30))
    card = page.locator("#appointments")
    assert "2:30 PM" in card.inner_text() and "set by Dana Whitfield" in card.inner_text()
    assert "Appointment set for" in page.locator("#flash").inner_text()
    with page.expect_navigation():
        card.get_by_role("button", name="Confirm").click()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
    assert "Confirmed" in page.locator("#appointments").inner_text()
    page.locator("#appointments").scroll_into_view_if_needed()
    screenshot(page, "desktop-lead-appointments")
    assert not page.js_errors

    phone = phone_page
    open_login(phone, live_server.url)
    log_in(phone, "dana", PASSWORD)
    phone.goto(f"{live_server.url}/leads/{maria.pk}/#appointments")
    phone.locator("#appointments").wait_for()
    assert_no_horizontal_overflow(phone, "lead page with appointments on a phone")
    screenshot(phone, "phone-lead-appointments")
    assert not phone.js_errors
