"""Appointments through the pages: the lead page card (set, confirm, no-show, cancel) with its bad
input, and the receptionist's Arrivals page with check-in (appointments and walk-ins)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from factories import CustomerPhoneFactory, LeadFactory, StaffFactory

from distribution.models import Notification
from followup import appointments
from leads.models import (
    Appointment,
    AppointmentStatus,
    Channel,
    ContactEvent,
    EvidenceLevel,
    Lead,
    LeadStatus,
    LeadVehicle,
    Outcome,
    Task,
)
from org.models import Role, Shift

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

SET = "leads_appointments:set"


def local_at(store, days: int, hour: int, minute: int = 0) -> dt.datetime:
    """`days` from today at hour:minute on the store's wall clock, skipping Sunday (closed)."""
    day = timezone.localdate(timezone.now(), store.tz) + dt.timedelta(days=days)
    while day.weekday() == 6:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=store.tz)


def field(at: dt.datetime, store) -> str:
    return timezone.localtime(at, store.tz).strftime("%Y-%m-%dT%H:%M")


def today_at(store, hour: int, minute: int = 0) -> dt.datetime:
    day = timezone.localdate(timezone.now(), store.tz)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=store.tz)


def appointment_at(lead, starts_at: dt.datetime, by) -> Appointment:
    """An appointment set an hour before it starts (so one starting now, or earlier today, is allowed)."""
    return appointments.appointment_set(
        lead=lead, starts_at=starts_at, by=by, outside_hours_ok=True, now=starts_at - dt.timedelta(hours=1)
    )


@pytest.fixture
def lead(store, org):
    lead = LeadFactory(store=store, owner=org["agent"], customer__first_name="Maria", customer__last_name="Gonzalez")
    LeadVehicle.objects.create(lead=lead, condition="new", year=2024, make="Toyota", model="Highlander", trim="XLE")
    CustomerPhoneFactory(customer=lead.customer, number="+13125550142")
    return lead


def login(client, staff):
    client.force_login(staff.user)
    return client


# --- the lead page card ------------------------------------------------------------------------

