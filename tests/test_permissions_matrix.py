"""Permissions decided once (issue 12, point 5): for each action, every role gets the same answer
in the browser, the REST API and (where the model is in it) the Django admin, because every
channel asks the one predicate of leads.permissions / dealcoverage.permissions (or the scope of
org.scoping) and the services enforce it.

"Allowed" is a 2xx or a redirect after a successful POST; "refused" is a 4xx (403 when the user
sees the object, 404 or an "unknown" 400 when they must not learn it exists).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from factories import ContactEventFactory, LeadFactory, StaffFactory
from rest_framework.test import APIClient

from dealcoverage import services as coverage_services
from dealcoverage.models import Deal, Dispute, DisputeStatus
from followup import appointments
from leads.models import Appointment, AppointmentStatus, ContactEvent, EvidenceLevel
from org.models import Role
from tests.coverage.test_deals import install

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

ROLES = ["agent", "agent2", "retail", "manager", "manager2", "director", "receptionist", "admin"]


# --- the world -----------------------------------------------------------------------------------


@pytest.fixture
def people(org):
    """The org fixture's people, plus a second sales manager who manages agent2's team (Team B)."""
    manager2 = StaffFactory(store=org["agent"].store, role=Role.SALES_MANAGER, user__username="manager2")
    team_b = org["agent2"].team
    team_b.manager = manager2
    team_b.save()
    return {**org, "manager2": manager2}


def browser(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


def api(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=staff.user)
    return client


def admin_client(staff) -> Client:
    """The person as a Django admin user: is_staff with the model's view permission; what they
    see in it is still org.scoping's."""
    user = staff.user
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(Permission.objects.get(codename="view_contactevent"))
    return browser(staff)


def allowed(response) -> bool:
    assert response.status_code < 500, response.content[:500]
    return response.status_code < 400


def later(store, days: int = 2) -> dt.datetime:
    """An hour in the store's day, two days ahead (whether it is inside hours does not matter)."""
    local = timezone.localtime(timezone.now(), store.tz) + dt.timedelta(days=days)
    return local.replace(hour=11, minute=0, second=0, microsecond=0)


@pytest.fixture
def booked(people):
    """The agent's lead with two appointments: one the agent set, one the receptionist booked (before);
    and agent2's lead (the same customer) with one agent2 set."""
    store = people["agent"].store
    lead = LeadFactory(store=store, owner=people["agent"])
    lead2 = LeadFactory(store=store, owner=people["agent2"], customer=lead.customer)
    when = later(store)
    by_agent = appointments.appointment_set(lead=lead, starts_at=when, by=people["agent"], outside_hours_ok=True)
    # The receptionist no longer sets appointments (neither channel); one she booked before stays hers.
    by_desk = Appointment.objects.create(
        store=store, lead=lead, customer=lead.customer, staff=people["agent"], starts_at=when + dt.timedelta(hours=1),
        created_by=people["receptionist"], created_at=timezone.now(),
    )
    by_agent2 = appointments.appointment_set(lead=lead2, starts_at=when, by=people["agent2"], outside_hours_ok=True)
    return {"lead": lead, "lead2": lead2, "by_agent": by_agent, "by_desk": by_desk, "by_agent2": by_agent2}


# --- appointments: cancel and confirm ----------------------------------------------------------------

CANCEL = {
    # appointment -> roles allowed to cancel it
    "by_agent": {"agent", "manager", "director", "admin"},
    "by_desk": {"agent", "manager", "director", "admin", "receptionist"},
    "by_agent2": {"agent2", "manager2", "director", "admin"},
}
CONFIRM = {
    "by_agent": {"agent", "manager", "director", "admin", "receptionist"},
    "by_desk": {"agent", "manager", "director", "admin", "receptionist"},
    "by_agent2": {"agent2", "manager2", "director", "admin", "receptionist"},
}


