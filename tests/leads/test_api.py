"""The REST API (other than lead intake): store scoping of every endpoint, lead transitions and
assignment, contact events, filters and pagination, the OpenAPI schema and query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from factories import (
    ContactEventFactory,
    CustomerEmailFactory,
    CustomerFactory,
    CustomerPhoneFactory,
    LeadFactory,
    StaffFactory,
    StoreFactory,
    TeamFactory,
)

from leads.models import (
    ContactEvent,
    EvidenceLevel,
    Lead,
    LeadAssignment,
    LeadStatus,
    LeadStatusChange,
    LeadVehicle,
    RejectedIntake,
    SourceType,
)
from org.models import Role

pytestmark = [pytest.mark.clock, pytest.mark.django_db]


def call(client, method: str, url: str, data=None):
    return getattr(client, method)(url, data, format="json")


def result_ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def world(store, *, staff, team, lead) -> dict:
    """One object of every scoped kind in `store`, keyed by its endpoint."""
    event = ContactEventFactory(lead=lead, staff=staff)
    rejected = RejectedIntake.objects.create(store=store, channel="adf", reason="not_xml", message="Not XML.")
    return {
        "stores": store, "teams": team, "staff": staff, "customers": lead.customer, "leads": lead,
        "contact-events": event, "rejected-intakes": rejected,
    }


@pytest.fixture
def own(store, org, lead_for):
    return world(store, staff=org["agent"], team=org["team"], lead=lead_for(owner=org["agent"]))


@pytest.fixture
def foreign(other_store):
    """Objects of a store in another dealer group."""
    staff = StaffFactory(store=other_store, role=Role.INTERNET_AGENT, user__username="south-agent")
    team = TeamFactory(store=other_store, name="South Team")
    return world(other_store, staff=staff, team=team, lead=LeadFactory(store=other_store, owner=staff))


# --- Scoping: another store's objects are absent -------------------------------------------------

CROSS_STORE_REQUESTS = [
    ("get", "stores", ""),
    ("get", "teams", ""),
    ("get", "staff", ""),
    ("get", "customers", ""),
    ("patch", "customers", ""),
    ("get", "leads", ""),
    ("post", "leads", "transition/"),
    ("post", "leads", "assign/"),
    ("get", "contact-events", ""),
    ("get", "rejected-intakes", ""),
]


@pytest.mark.parametrize("role", ["agent", "manager", "director", "admin"])
@pytest.mark.parametrize(("method", "endpoint", "suffix"), CROSS_STORE_REQUESTS)
def test_another_stores_object_is_404_on_every_endpoint(api_for, org, foreign, role, method, endpoint, suffix):
    target = foreign[endpoint]
    lead, customer = foreign["leads"], foreign["customers"]
    name = customer.first_name
    body = {"status": "contacted", "owner": org["manager"].pk, "first_name": "Hacked"}

    response = call(api_for(org[role]), method, f"/api/v1/{endpoint}/{target.pk}/{suffix}", body)

    assert response.status_code == 404, response.content
    lead.refresh_from_db()
    customer.refresh_from_db()
    assert (lead.status, lead.owner_id, customer.first_name) == ("new", foreign["staff"].pk, name)
    assert not LeadStatusChange.objects.filter(lead=lead).exists()
    assert not LeadAssignment.objects.filter(lead=lead).exists()


@pytest.mark.parametrize("endpoint", ["stores", "teams", "staff", "customers", "leads", "contact-events", "rejected-intakes"])
def test_lists_hold_own_store_rows_and_none_of_another_store(api_for, org, own, foreign, endpoint):
    shown = result_ids(api_for(org["director"]).get(f"/api/v1/{endpoint}/"))
    assert own[endpoint].pk in shown
    assert foreign[endpoint].pk not in shown


def test_group_admin_lists_every_store_of_the_group(api_for, org, store, own, foreign):
    sister = StoreFactory(group=store.group, slug="north-west")
    sister_lead = LeadFactory(store=sister)
    client = api_for(org["admin"])
    assert result_ids(client.get("/api/v1/stores/")) == {store.pk, sister.pk}
    assert result_ids(client.get("/api/v1/leads/")) == {own["leads"].pk, sister_lead.pk}
    assert client.get(f"/api/v1/leads/{sister_lead.pk}/").status_code == 200


def test_agent_lists_only_own_leads_and_the_claim_pool(api_for, org, lead_for):
    mine, pool = lead_for(owner=org["agent"]), lead_for(in_claim_pool=True)
    theirs = lead_for(owner=org["agent2"])
    client = api_for(org["agent"])
    assert result_ids(client.get("/api/v1/leads/")) == {mine.pk, pool.pk}
    assert client.get(f"/api/v1/leads/{theirs.pk}/").status_code == 404


def test_unauthenticated_api_is_refused(own):
    from rest_framework.test import APIClient

    for endpoint in ["leads", "customers", "contact-events", "rejected-intakes", "stores"]:
        assert APIClient().get(f"/api/v1/{endpoint}/").status_code in (401, 403)


# --- Lead detail, transitions and assignment -----------------------------------------------------


def test_lead_detail_has_history_and_original_document(api_for, org, lead_for):
    lead = lead_for(owner=org["agent"], original_document="<adf/>")
    LeadVehicle.objects.create(lead=lead, make="Honda", model="Civic", year=2024)
    body = api_for(org["agent"]).get(f"/api/v1/leads/{lead.pk}/").json()
    assert body["id"] == lead.pk
    assert body["original_document"] == "<adf/>"
    assert body["vehicles"][0]["model"] == "Civic"
    assert body["customer"]["last_name"] == lead.customer.last_name


def transition(client, lead, status):
    return client.post(f"/api/v1/leads/{lead.pk}/transition/", {"status": status}, format="json")


def test_transition_along_the_allowed_path(api_for, org, lead_for):
    lead = lead_for(owner=org["agent"])
    client = api_for(org["agent"])
    for status in ["contacted", "appointment_set", "shown", "sold"]:
        response = transition(client, lead, status)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status
    lead.refresh_from_db()
    assert lead.status == LeadStatus.SOLD
    changes = list(lead.status_changes.values_list("to_status", "changed_by"))
    assert changes == [(s, org["agent"].pk) for s in ["contacted", "appointment_set", "shown", "sold"]]


@pytest.mark.parametrize(("start", "to"), [("new", "sold"), ("new", "shown"), ("sold", "lost"), ("new", "bogus")])
def test_refused_transition_is_400_naming_status(api_for, org, lead_for, start, to):
    lead = lead_for(owner=org["agent"], status=start)
    response = transition(api_for(org["agent"]), lead, to)
    assert response.status_code == 400
    assert "status" in response.json()
    lead.refresh_from_db()
    assert lead.status == start


def assign(client, lead, owner_pk):
    return client.post(f"/api/v1/leads/{lead.pk}/assign/", {"owner": owner_pk, "reason": "Test"}, format="json")


@pytest.mark.parametrize(
    ("role", "new_owner"),
    [("manager", "agent"), ("manager", "agent2"), ("director", "agent2"), ("receptionist", "retail"), ("admin", "agent")],
)
def test_assign_unassigned_lead(api_for, org, lead_for, role, new_owner):
    """Even when the new owner is outside the assigner's view (a manager giving a lead to another
    team, a receptionist an old lead), the answer is the assigned lead, not an error."""
    lead = lead_for(in_claim_pool=True, received_at=timezone.now() - dt.timedelta(days=2))
    response = assign(api_for(org[role]), lead, org[new_owner].pk)
    assert response.status_code == 200, response.content
    assert response.json()["owner"] == org[new_owner].pk
    lead.refresh_from_db()
    assert (lead.owner, lead.in_claim_pool) == (org[new_owner], False)
    assert lead.assignments.get().assigned_by == org[role]


def test_assign_to_staff_of_another_store_is_400_naming_owner(api_for, org, lead_for, foreign):
    lead = lead_for()
    for stranger in [foreign["staff"], StaffFactory(store=StoreFactory(group=lead.store.group))]:
        response = assign(api_for(org["admin"]), lead, stranger.pk)
        assert response.status_code == 400
        assert "owner" in response.json()
    response = assign(api_for(org["manager"]), lead, 999999)
    assert response.status_code == 400 and "owner" in response.json()
    lead.refresh_from_db()
    assert lead.owner is None and not lead.assignments.exists()


@pytest.mark.parametrize("role", ["agent", "retail"])
def test_salespeople_cannot_assign(api_for, org, lead_for, role):
    lead = lead_for(owner=org[role])
    response = assign(api_for(org[role]), lead, org["agent2"].pk)
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.owner == org[role]


# --- Contact events: logging, append-only, import ------------------------------------------------


def log(client, lead, **fields):
    return client.post("/api/v1/contact-events/", {"lead": lead.pk, **fields}, format="json")


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({"channel": "note", "body": "Asked for trade-in photos."}, "note"),
        ({"channel": "call", "outcome": "voicemail", "outside_company_channels": True}, "voicemail"),
        ({"channel": "visit"}, "visited"),
    ],
)
def test_log_contact_event_is_self_reported(api_for, org, lead_for, fields, outcome):
    lead = lead_for(owner=org["agent"])
    response = log(api_for(org["agent"]), lead, **fields)
    assert response.status_code == 201, response.content
    event = ContactEvent.objects.get(pk=response.json()["id"])
    assert (event.lead, event.customer, event.staff) == (lead, lead.customer, org["agent"])
    assert event.evidence_level == EvidenceLevel.SELF_REPORTED
    assert event.outcome == outcome
    assert event.outside_company_channels is bool(fields.get("outside_company_channels"))
    assert response.json()["evidence_level"] == "self_reported"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"channel": "call"}, "outcome"),
        ({"channel": "note", "body": "  "}, "body"),
        ({"channel": "call", "outcome": "visited"}, "outcome"),
        ({"channel": "fax", "body": "x"}, "channel"),
        ({"channel": "note", "body": "x", "occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
    ],
)
def test_invalid_log_is_400_naming_the_field(api_for, org, lead_for, fields, field):
    response = log(api_for(org["agent"]), lead_for(owner=org["agent"]), **fields)
    assert response.status_code == 400
    assert field in response.json()
    assert not ContactEvent.objects.exists()


@pytest.mark.parametrize("whose", ["another store", "another agent"])
def test_log_on_a_lead_out_of_scope_is_400_naming_lead(api_for, org, lead_for, foreign, whose):
    lead = foreign["leads"] if whose == "another store" else lead_for(owner=org["agent2"])
    before = ContactEvent.objects.count()
    response = log(api_for(org["agent"]), lead, channel="note", body="hello")
    assert response.status_code == 400
    assert "lead" in response.json()
    assert ContactEvent.objects.count() == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_contact_events_cannot_be_changed_or_deleted(api_for, org, own, method):
    event = own["contact-events"]
    response = call(api_for(org["director"]), method, f"/api/v1/contact-events/{event.pk}/", {"body": "edited"})
    assert response.status_code == 405
    assert ContactEvent.objects.get(pk=event.pk).body == event.body


def import_payload(store, customer, /, **event_overrides) -> dict:
    when = timezone.now() - dt.timedelta(days=400)
    events = [
        {
            "external_id": f"old-{i}", "customer": customer.pk, "channel": "call", "direction": "outbound",
            "outcome": "connected", "occurred_at": (when + dt.timedelta(hours=i)).isoformat(), "talk_seconds": 60 + i,
        }
        for i in range(2)
    ]
    events[1].update(event_overrides)
    return {"store": store.slug, "source_system": "OldCRM", "events": events}


def post_import(client, payload):
    return client.post("/api/v1/contact-events/import/", payload, format="json")


@pytest.mark.parametrize("role", ["director", "admin"])
def test_import_stores_imported_events_once(api_for, org, store, role):
    customer = CustomerFactory(store=store)
    lead = LeadFactory(store=store, customer=customer)
    payload = import_payload(store, customer, lead=lead.pk, staff=org["agent"].pk)
    client = api_for(org[role])

    first = post_import(client, payload)
    assert first.status_code == 200, first.content
    assert first.json() == {"stored": 2, "already_present": 0}
    events = list(ContactEvent.objects.order_by("occurred_at"))
    assert [e.evidence_level for e in events] == [EvidenceLevel.IMPORTED] * 2
    assert [e.occurred_at.isoformat() for e in events] == [
        dt.datetime.fromisoformat(e["occurred_at"]).astimezone(dt.UTC).isoformat() for e in payload["events"]
    ]
    assert (events[1].lead, events[1].staff, events[1].source_system) == (lead, org["agent"], "OldCRM")

    again = post_import(client, payload)
    assert again.status_code == 200
    assert again.json() == {"stored": 0, "already_present": 2}
    assert ContactEvent.objects.count() == 2


@pytest.mark.parametrize("role", ["agent", "manager", "receptionist"])
def test_import_is_refused_to_non_directors(api_for, org, store, role):
    response = post_import(api_for(org[role]), import_payload(store, CustomerFactory(store=store)))
    assert response.status_code == 403
    assert not ContactEvent.objects.exists()


@pytest.mark.parametrize("field", ["customer", "lead", "staff"])
def test_import_naming_another_stores_object_is_400_naming_the_field(api_for, org, store, foreign, field):
    customer = CustomerFactory(store=store)
    before = ContactEvent.objects.count()
    payload = import_payload(store, customer, **{field: foreign[{"customer": "customers", "lead": "leads"}.get(field, field)].pk})
    response = post_import(api_for(org["director"]), payload)
    assert response.status_code == 400
    assert f"events[1].{field}" in response.json()
    assert ContactEvent.objects.count() == before


def test_import_with_a_lead_of_another_customer_is_400_naming_the_lead(api_for, org, store):
    customer = CustomerFactory(store=store)
    someone_elses_lead = LeadFactory(store=store)
    response = post_import(api_for(org["director"]), import_payload(store, customer, lead=someone_elses_lead.pk))
    assert response.status_code == 400
    assert "events[1].lead" in response.json()
    assert not ContactEvent.objects.exists()


def test_import_into_another_stores_slug_is_400_naming_store(api_for, org, foreign):
    payload = import_payload(foreign["stores"], foreign["customers"])
    response = post_import(api_for(org["director"]), payload)
    assert response.status_code == 400 and "store" in response.json()
    assert ContactEvent.objects.filter(source_system="OldCRM").count() == 0


# --- Filters, search and pagination --------------------------------------------------------------


@pytest.fixture
def searchable(store, org):
    def make(first, last, phone, email, **lead_fields):
        customer = CustomerFactory(store=store, first_name=first, last_name=last)
        CustomerPhoneFactory(customer=customer, number=phone)
        CustomerEmailFactory(customer=customer, email=email)
        return LeadFactory(store=store, customer=customer, **lead_fields)

    return {
        "maria": make("Maria", "Lopez", "+13125550142", "maria@example.com", status="contacted", provider_lead_id="CG-77"),
        "mario": make("Mario", "Lopez", "+13125550143", "mario@example.com", source_type=SourceType.OEM),
        "john": make("John", "Smith", "+13125550144", "john@example.com", source_type=SourceType.OEM, owner=org["agent"]),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"maria", "mario", "john"}),
        ({"q": "Lopez"}, {"maria", "mario"}),
        ({"q": "maria lopez"}, {"maria"}),
        ({"q": "(312) 555-0143"}, {"mario"}),
        ({"q": "JOHN@example.com"}, {"john"}),
        ({"q": "CG-77"}, {"maria"}),
        ({"status": "contacted"}, {"maria"}),
        ({"source_type": "oem"}, {"mario", "john"}),
        ({"q": "Lopez", "source_type": "oem"}, {"mario"}),
        ({"q": "Lopez", "status": "new", "source_type": "third_party"}, set()),
        ({"unassigned": "true"}, {"maria", "mario"}),
    ],
)
def test_lead_list_filters_and_search(api_for, org, searchable, params, expected):
    shown = result_ids(api_for(org["director"]).get("/api/v1/leads/", params))
    assert shown == {searchable[name].pk for name in expected}


def test_lead_list_pages_without_counting(api_for, org, lead_for):
    leads = [lead_for(received_at=timezone.now() - dt.timedelta(minutes=i)) for i in range(5)]
    client = api_for(org["director"])

    first = client.get("/api/v1/leads/?page_size=2").json()
    assert "count" not in first
    assert [row["id"] for row in first["results"]] == [leads[0].pk, leads[1].pk]
    assert first["next"] and "page=2" in first["next"] and first["previous"] is None

    last = client.get("/api/v1/leads/?page_size=2&page=3").json()
    assert [row["id"] for row in last["results"]] == [leads[4].pk]
    assert last["next"] is None and last["previous"]
    assert client.get("/api/v1/leads/?page=x").status_code == 404


# --- Schema ---------------------------------------------------------------------------------------


def test_openapi_schema_and_docs(api_for, org):
    client = api_for(org["director"])
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/leads/", "/api/v1/leads/{id}/", "/api/v1/leads/adf/", "/api/v1/leads/{id}/transition/",
                 "/api/v1/contact-events/import/"]:
        assert path in paths
    assert "post" in paths["/api/v1/leads/"]
    assert client.get("/api/docs/").status_code == 200


# --- Query counts ---------------------------------------------------------------------------------


def make_full_leads(store, org, count: int) -> None:
    owners = [org["agent"], org["agent2"], org["retail"], None]
    for i in range(count):
        lead = LeadFactory(store=store, owner=owners[i % len(owners)], in_claim_pool=i % 4 == 3)
        CustomerPhoneFactory(customer=lead.customer)
        CustomerEmailFactory(customer=lead.customer)
        LeadVehicle.objects.create(lead=lead, make="Toyota", model="RAV4", year=2022)
        LeadVehicle.objects.create(lead=lead, make="Honda", model="Fit", interest="trade-in")


def queries_for(fetch) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = fetch()
    assert response.status_code == 200
    return len(captured)


def test_api_lead_list_query_count_does_not_grow_with_leads(api_for, org, store, django_assert_max_num_queries):
    client = api_for(org["director"])
    make_full_leads(store, org, 5)
    with_5 = queries_for(lambda: client.get("/api/v1/leads/"))
    make_full_leads(store, org, 35)
    with django_assert_max_num_queries(with_5):
        response = client.get("/api/v1/leads/")
    assert len(response.json()["results"]) == 40
    assert Lead.objects.count() == 40


@pytest.mark.parametrize(
    ("endpoint", "param", "pick"),
    [
        ("leads", "owner", lambda f: f["staff"].pk),
        ("leads", "customer", lambda f: f["customers"].pk),
        ("leads", "store", lambda f: f["stores"].pk),
        ("contact-events", "lead", lambda f: f["leads"].pk),
        ("staff", "team", lambda f: f["teams"].pk),
    ],
)
def test_filter_by_another_stores_id_answers_like_a_missing_id(api_for, org, foreign, endpoint, param, pick):
    """A filter must not tell which ids exist in another store."""
    client = api_for(org["director"])
    foreign_answer = client.get(f"/api/v1/{endpoint}/", {param: pick(foreign)})
    missing_answer = client.get(f"/api/v1/{endpoint}/", {param: 99_999_999})
    assert foreign_answer.status_code == missing_answer.status_code == 400
    assert foreign_answer.json() == missing_answer.json()