def test_the_lead_page_shows_the_card_with_the_set_form(client, org, lead):
    page = login(client, org["agent"]).get(reverse("leads:detail", args=[lead.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="appointments"' in html and "No appointment yet." in html
    assert reverse(SET, args=[lead.pk]) in html
    assert 'name="appt-outside_hours_ok"' in html


def test_the_agent_sets_an_appointment_read_in_the_store_zone(client, store, org, lead):
    store.time_zone = "America/Denver"
    store.save(update_fields=["time_zone"])
    at = local_at(store, 2, 11, 30)
    response = login(client, org["agent"]).post(
        reverse(SET, args=[lead.pk]), {"appt-starts_at": field(at, store), "appt-note": "Test drive the XLE"}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"/leads/{lead.pk}/#appointments")
    appointment = Appointment.objects.get(lead=lead)
    assert appointment.starts_at == at
    assert timezone.localtime(appointment.starts_at, store.tz).hour == 11
    assert appointment.created_by == org["agent"] and appointment.staff == org["agent"]
    assert appointment.note == "Test drive the XLE" and appointment.outside_hours is False
    lead.refresh_from_db()
    assert lead.status == LeadStatus.APPOINTMENT_SET

    html = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    card = html[html.index('id="appointments"'):]
    assert "11:30 AM" in card and "set by " + org["agent"].display_name in card
    assert 'class="pill appt-status set"' in card
    assert reverse("leads_appointments:confirm", args=[appointment.pk]) in card
    assert reverse("leads_appointments:cancel", args=[appointment.pk]) in card
    # No no-show button before the appointment starts.
    assert reverse("leads_appointments:no_show", args=[appointment.pk]) not in card


def test_a_time_in_the_past_is_a_form_error(client, store, org, lead):
    past = timezone.now() - dt.timedelta(hours=3)
    response = login(client, org["agent"]).post(reverse(SET, args=[lead.pk]), {"appt-starts_at": field(past, store)})
    assert response.status_code == 422
    assert "That time is in the past" in response.content.decode()
    assert not Appointment.objects.exists()


def test_outside_store_hours_needs_the_set_it_anyway_box(client, store, org, lead):
    late = local_at(store, 2, 21, 15)  # the store closes at 20:00 (18:00 on Saturday)
    agent = login(client, org["agent"])
    refused = agent.post(reverse(SET, args=[lead.pk]), {"appt-starts_at": field(late, store)})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "outside store hours; confirm to set it anyway" in html
    assert "appt-anyway attention" in html  # the box is pointed out next to the error
    assert not Appointment.objects.exists()

    confirmed = agent.post(
        reverse(SET, args=[lead.pk]), {"appt-starts_at": field(late, store), "appt-outside_hours_ok": "on"}
    )
    assert confirmed.status_code == 302
    appointment = Appointment.objects.get(lead=lead)
    assert appointment.outside_hours is True and appointment.starts_at == late


@pytest.mark.parametrize(("value", "message"), [("", "Pick the day and time"), ("next tuesday", "Enter a day and time")])
def test_a_missing_or_garbled_time_is_a_form_error(client, org, lead, value, message):
    response = login(client, org["agent"]).post(reverse(SET, args=[lead.pk]), {"appt-starts_at": value})
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Appointment.objects.exists()


def test_another_stores_lead_is_404(client, org, other_store):
    theirs = LeadFactory(store=other_store)
    response = login(client, org["director"]).post(
        reverse(SET, args=[theirs.pk]), {"appt-starts_at": field(local_at(other_store, 2, 11), other_store)}
    )
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_someone_elses_lead_is_404_for_an_agent(client, store, org, lead):
    response = login(client, org["agent2"]).post(
        reverse(SET, args=[lead.pk]), {"appt-starts_at": field(local_at(store, 2, 11), store)}
    )
    assert response.status_code == 404


def test_the_receptionist_may_not_set_appointments(client, store, org):
    unassigned = LeadFactory(store=store, owner=None)  # she sees it (new and unassigned)
    response = login(client, org["receptionist"]).post(
        reverse(SET, args=[unassigned.pk]), {"appt-starts_at": field(local_at(store, 2, 11), store)}
    )
    assert response.status_code == 403
    assert "Only the lead&#x27;s salesperson" in response.content.decode()
    assert not Appointment.objects.exists()


def test_the_agents_manager_sets_one_for_the_agent(client, store, org, lead):
    response = login(client, org["manager"]).post(
        reverse(SET, args=[lead.pk]), {"appt-starts_at": field(local_at(store, 3, 10), store)}
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get(lead=lead)
    assert appointment.staff == org["agent"] and appointment.created_by == org["manager"]


def test_confirm_then_confirm_again_is_a_clear_conflict(client, store, org, lead):
    appointment = appointments.appointment_set(lead=lead, starts_at=local_at(store, 2, 11), by=org["agent"])
    agent = login(client, org["agent"])
    url = reverse("leads_appointments:confirm", args=[appointment.pk])
    assert agent.post(url).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED and appointment.confirmed_at is not None
    again = agent.post(url)
    assert again.status_code == 409
    assert "only a set one is confirmed" in again.content.decode()


def test_no_show_only_after_the_start(client, store, org, lead):
    future = appointments.appointment_set(lead=lead, starts_at=local_at(store, 2, 11), by=org["agent"])
    agent = login(client, org["agent"])
    early = agent.post(reverse("leads_appointments:no_show", args=[future.pk]))
    assert early.status_code == 409 and "has not started yet" in early.content.decode()
    future.refresh_from_db()
    assert future.status == AppointmentStatus.SET

    started = appointment_at(lead, timezone.now() - dt.timedelta(minutes=30), org["agent"])
    page = agent.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert reverse("leads_appointments:no_show", args=[started.pk]) in page
    assert agent.post(reverse("leads_appointments:no_show", args=[started.pk])).status_code == 302
    started.refresh_from_db()
    assert started.status == AppointmentStatus.NO_SHOW
    assert Task.objects.filter(lead=lead, reason__startswith="Missed the appointment").count() == 1


def test_cancel_and_cancel_again(client, store, org, lead):
    appointment = appointments.appointment_set(lead=lead, starts_at=local_at(store, 2, 11), by=org["agent"])
    agent = login(client, org["agent"])
    url = reverse("leads_appointments:cancel", args=[appointment.pk])
    assert agent.post(url).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELED
    again = agent.post(url)
    assert again.status_code == 409 and "already canceled" in again.content.decode()


def test_the_receptionist_confirms_but_does_not_cancel_what_someone_else_booked(client, store, org):
    """Issue 12, point 5: the receptionist confirms (a customer calls the front desk to say they
    are coming) in the browser as in the API; she cancels only what she booked herself."""
    unassigned = LeadFactory(store=store, owner=None)
    appointment = appointments.appointment_set(lead=unassigned, starts_at=local_at(store, 2, 11), by=org["manager"])
    receptionist = login(client, org["receptionist"])
    assert receptionist.post(reverse("leads_appointments:cancel", args=[appointment.pk])).status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SET
    assert receptionist.post(reverse("leads_appointments:confirm", args=[appointment.pk])).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED


def test_a_get_on_an_action_is_refused(client, store, org, lead):
    appointment = appointments.appointment_set(lead=lead, starts_at=local_at(store, 2, 11), by=org["agent"])
    assert login(client, org["agent"]).get(reverse("leads_appointments:cancel", args=[appointment.pk])).status_code == 405


# --- Arrivals ------------------------------------------------------------------------------------

def test_arrivals_lists_todays_appointments_of_the_store_in_time_order(client, store, org, other_store):
    agent, agent2 = org["agent"], org["agent2"]
    names = [("Late", "Evening", agent, 23, 30), ("Early", "Bird", agent2, 0, 30), ("Noon", "Buyer", agent, 12, 0)]
    for first, last, owner, hour, minute in names:
        lead = LeadFactory(store=store, owner=owner, customer__first_name=first, customer__last_name=last)
        appointment_at(lead, today_at(store, hour, minute), owner)
    LeadVehicle.objects.create(lead=Lead.objects.get(customer__first_name="Noon"), year=2025, make="Honda", model="Pilot")
    tomorrow = LeadFactory(store=store, owner=agent, customer__first_name="Tomorrow", customer__last_name="Person")
    appointment_at(tomorrow, today_at(store, 11) + dt.timedelta(days=1), agent)
    elsewhere_agent = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    elsewhere = LeadFactory(store=other_store, owner=elsewhere_agent, customer__first_name="Other", customer__last_name="Store")
    appointment_at(elsewhere, today_at(other_store, 12), elsewhere_agent)

    page = login(client, org["receptionist"]).get(reverse("leads_appointments:arrivals"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Early Bird") < html.index("Noon Buyer") < html.index("Late Evening")
    assert "Tomorrow Person" not in html and "Other Store" not in html
    assert "12:00" in html and agent.display_name in html and agent2.display_name in html
    assert "2025 Honda Pilot" in html
    assert html.count('class="btn checkin"') == 3


def test_a_manager_sees_their_teams_arrivals_and_the_director_the_stores(client, store, org):
    mine = LeadFactory(store=store, owner=org["agent"], customer__first_name="Team", customer__last_name="Ayes")
    theirs = LeadFactory(store=store, owner=org["agent2"], customer__first_name="Team", customer__last_name="Bees")
    appointment_at(mine, today_at(store, 12), org["agent"])
    other = appointment_at(theirs, today_at(store, 13), org["agent2"])
    manager = login(client, org["manager"]).get(reverse("leads_appointments:arrivals")).content.decode()
    assert "Team Ayes" in manager and "Team Bees" not in manager
    # Nor can the manager check in (or even name) an appointment outside their scope.
    assert client.post(reverse("leads_appointments:check_in", args=[other.pk])).status_code == 404
    director = login(Client(), org["director"]).get(reverse("leads_appointments:arrivals")).content.decode()
    assert "Team Ayes" in director and "Team Bees" in director


@pytest.mark.parametrize("who", ["receptionist", "manager", "director", "admin"])
def test_arrivals_is_open_to_the_front_desk_and_managers(client, org, who):
    assert login(client, org[who]).get(reverse("leads_appointments:arrivals")).status_code == 200


@pytest.mark.parametrize("who", ["agent", "retail"])
def test_arrivals_is_not_for_salespeople(client, org, who):
    assert login(client, org[who]).get(reverse("leads_appointments:arrivals")).status_code == 403


def test_arrivals_costs_the_same_queries_for_two_or_twelve(client, store, org):
    def add(count):
        for _ in range(count):
            lead = LeadFactory(store=store, owner=org["agent"])
            LeadVehicle.objects.create(lead=lead, year=2024, make="Ford", model="F-150")
            CustomerPhoneFactory(customer=lead.customer)
            appointment_at(lead, today_at(store, 12), org["agent"])

    receptionist = login(client, org["receptionist"])
    add(2)
    with CaptureQueriesContext(connection) as few:
        assert receptionist.get(reverse("leads_appointments:arrivals")).status_code == 200
    add(10)
    with CaptureQueriesContext(connection) as many:
        html = receptionist.get(reverse("leads_appointments:arrivals")).content.decode()
    assert html.count('class="btn checkin"') == 12
    assert len(many.captured_queries) == len(few.captured_queries) <= 8


def test_check_in_records_one_verified_visit_and_tells_the_owner_on_their_day_off(client, store, org, lead):
    agent = org["agent"]
    assert not Shift.objects.filter(staff=agent).exists()  # no shift at all: a day off
    appointment = appointment_at(lead, timezone.now() + dt.timedelta(minutes=5), agent)
    receptionist = login(client, org["receptionist"])
    url = reverse("leads_appointments:check_in", args=[appointment.pk])

    response = receptionist.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("leads_appointments:arrivals")
    visits = ContactEvent.objects.filter(lead=lead, channel=Channel.VISIT)
    assert visits.count() == 1
    visit = visits.get()
    assert visit.evidence_level == EvidenceLevel.VERIFIED and visit.outcome == Outcome.VISITED
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SHOWN and appointment.checked_in_by == org["receptionist"]
    assert appointment.visit_event == visit
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SHOWN
    note = Notification.objects.get(staff=agent, kind="check_in")
    assert "Maria Gonzalez is here" in note.text and note.lead == lead

    page = receptionist.get(reverse("leads_appointments:arrivals")).content.decode()
    assert f"{agent.display_name} has been told" in page
    assert "&#10003; Here" in page

    # The double click: a clear answer, nothing recorded twice.
    again = receptionist.post(url, follow=True)
    assert again.status_code == 200
    assert "was already checked in at" in again.content.decode()
    assert ContactEvent.objects.filter(lead=lead, channel=Channel.VISIT).count() == 1
    assert Notification.objects.filter(staff=agent, kind="check_in").count() == 1


def test_check_in_through_htmx_swaps_the_list_with_the_message(client, store, org, lead):
    appointment = appointment_at(lead, timezone.now() + dt.timedelta(minutes=5), org["agent"])
    response = login(client, org["receptionist"]).post(
        reverse("leads_appointments:check_in", args=[appointment.pk]),
        HTTP_HX_REQUEST="true", HTTP_HX_TARGET="arrivals-list",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="arrivals-list"' in html and "<html" not in html  # the list alone
    assert "is checked in" in html and "&#10003; Here" in html
    again = client.post(
        reverse("leads_appointments:check_in", args=[appointment.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="arrivals-list"
    )
    assert again.status_code == 200 and "was already checked in" in again.content.decode()
    assert ContactEvent.objects.filter(lead=lead, channel=Channel.VISIT).count() == 1


def test_a_canceled_appointment_cannot_be_checked_in(client, store, org, lead):
    appointment = appointment_at(lead, timezone.now() + dt.timedelta(minutes=5), org["agent"])
    appointments.appointment_cancel(appointment=appointment, by=org["agent"])
    response = login(client, org["receptionist"]).post(reverse("leads_appointments:check_in", args=[appointment.pk]))
    assert response.status_code == 409
    assert "already canceled" in response.content.decode()
    assert not ContactEvent.objects.filter(lead=lead, channel=Channel.VISIT).exists()


def test_another_stores_appointment_cannot_be_checked_in(client, org, other_store):
    their_agent = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    theirs = LeadFactory(store=other_store, owner=their_agent)
    appointment = appointment_at(theirs, timezone.now() + dt.timedelta(minutes=5), their_agent)
    response = login(client, org["receptionist"]).post(reverse("leads_appointments:check_in", args=[appointment.pk]))
    assert response.status_code == 404
    assert not ContactEvent.objects.filter(lead=theirs).exists()


def test_an_agent_checks_in_only_their_own_customer(client, store, org, lead):
    appointment = appointment_at(lead, timezone.now() + dt.timedelta(minutes=5), org["agent"])
    assert login(client, org["agent2"]).post(
        reverse("leads_appointments:check_in", args=[appointment.pk])
    ).status_code == 404
    mine = Client()
    mine.force_login(org["agent"].user)
    response = mine.post(reverse("leads_appointments:check_in", args=[appointment.pk]), {"back": "lead"})
    assert response.status_code == 302 and response["Location"].endswith(f"/leads/{lead.pk}/#appointments")
    assert ContactEvent.objects.filter(lead=lead, channel=Channel.VISIT).count() == 1


def test_a_walk_in_is_found_by_name_or_phone_and_checked_in_once(client, store, org, lead):
    receptionist = login(client, org["receptionist"])
    arrivals = reverse("leads_appointments:arrivals")
    by_name = receptionist.get(arrivals, {"q": "Gonzalez"}).content.decode()
    by_phone = receptionist.get(arrivals, {"q": "(312) 555-0142"}).content.decode()
    url = reverse("leads_appointments:walk_in", args=[lead.pk])
    for html in (by_name, by_phone):
        results = html[html.index('id="walk-in-results"'):]
        assert "Maria Gonzalez" in results and url in results

    response = receptionist.post(url)
    assert response.status_code == 302
    assert ContactEvent.objects.filter(lead=lead, channel=Channel.VISIT, evidence_level=EvidenceLevel.VERIFIED).count() == 1
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SHOWN
    assert Notification.objects.filter(staff=org["agent"], kind="check_in", lead=lead).count() == 1

    again = receptionist.post(url, follow=True)
    assert "was already checked in at" in again.content.decode()
    assert ContactEvent.objects.filter(lead=lead, channel=Channel.VISIT).count() == 1
    # The search now says the customer is here instead of offering the button again.
    html = receptionist.get(arrivals, {"q": "Gonzalez"}).content.decode()
    results = html[html.index('id="walk-in-results"'):]
    assert "Here since" in results and url not in results


def test_walk_in_search_stays_in_the_store_and_says_what_is_wrong(client, org, other_store):
    LeadFactory(store=other_store, customer__first_name="Maria", customer__last_name="Elsewhere")
    receptionist = login(client, org["receptionist"])
    html = receptionist.get(reverse("leads_appointments:arrivals"), {"q": "Elsewhere"}).content.decode()
    assert "No open lead matches" in html and "Maria Elsewhere" not in html
    short = receptionist.get(reverse("leads_appointments:arrivals"), {"q": "G"}).content.decode()
    assert "Type at least 2 letters" in short


def test_the_receptionist_finds_a_customer_whose_lead_came_days_ago(client, store, org):
    import datetime as dt

    from django.utils import timezone

    old = LeadFactory(store=store, owner=org["agent"], customer__first_name="Olga", customer__last_name="Older",
                      received_at=timezone.now() - dt.timedelta(days=9))
    receptionist = login(client, org["receptionist"])
    html = receptionist.get(reverse("leads_appointments:arrivals"), {"q": "Older"}).content.decode()
    url = reverse("leads_appointments:walk_in", args=[old.pk])
    assert url in html[html.index('id="walk-in-results"'):]
    assert receptionist.post(url).status_code == 302
    assert ContactEvent.objects.filter(lead=old, channel=Channel.VISIT, evidence_level=EvidenceLevel.VERIFIED).count() == 1
    # Checking in does not open the rest of that lead to her.
    assert receptionist.get(reverse("leads:detail", args=[old.pk])).status_code == 404


def test_walk_in_of_another_stores_lead_is_404(client, org, other_store):
    theirs = LeadFactory(store=other_store)
    assert login(client, org["receptionist"]).post(reverse("leads_appointments:walk_in", args=[theirs.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_check_in_clicks_at_once_record_one_visit(store, org, lead):
    appointment = appointment_at(lead, timezone.now() + dt.timedelta(minutes=5), org["agent"])
    url = reverse("leads_appointments:check_in", args=[appointment.pk])
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def click():
        browser = Client()
        browser.force_login(org["receptionist"].user)
        barrier.wait()
        try:
            statuses.append(browser.post(url).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 302]
    assert ContactEvent.objects.filter(lead=lead, channel=Channel.VISIT).count() == 1
    assert Notification.objects.filter(staff=org["agent"], kind="check_in").count() == 1