@pytest.mark.parametrize("channel", ["browser", "api"])
@pytest.mark.parametrize("which", list(CANCEL))
@pytest.mark.parametrize("role", ROLES)
def test_cancel_an_appointment(people, booked, role, which, channel):
    appointment = booked[which]
    staff = people[role]
    if channel == "browser":
        response = browser(staff).post(reverse("leads_appointments:cancel", args=[appointment.pk]))
    else:
        response = api(staff).post(f"/api/v1/appointments/{appointment.pk}/cancel/")
    expected = role in CANCEL[which]
    assert allowed(response) is expected, (role, which, channel, response.status_code)
    status = Appointment.objects.get(pk=appointment.pk).status
    assert (status == AppointmentStatus.CANCELED) is expected


@pytest.mark.parametrize("channel", ["browser", "api"])
@pytest.mark.parametrize("which", list(CONFIRM))
@pytest.mark.parametrize("role", ROLES)
def test_confirm_an_appointment(people, booked, role, which, channel):
    appointment = booked[which]
    staff = people[role]
    if channel == "browser":
        response = browser(staff).post(reverse("leads_appointments:confirm", args=[appointment.pk]))
    else:
        response = api(staff).post(f"/api/v1/appointments/{appointment.pk}/confirm/")
    expected = role in CONFIRM[which]
    assert allowed(response) is expected, (role, which, channel, response.status_code)
    status = Appointment.objects.get(pk=appointment.pk).status
    assert (status == AppointmentStatus.CONFIRMED) is expected


# --- appointments: create ----------------------------------------------------------------------------

CREATE_ON_AGENTS_LEAD = {"agent", "manager", "director", "admin"}  # not the receptionist: the browser's rule


@pytest.mark.parametrize("channel", ["browser-lead-page", "browser-today", "api"])
@pytest.mark.parametrize("role", ROLES)
def test_create_an_appointment(people, role, channel):
    store = people["agent"].store
    lead = LeadFactory(store=store, owner=people["agent"])
    staff = people[role]
    when = later(store, days=3)
    local = when.strftime("%Y-%m-%dT%H:%M")
    if channel == "browser-lead-page":
        response = browser(staff).post(
            reverse("leads_appointments:set", args=[lead.pk]),
            {"appt-starts_at": local, "appt-outside_hours_ok": "on"},
        )
    elif channel == "browser-today":
        response = browser(staff).post(
            reverse("leads_today:appointment_set", args=[lead.pk]),
            {"starts_at": local, "outside_hours_ok": "on", "next": "/"},
        )
    else:
        response = api(staff).post(
            "/api/v1/appointments/", {"lead": lead.pk, "starts_at": when.isoformat(), "outside_hours_ok": True},
            format="json",
        )
    expected = role in CREATE_ON_AGENTS_LEAD
    assert allowed(response) is expected, (role, channel, response.status_code)
    assert Appointment.objects.filter(lead=lead).exists() is expected


def test_the_predicates_give_the_same_answer_for_every_role_and_appointment(people, booked):
    """The lead page's buttons come from the same predicates the POSTs are refused by."""
    from leads import permissions

    for role in ROLES:
        user = people[role].user
        for which, roles in CANCEL.items():
            assert permissions.can_cancel_appointment(user, booked[which]) is (role in roles), (role, which)
        for which, roles in CONFIRM.items():
            assert permissions.can_confirm_appointment(user, booked[which]) is (role in roles), (role, which)


# --- contact events: read ------------------------------------------------------------------------------


@pytest.fixture
def texts(people):
    """One customer with two leads: the agent's (with the agent's text) and agent2's (with agent2's
    text); and a note on the customer on no lead."""
    store = people["agent"].store
    lead = LeadFactory(store=store, owner=people["agent"])
    lead2 = LeadFactory(store=store, owner=people["agent2"], customer=lead.customer)
    text = dict(channel="sms", direction="outbound", outcome="sent", evidence_level=EvidenceLevel.VERIFIED)
    mine = ContactEventFactory(lead=lead, staff=people["agent"], body="agent-one-text-about-the-trade", **text)
    theirs = ContactEventFactory(lead=lead2, staff=people["agent2"], body="agent-two-text-about-price", **text)
    loose = ContactEventFactory(
        lead=None, store=store, customer=lead.customer, staff=people["manager"], body="note-on-no-lead",
    )
    return {"lead": lead, "lead2": lead2, "mine": mine, "theirs": theirs, "loose": loose}


