"""The follow-up API: tasks, appointments and the store's cadence. Scoping (another store's
objects are 404, another store's customer or lead in a body a 400 naming the field), the roles,
bad input (past or outside-hours appointments, an empty cadence) and the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from factories import CustomerFactory, LeadFactory, StaffFactory, StoreFactory

from distribution.models import Notification
from followup import services as followup
from followup.appointments import appointment_set
from leads.models import (
    Appointment,
    AppointmentStatus,
    Cadence,
    Channel,
    ContactEvent,
    LeadStatus,
    Task,
    TaskKind,
)
from org.models import Role

pytestmark = [pytest.mark.clock, pytest.mark.django_db]

CHICAGO = ZoneInfo("America/Chicago")
TASKS = "/api/v1/tasks/"
APPOINTMENTS = "/api/v1/appointments/"
CADENCE = "/api/v1/cadence/"


def local_day(days_ahead: int) -> dt.date:
    return timezone.localtime(timezone.now(), CHICAGO).date() + dt.timedelta(days=days_ahead)


def open_slot(days_ahead: int = 2, hour: int = 11) -> dt.datetime:
    """A future moment the store (weekdays 9-8, Saturday 9-6, Sunday closed) is open."""
    day = local_day(days_ahead)
    while day.weekday() == 6:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=CHICAGO)


def sunday_noon() -> dt.datetime:
    day = local_day(2)
    while day.weekday() != 6:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(12), tzinfo=CHICAGO)


def task(staff, *, lead=None, customer=None, due=None, done=False, **fields) -> Task:
    customer = customer or lead.customer
    return Task.objects.create(
        store=customer.store, customer=customer, lead=lead, staff=staff, kind=fields.pop("kind", TaskKind.FOLLOW_UP),
        due_at=due or timezone.now() + dt.timedelta(hours=1), reason=fields.pop("reason", "Call back"),
        completed_at=timezone.now() if done else None, **fields,
    )


@pytest.fixture
def world(org, store, other_store, lead_for):
    """Leads of the agent, agent2 (another team), the retail salesperson, and one of another store."""
    stranger = StaffFactory(store=other_store, role=Role.INTERNET_AGENT, user__username="stranger")
    return {
        **org,
        "lead": lead_for(owner=org["agent"]),
        "lead2": lead_for(owner=org["agent2"]),
        "retail_lead": lead_for(owner=org["retail"]),
        "stranger": stranger,
        "foreign_lead": LeadFactory(store=other_store, owner=stranger),
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- Tasks ---------------------------------------------------------------------------------------


def test_tasks_are_scoped_to_the_caller_their_teams_or_the_store(api_for, world):
    mine = task(world["agent"], lead=world["lead"])
    other_team = task(world["agent2"], lead=world["lead2"])
    team_mate = task(world["retail"], lead=world["retail_lead"])
    unowned = task(None, lead=world["lead"])
    foreign = task(world["stranger"], lead=world["foreign_lead"])
    assert ids(api_for(world["agent"]).get(TASKS)) == {mine.pk}
    assert ids(api_for(world["manager"]).get(TASKS)) == {mine.pk, team_mate.pk, unowned.pk}
    assert ids(api_for(world["director"]).get(TASKS)) == {mine.pk, other_team.pk, team_mate.pk, unowned.pk}
    assert ids(api_for(world["receptionist"]).get(TASKS)) == set()
    assert ids(api_for(world["stranger"]).get(TASKS)) == {foreign.pk}
    assert api_for(world["agent"]).get(f"{TASKS}{other_team.pk}/").status_code == 404
    assert api_for(world["director"]).get(f"{TASKS}{foreign.pk}/").status_code == 404
    body = api_for(world["agent"]).get(f"{TASKS}{mine.pk}/").json()
    assert body["staff_name"] == world["agent"].display_name and body["is_open"] and not body["overdue"]


def test_task_filters_open_due_before_and_lead(api_for, world, lead_for):
    agent = world["agent"]
    soon = task(agent, lead=world["lead"], due=timezone.now() + dt.timedelta(hours=1))
    later = task(agent, lead=world["lead"], due=timezone.now() + dt.timedelta(days=3))
    done = task(agent, lead=world["lead"], done=True)
    other_lead = lead_for(owner=agent)
    elsewhere = task(agent, lead=other_lead)
    late = task(agent, lead=other_lead, due=timezone.now() - dt.timedelta(hours=2))
    client = api_for(agent)
    assert ids(client.get(TASKS, {"open": "1"})) == {soon.pk, later.pk, elsewhere.pk, late.pk}
    assert ids(client.get(TASKS, {"open": "0"})) == {done.pk}
    cutoff = (timezone.now() + dt.timedelta(days=1)).isoformat()
    assert ids(client.get(TASKS, {"open": "1", "due_before": cutoff})) == {soon.pk, elsewhere.pk, late.pk}
    assert ids(client.get(TASKS, {"lead": world["lead"].pk})) == {soon.pk, later.pk, done.pk}
    rows = client.get(TASKS, {"lead": other_lead.pk}).json()["results"]
    assert [row["id"] for row in rows] == [late.pk, elsewhere.pk]  # soonest due first
    assert rows[0]["overdue"] is True and rows[1]["overdue"] is False
    # Another store's lead, or a date that is not one: a 400 naming the filter.
    response = client.get(TASKS, {"lead": world["foreign_lead"].pk})
    assert response.status_code == 400 and "lead" in response.json()
    assert client.get(TASKS, {"due_before": "next week"}).status_code == 400


def test_create_a_task_for_a_customer(api_for, world):
    lead = world["lead"]
    due = open_slot().isoformat()
    response = api_for(world["agent"]).post(
        TASKS, {"customer": lead.customer_id, "lead": lead.pk, "due_at": due, "reason": "Send the lease quote",
                "channel": "email"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["channel"], body["staff"], body["lead"]) == ("follow_up", "email", world["agent"].pk, lead.pk)
    made = Task.objects.get(pk=body["id"])
    assert made.reason == "Send the lease quote" and made.due_at == open_slot()


def test_a_task_for_a_customer_of_another_store_is_a_400_naming_the_customer(api_for, world, store):
    foreign = world["foreign_lead"].customer
    data = {"customer": foreign.pk, "due_at": open_slot().isoformat(), "reason": "Call back"}
    response = api_for(world["agent"]).post(TASKS, data, format="json")
    assert response.status_code == 400
    assert response.json() == {"customer": [f"Unknown customer {foreign.pk}."]}
    # A group admin sees the customers of the group's other stores; the service still refuses.
    sister_customer = CustomerFactory(store=StoreFactory(group=store.group))
    data["customer"] = sister_customer.pk
    response = api_for(world["admin"]).post(TASKS, data, format="json")
    assert response.status_code == 400
    assert response.json() == {"customer": ["That customer belongs to another store."]}
    assert not Task.objects.exists()


def test_bad_task_bodies_name_the_field(api_for, world):
    client = api_for(world["agent"])
    lead = world["lead"]
    base = {"customer": lead.customer_id, "due_at": open_slot().isoformat(), "reason": "Call back"}
    cases = [
        ({**base, "reason": "   "}, "reason"),
        ({**base, "channel": "fax"}, "channel"),
        ({**base, "due_at": "tomorrow"}, "due_at"),
        ({**base, "lead": world["lead2"].pk}, "lead"),  # not a lead the agent sees
        ({**base, "lead": world["retail_lead"].pk}, "lead"),
        ({k: v for k, v in base.items() if k != "customer"}, "customer"),
    ]
    for body, field in cases:
        response = client.post(TASKS, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json(), (body, response.json())
    # A lead of another customer of the store (the director sees both): the service names it.
    response = api_for(world["director"]).post(TASKS, {**base, "lead": world["lead2"].pk}, format="json")
    assert response.status_code == 400 and response.json() == {"lead": ["That lead is not this customer's."]}
    assert not Task.objects.exists()


def test_only_managers_and_directors_give_tasks_to_someone_else(api_for, world):
    lead = world["lead"]
    body = {"customer": lead.customer_id, "due_at": open_slot().isoformat(), "reason": "Call back", "staff": world["agent2"].pk}
    assert api_for(world["agent"]).post(TASKS, body, format="json").status_code == 403
    body["staff"] = world["agent"].pk  # oneself is fine
    assert api_for(world["agent"]).post(TASKS, body, format="json").status_code == 201
    response = api_for(world["manager"]).post(TASKS, body, format="json")
    assert response.status_code == 201 and response.json()["staff"] == world["agent"].pk
    body["staff"] = world["stranger"].pk
    response = api_for(world["manager"]).post(TASKS, body, format="json")
    assert response.status_code == 400 and response.json() == {"staff": [f"Unknown staff member {world['stranger'].pk}."]}


def test_complete_a_task_once(api_for, world):
    mine = task(world["agent"], lead=world["lead"])
    client = api_for(world["agent"])
    response = client.post(f"{TASKS}{mine.pk}/complete/")
    assert response.status_code == 200
    assert response.json()["completed_at"] is not None and response.json()["is_open"] is False
    again = client.post(f"{TASKS}{mine.pk}/complete/")
    assert again.status_code == 400 and again.json() == {"task": ["This task is already done or canceled."]}
    foreign = task(world["stranger"], lead=world["foreign_lead"])
    assert client.post(f"{TASKS}{foreign.pk}/complete/").status_code == 404
    other = task(world["agent2"], lead=world["lead2"])
    assert client.post(f"{TASKS}{other.pk}/complete/").status_code == 404
    assert Task.objects.get(pk=other.pk).completed_at is None and Task.objects.get(pk=foreign.pk).completed_at is None
    # The manager completes a task of their team.
    team_task = task(world["retail"], lead=world["retail_lead"])
    assert api_for(world["manager"]).post(f"{TASKS}{team_task.pk}/complete/").status_code == 200


def test_tasks_need_a_login(client):
    assert client.get(TASKS).status_code == 401


# --- Appointments -----------------------------------------------------------------------------------


def test_set_an_appointment_on_the_agents_lead(api_for, world):
    lead = world["lead"]
    starts = open_slot()
    response = api_for(world["agent"]).post(
        APPOINTMENTS, {"lead": lead.pk, "starts_at": starts.isoformat(), "note": "Test drive the CR-V"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["staff"], body["outside_hours"], body["note"]) == ("set", world["agent"].pk, False,
                                                                                   "Test drive the CR-V")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.APPOINTMENT_SET
    assert Appointment.objects.get(pk=body["id"]).starts_at == starts


def test_an_appointment_in_the_past_is_refused_with_the_message(api_for, world):
    past = timezone.now() - dt.timedelta(hours=1)
    response = api_for(world["agent"]).post(APPOINTMENTS, {"lead": world["lead"].pk, "starts_at": past.isoformat()},
                                            format="json")
    assert response.status_code == 400
    assert response.json() == {"starts_at": ["That time is in the past; pick a time from now on."]}
    assert not Appointment.objects.exists()


def test_an_appointment_outside_store_hours_needs_the_confirmation(api_for, world):
    client = api_for(world["agent"])
    sunday = sunday_noon()
    body = {"lead": world["lead"].pk, "starts_at": sunday.isoformat()}
    response = client.post(APPOINTMENTS, body, format="json")
    assert response.status_code == 400
    [message] = response.json()["starts_at"]
    assert message.endswith("is outside store hours; confirm to set it anyway.") and message.startswith("Sun ")
    assert not Appointment.objects.exists()
    response = client.post(APPOINTMENTS, {**body, "outside_hours_ok": True}, format="json")
    assert response.status_code == 201 and response.json()["outside_hours"] is True


def test_appointments_on_leads_the_caller_may_not_work_are_refused(api_for, world):
    starts = open_slot().isoformat()
    # Another store's lead and another team's lead are unknown to the agent.
    for lead in (world["foreign_lead"], world["lead2"]):
        response = api_for(world["agent"]).post(APPOINTMENTS, {"lead": lead.pk, "starts_at": starts}, format="json")
        assert response.status_code == 400 and response.json() == {"lead": [f"Unknown lead {lead.pk}."]}
    # A claim-pool lead the agent sees but has not claimed.
    pool = LeadFactory(store=world["lead"].store, owner=None, in_claim_pool=True)
    response = api_for(world["agent"]).post(APPOINTMENTS, {"lead": pool.pk, "starts_at": starts}, format="json")
    assert response.status_code == 403
    # The receptionist does not set appointments, in the API as in the browser (leads.permissions):
    # she hands the phone-up to a salesperson, who sets the visit.
    response = api_for(world["receptionist"]).post(APPOINTMENTS, {"lead": pool.pk, "starts_at": starts}, format="json")
    assert response.status_code == 403
    assert api_for(world["agent"]).post(APPOINTMENTS, {"starts_at": starts}, format="json").status_code == 400


def test_appointments_are_scoped(api_for, world):
    starts = open_slot()
    mine = appointment_set(lead=world["lead"], starts_at=starts, by=world["agent"])
    theirs = appointment_set(lead=world["lead2"], starts_at=starts, by=world["agent2"])
    team = appointment_set(lead=world["retail_lead"], starts_at=starts, by=world["retail"])
    foreign = appointment_set(lead=world["foreign_lead"], starts_at=starts, by=world["stranger"])
    assert ids(api_for(world["agent"]).get(APPOINTMENTS)) == {mine.pk}
    assert ids(api_for(world["manager"]).get(APPOINTMENTS)) == {mine.pk, team.pk}
    assert ids(api_for(world["receptionist"]).get(APPOINTMENTS)) == {mine.pk, theirs.pk, team.pk}
    assert ids(api_for(world["director"]).get(APPOINTMENTS)) == {mine.pk, theirs.pk, team.pk}
    assert ids(api_for(world["director"]).get(APPOINTMENTS, {"status": "set", "lead": world["lead2"].pk})) == {theirs.pk}
    assert api_for(world["agent"]).get(f"{APPOINTMENTS}{theirs.pk}/").status_code == 404
    for action in ("confirm", "check_in", "no_show", "cancel"):
        assert api_for(world["director"]).post(f"{APPOINTMENTS}{foreign.pk}/{action}/").status_code == 404
    assert Appointment.objects.get(pk=foreign.pk).status == AppointmentStatus.SET


def test_confirm_check_in_and_the_owner_hears_of_it(api_for, world):
    appointment = appointment_set(lead=world["lead"], starts_at=open_slot(), by=world["agent"])
    agent = api_for(world["agent"])
    response = agent.post(f"{APPOINTMENTS}{appointment.pk}/confirm/")
    assert response.status_code == 200 and response.json()["status"] == "confirmed"
    again = agent.post(f"{APPOINTMENTS}{appointment.pk}/confirm/")
    assert again.status_code == 400 and again.json() == {"status": ["This appointment is confirmed; only a set one is confirmed."]}
    response = api_for(world["receptionist"]).post(f"{APPOINTMENTS}{appointment.pk}/check_in/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "shown" and body["checked_in_by"] == world["receptionist"].pk and body["visit_event"]
    visit = ContactEvent.objects.get(pk=body["visit_event"])
    assert visit.channel == Channel.VISIT and visit.staff == world["agent"]
    world["lead"].refresh_from_db()
    assert world["lead"].status == LeadStatus.SHOWN
    assert Notification.objects.filter(staff=world["agent"], kind="check_in").count() == 1
    twice = api_for(world["receptionist"]).post(f"{APPOINTMENTS}{appointment.pk}/check_in/")
    assert twice.status_code == 400 and twice.json() == {"appointment": ["This appointment is already shown."]}
    assert ContactEvent.objects.filter(channel=Channel.VISIT).count() == 1


def test_no_show_only_after_the_start_and_cancel_once(api_for, world):
    upcoming = appointment_set(lead=world["lead"], starts_at=open_slot(), by=world["agent"])
    agent = api_for(world["agent"])
    early = agent.post(f"{APPOINTMENTS}{upcoming.pk}/no_show/")
    assert early.status_code == 400 and early.json() == {"status": ["The appointment has not started yet."]}
    started = Appointment.objects.create(
        store=upcoming.store, lead=world["lead"], customer=world["lead"].customer, staff=world["agent"],
        starts_at=timezone.now() - dt.timedelta(hours=3),
    )
    response = agent.post(f"{APPOINTMENTS}{started.pk}/no_show/")
    assert response.status_code == 200 and response.json()["status"] == "no_show"
    assert Task.objects.filter(lead=world["lead"], kind=TaskKind.FOLLOW_UP, channel=Channel.CALL).count() == 1
    response = agent.post(f"{APPOINTMENTS}{upcoming.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    again = agent.post(f"{APPOINTMENTS}{upcoming.pk}/cancel/")
    assert again.status_code == 400 and again.json() == {"status": ["This appointment is already canceled."]}


# --- Cadence -------------------------------------------------------------------------------------------


def test_everyone_of_the_store_reads_its_cadence_the_default_first(api_for, world):
    response = api_for(world["agent"]).get(CADENCE)
    assert response.status_code == 200
    body = response.json()
    assert body["is_default"] is True and body["store"] == world["agent"].store_id
    assert len(body["steps"]) == 15 and body["steps"][:3] == [
        {"day": 0, "channel": "call"}, {"day": 0, "channel": "text"}, {"day": 0, "channel": "email"}]
    assert (body["keep_in_touch_every_hours"], body["keep_in_touch_margin_hours"]) == (None, 24)
    assert body["keep_in_touch_computed_hours"] == 48
    assert body["summary"] == ("Call, text and email every day for 5 days until a two-way contact, "
                               "then a keep-in-touch task every 48 h")


def test_the_director_replaces_the_cadence(api_for, world):
    store = world["director"].store
    body = {"steps": [{"day": 0, "channel": "call"}, {"day": 0, "channel": "text"}, {"day": 2, "channel": "email"}],
            "keep_in_touch_every_hours": 60, "keep_in_touch_margin_hours": 12}
    response = api_for(world["director"]).put(CADENCE, body, format="json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["is_default"] is False and answer["keep_in_touch_computed_hours"] == 60
    assert answer["summary"] == ("Call and text on the day the lead arrives; email on day 3 until a two-way contact, "
                                 "then a keep-in-touch task every 60 h")
    assert sorted(followup.cadence_steps(store)) == [(0, "call"), (0, "text"), (2, "email")]
    cadence = Cadence.objects.get(store=store)
    assert (cadence.keep_in_touch_every_hours, cadence.keep_in_touch_margin_hours) == (60, 12)
    # A blank spacing comes from the coverage window (none here: 48 h).
    body["keep_in_touch_every_hours"] = None
    assert api_for(world["director"]).put(CADENCE, body, format="json").json()["keep_in_touch_computed_hours"] == 48


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"steps": []}, "steps", "A cadence needs at least one step (a day and a channel)."),
    ({"steps": [{"day": 61, "channel": "call"}]}, "steps", "Cadence days run from 0 (the day the lead arrived) to 60."),
    ({"steps": [{"day": 0, "channel": "call"}], "keep_in_touch_every_hours": 24, "keep_in_touch_margin_hours": 24},
     "keep_in_touch_every_hours", "The spacing must be longer than the margin."),
])
def test_a_bad_cadence_is_a_400_and_nothing_changes(api_for, world, body, field, message):
    followup.cadence_save(store=world["director"].store, steps=[(0, "call")])
    response = api_for(world["director"]).put(CADENCE, body, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [message]}
    assert followup.cadence_steps(world["director"].store) == [(0, "call")]


def test_malformed_cadence_bodies_name_the_field(api_for, world):
    client = api_for(world["director"])
    response = client.put(CADENCE, {"steps": [{"day": 0, "channel": "fax"}]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"steps": {"0": {"channel": ['"fax" is not a valid choice.']}}}
    assert "steps" in client.put(CADENCE, {}, format="json").json()
    assert "keep_in_touch_margin_hours" in client.put(
        CADENCE, {"steps": [{"day": 0, "channel": "call"}], "keep_in_touch_margin_hours": -1}, format="json").json()
    assert not Cadence.objects.exists()


@pytest.mark.parametrize("role", ["manager", "agent", "receptionist"])
def test_only_the_director_and_admins_change_the_cadence(api_for, world, role):
    response = api_for(world[role]).put(CADENCE, {"steps": [{"day": 0, "channel": "call"}]}, format="json")
    assert response.status_code == 403
    assert not Cadence.objects.exists()


def test_a_group_admin_names_the_store_and_another_groups_is_unknown(api_for, world, store, other_store):
    sister = StoreFactory(group=store.group)
    admin = api_for(world["admin"])
    response = admin.put(f"{CADENCE}?store={sister.pk}", {"steps": [{"day": 1, "channel": "text"}]}, format="json")
    assert response.status_code == 200 and response.json()["store"] == sister.pk
    assert followup.cadence_steps(sister) == [(1, "text")] and not Cadence.objects.filter(store=store).exists()
    assert admin.get(f"{CADENCE}?store={sister.pk}").json()["steps"] == [{"day": 1, "channel": "text"}]
    for wanted in (other_store.pk, "x"):
        response = admin.get(CADENCE, {"store": wanted})
        assert response.status_code == 400 and response.json() == {"store": [f"Unknown store {str(wanted)!r}."]}
    # The director of North Motors cannot reach its sister store.
    response = api_for(world["director"]).put(f"{CADENCE}?store={sister.pk}", {"steps": [{"day": 0, "channel": "call"}]},
                                              format="json")
    assert response.status_code == 400


# --- OpenAPI ------------------------------------------------------------------------------------------


def test_the_schema_documents_the_follow_up_endpoints(api_for, world):
    response = api_for(world["director"]).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    expected = {
        "/api/v1/tasks/": {"get", "post"}, "/api/v1/tasks/{id}/": {"get"}, "/api/v1/tasks/{id}/complete/": {"post"},
        "/api/v1/appointments/": {"get", "post"}, "/api/v1/appointments/{id}/": {"get"},
        "/api/v1/appointments/{id}/confirm/": {"post"}, "/api/v1/appointments/{id}/check_in/": {"post"},
        "/api/v1/appointments/{id}/no_show/": {"post"}, "/api/v1/appointments/{id}/cancel/": {"post"},
        "/api/v1/cadence/": {"get", "put"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths.get(path, {})), path
    task_params = {p["name"] for p in paths["/api/v1/tasks/"]["get"]["parameters"]}
    assert {"open", "due_before", "lead"} <= task_params
    create = paths["/api/v1/tasks/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["$ref"].endswith("/TaskCreate")
    appointment = schema["components"]["schemas"]["AppointmentCreate"]["properties"]
    assert {"lead", "starts_at", "note", "outside_hours_ok"} <= set(appointment)
    cadence = paths["/api/v1/cadence/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert cadence["$ref"].endswith("/Cadence")  # one object, not a page of them
    assert "keep_in_touch_computed_hours" in schema["components"]["schemas"]["Cadence"]["properties"]