READ = {
    "mine": {"agent", "manager", "director", "admin", "receptionist"},
    "theirs": {"agent2", "manager2", "director", "admin", "receptionist"},
    "loose": {"agent", "agent2", "manager", "manager2", "director", "admin", "receptionist"},
}


def _browser_reads(client, texts, event: ContactEvent) -> bool:
    """The browser shows events on the lead pages' timelines: does any lead page the user can
    open show this one?"""
    for lead in (texts["lead"], texts["lead2"]):
        response = client.get(reverse("leads:detail", args=[lead.pk]))
        if response.status_code == 200 and event.body in response.content.decode():
            return True
    return False


@pytest.mark.parametrize("channel", ["browser", "api", "admin"])
@pytest.mark.parametrize("which", list(READ))
@pytest.mark.parametrize("role", ROLES)
def test_read_a_contact_event(people, texts, role, which, channel):
    event = texts[which]
    staff = people[role]
    if channel == "browser":
        answer = _browser_reads(browser(staff), texts, event)
    elif channel == "api":
        response = api(staff).get(f"/api/v1/contact-events/{event.pk}/")
        assert response.status_code in (200, 404)
        answer = allowed(response)
    else:
        response = admin_client(staff).get(reverse("admin:leads_contactevent_change", args=[event.pk]))
        answer = response.status_code == 200  # otherwise the admin's "does not exist" redirect
    assert answer is (role in READ[which]), (role, which, channel)


@pytest.mark.parametrize("role", ROLES)
def test_the_events_list_holds_exactly_the_readable_events(people, texts, role):
    response = api(people[role]).get("/api/v1/contact-events/")
    assert response.status_code == 200
    ours = {texts[w].pk for w in READ}
    ids = {row["id"] for row in response.json()["results"]} & ours
    assert ids == {texts[w].pk for w, roles in READ.items() if role in roles}


# --- deals: record, dispute, resolve ------------------------------------------------------------------


@pytest.fixture
def sale(people):
    """The agent talked to the customer two days ago; retail closes; agent2 never worked it."""
    store = people["agent"].store
    now = timezone.now()
    install(store, "internet-72h", Role.INTERNET_AGENT, now - dt.timedelta(days=60))
    install(store, "retail-3d", Role.RETAIL, now - dt.timedelta(days=60))
    lead = LeadFactory(store=store, owner=people["agent"])
    ContactEventFactory(
        lead=lead, staff=people["agent"], channel="call", direction="outbound", outcome="connected", talk_seconds=372,
        answered_by_person=True, evidence_level=EvidenceLevel.VERIFIED, occurred_at=now - dt.timedelta(days=2),
        call_sid="CA" + "c" * 32,
    )
    deal = coverage_services.deal_record(
        store=store, customer=lead.customer, lead=lead, closer=people["retail"],
        sold_at=now - dt.timedelta(minutes=5), source="api",
    )
    return deal


RAISE = {"agent", "retail"}  # judged by the decision / holding a credit; nobody else
RESOLVE = {"manager", "director", "admin"}  # the involved people's (team A's) manager, director, admin


@pytest.mark.parametrize("channel", ["browser", "api"])
@pytest.mark.parametrize("role", ROLES)
def test_raise_a_dispute(people, sale, role, channel):
    staff = people[role]
    if channel == "browser":
        response = browser(staff).post(reverse("coverage:deal_dispute", args=[sale.pk]), {"comment": "I worked him"})
    else:
        response = api(staff).post(f"/api/v1/deals/{sale.pk}/dispute/", {"comment": "I worked him"}, format="json")
    expected = role in RAISE
    assert allowed(response) is expected, (role, channel, response.status_code)
    assert Dispute.objects.filter(deal=sale, raised_by=staff).exists() is expected


@pytest.mark.parametrize("channel", ["browser", "api"])
@pytest.mark.parametrize("role", ROLES)
def test_resolve_a_dispute(people, sale, role, channel):
    dispute = coverage_services.dispute_raise(deal=sale, by=people["agent"], comment="I should share it")
    staff = people[role]
    if channel == "browser":
        response = browser(staff).post(reverse("coverage:dispute_uphold", args=[dispute.pk]), {"resolution": "Stands."})
    else:
        response = api(staff).post(f"/api/v1/disputes/{dispute.pk}/uphold/", {"resolution": "Stands."}, format="json")
    expected = role in RESOLVE
    assert allowed(response) is expected, (role, channel, response.status_code)
    assert (Dispute.objects.get(pk=dispute.pk).status == DisputeStatus.UPHELD) is expected


# Issue 13: the closer (retail here), the closer's sales manager (manager), the sales manager of
# the lead's owner (manager2 for agent2's lead), the director and admins; an agent does not
# record someone else's sale.
RECORD = {"retail", "manager", "manager2", "director", "admin"}


@pytest.mark.parametrize("channel", ["browser", "api"])
@pytest.mark.parametrize("role", ROLES)
def test_record_a_sale(people, role, channel):
    store = people["agent"].store
    staff = people[role]
    # A lead the person sees: a salesperson's own; agent2's for manager2; the agent's for the others.
    owner = staff if role in ("agent", "agent2", "retail") else people["agent2"] if role == "manager2" else people["agent"]
    lead = LeadFactory(store=store, owner=owner)
    sold_at = timezone.localtime(timezone.now() - dt.timedelta(hours=1), store.tz)
    if channel == "browser":
        response = browser(staff).post(reverse("coverage:deal_new"), {
            "lead": lead.pk, "closer": people["retail"].pk, "sold_at": sold_at.strftime("%Y-%m-%dT%H:%M"),
            "vehicle": "2024 Civic", "stock_number": "N1",
        })
    else:
        response = api(staff).post("/api/v1/deals/", {
            "customer": lead.customer_id, "closer": people["retail"].pk, "sold_at": sold_at.isoformat(),
            "vehicle": "2024 Civic", "stock_number": "N1", "lead": lead.pk,
        }, format="json")
    expected = role in RECORD
    assert allowed(response) is expected, (role, channel, response.status_code, response.content[:300])
    assert Deal.objects.filter(lead=lead).exists() is expected


# --- the bugs of before, one by one --------------------------------------------------------------------


def test_before_the_receptionist_could_set_an_appointment_through_the_api_not_in_the_browser(people):
    lead = LeadFactory(store=people["agent"].store, owner=people["agent"])
    when = later(lead.store, days=3)
    response = api(people["receptionist"]).post(
        "/api/v1/appointments/", {"lead": lead.pk, "starts_at": when.isoformat(), "outside_hours_ok": True}, format="json"
    )
    assert response.status_code == 403
    assert not Appointment.objects.filter(lead=lead).exists()


def test_before_the_receptionist_could_cancel_any_appointment_through_the_api(people, booked):
    response = api(people["receptionist"]).post(f"/api/v1/appointments/{booked['by_agent'].pk}/cancel/")
    assert response.status_code == 403
    assert Appointment.objects.get(pk=booked["by_agent"].pk).status == AppointmentStatus.SET
    # ...while the one she booked herself she cancels, in either channel.
    assert api(people["receptionist"]).post(f"/api/v1/appointments/{booked['by_desk'].pk}/cancel/").status_code == 200


def test_before_an_agent_read_another_agents_text_through_the_api_while_the_lead_was_a_404(people, texts):
    client = api(people["agent"])
    assert client.get(f"/api/v1/leads/{texts['lead2'].pk}/").status_code == 404
    assert client.get(f"/api/v1/contact-events/{texts['theirs'].pk}/").status_code == 404
    assert client.get(f"/api/v1/contact-events/{texts['mine'].pk}/").status_code == 200


def test_before_an_agent_saw_another_agents_text_on_their_own_lead_page(people, texts):
    page = browser(people["agent"]).get(reverse("leads:detail", args=[texts["lead"].pk])).content.decode()
    assert texts["mine"].body in page and texts["theirs"].body not in page


def test_before_a_manager_could_raise_a_dispute_through_the_api_but_not_in_the_browser(people, sale):
    assert api(people["manager"]).post(f"/api/v1/deals/{sale.pk}/dispute/", {"comment": "x"}, format="json").status_code == 403
    assert browser(people["manager"]).post(reverse("coverage:deal_dispute", args=[sale.pk]), {"comment": "x"}).status_code == 403
    assert not Dispute.objects.exists()


def test_before_the_director_could_raise_a_dispute_through_the_api(people, sale):
    response = api(people["director"]).post(f"/api/v1/deals/{sale.pk}/dispute/", {"comment": "x"}, format="json")
    assert response.status_code == 403


def test_one_open_dispute_per_deal_in_both_channels(people, sale):
    first = api(people["agent"]).post(f"/api/v1/deals/{sale.pk}/dispute/", {"comment": "mine"}, format="json")
    assert first.status_code == 201
    second = api(people["retail"]).post(f"/api/v1/deals/{sale.pk}/dispute/", {"comment": "no, mine"}, format="json")
    assert second.status_code == 400 and "already disputed" in second.json()["deal"][0]
    third = browser(people["retail"]).post(reverse("coverage:deal_dispute", args=[sale.pk]), {"comment": "mine!"})
    assert third.status_code == 422 and "already disputed" in third.content.decode()
    assert Dispute.objects.filter(deal=sale).count() == 1
    # Once settled, the deal can be disputed again.
    coverage_services.dispute_uphold(dispute=Dispute.objects.get(), by=people["manager"], resolution="Stands.")
    again = api(people["retail"]).post(f"/api/v1/deals/{sale.pk}/dispute/", {"comment": "now me"}, format="json")
    assert again.status_code == 201


def test_before_the_browser_upheld_a_settled_dispute_again(people, sale):
    dispute = coverage_services.dispute_raise(deal=sale, by=people["agent"], comment="x")
    coverage_services.dispute_uphold(dispute=dispute, by=people["manager"], resolution="Stands.")
    response = browser(people["director"]).post(reverse("coverage:dispute_uphold", args=[dispute.pk]), {"resolution": "Again"})
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.resolution == "Stands." and dispute.resolved_by == people["manager"]
    api_answer = api(people["director"]).post(f"/api/v1/disputes/{dispute.pk}/uphold/", {"resolution": "Again"}, format="json")
    assert api_answer.status_code == 400


def test_before_a_manager_of_another_team_could_settle_a_dispute(people, sale):
    """manager2 manages agent2's team, which the deal does not concern."""
    dispute = coverage_services.dispute_raise(deal=sale, by=people["agent"], comment="x")
    assert not coverage_services_allowed(people["manager2"], dispute)


def coverage_services_allowed(staff, dispute) -> bool:
    from django.core.exceptions import PermissionDenied

    try:
        coverage_services.dispute_uphold(dispute=dispute, by=staff, resolution="Stands.")
    except PermissionDenied:
        return False
    return True


def test_before_the_receptionist_could_record_a_sale_through_the_api(people, sale):
    lead = LeadFactory(store=people["agent"].store, owner=people["agent"])
    response = api(people["receptionist"]).post("/api/v1/deals/", {
        "customer": lead.customer_id, "closer": people["retail"].pk,
        "sold_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(), "lead": lead.pk,
    }, format="json")
    assert response.status_code == 403
    assert browser(people["receptionist"]).get(reverse("coverage:deal_new")).status_code == 403
