"""Lead intake over HTTP: the JSON API (POST /api/v1/leads/) and ADF/XML posts
(POST /api/v1/leads/adf/?store=<slug>), with refusals kept as RejectedIntake rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import StoreFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from distribution import services as ownership_writer
from leads.models import Customer, IntakeChannel, Lead, RejectedIntake, SourceType

pytestmark = pytest.mark.django_db

ADF_FIXTURES = Path(__file__).parent / "fixtures" / "adf"


@pytest.fixture
def director_api(org, api_for):
    return api_for(org["director"])


def assert_nothing_stored() -> None:
    assert not Lead.objects.exists()
    assert not Customer.objects.exists()


# --- JSON intake ---------------------------------------------------------------------------------


def payload(**overrides) -> dict:
    body = {
        "store": "north-motors",
        "source_type": "third_party",
        "provider": "CarGurus",
        "provider_lead_id": "CG-1001",
        "comments": "Is it still available?",
        "customer": {
            "first_name": "Maria", "last_name": "Lopez", "phone": "(312) 555-0142", "email": " Maria.Lopez@Example.COM",
        },
        "vehicles": [{"condition": "used", "year": 2021, "make": "Toyota", "model": "RAV4", "stock_number": "U1234"}],
    }
    body.update(overrides)
    return body


def post_lead(client, body):
    return client.post("/api/v1/leads/", body, format="json")


def test_json_intake_creates_a_lead(director_api, store):
    response = post_lead(director_api, payload())

    assert response.status_code == 201, response.content
    body = response.json()
    lead = Lead.objects.get()
    assert body["id"] == lead.pk and body["created"] is True and body["duplicate"] is False
    assert body["url"] == f"/api/v1/leads/{lead.pk}/" and body["customer"] == lead.customer_id
    assert [str(p.number) for p in lead.customer.phones.all()] == ["+13125550142"]
    assert [e.email for e in lead.customer.emails.all()] == ["maria.lopez@example.com"]
    assert lead.vehicles.get().stock_number == "U1234"
    assert (lead.store, lead.intake_channel, lead.source_type) == (store, IntakeChannel.API, SourceType.THIRD_PARTY)
    assert json.loads(lead.original_document)["provider_lead_id"] == "CG-1001"
    assert lead.routing_due_at is not None


def test_json_resend_is_200_and_stores_nothing_new(director_api):
    first = post_lead(director_api, payload())
    again = post_lead(director_api, payload(comments="Resent by the provider"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert Lead.objects.count() == 1 and Customer.objects.count() == 1
    assert Lead.objects.get().comments == "Is it still available?"


@pytest.mark.parametrize(
    "contact",
    [{"phone": "312.555.0142", "email": ""}, {"phone": "", "email": "maria.lopez@example.com"}],
    ids=["same phone", "same email"],
)
def test_json_duplicate_customer_goes_to_the_open_leads_owner(director_api, org, contact):
    first = Lead.objects.get(pk=post_lead(director_api, payload()).json()["id"])
    ownership_writer.lead_owner_set(lead=first, to_staff=org["agent"], by=None, reason="test")

    second = post_lead(
        director_api,
        payload(provider="Autotrader", provider_lead_id="AT-9", customer={"first_name": "M.", **contact}),
    )

    assert second.status_code == 201, second.content
    assert second.json()["duplicate"] is True
    lead = Lead.objects.get(pk=second.json()["id"])
    assert (lead.duplicate_of, lead.owner, lead.customer) == (first, org["agent"], first.customer)
    assert Customer.objects.count() == 1


def test_json_malformed_body_is_400(director_api):
    response = director_api.post("/api/v1/leads/", '{"store": "north-motors", ', content_type="application/json")
    assert response.status_code == 400
    assert_nothing_stored()


@pytest.mark.parametrize("field", ["store", "source_type", "customer"])
def test_json_missing_required_field_is_400_naming_it(director_api, field):
    body = payload()
    del body[field]
    response = post_lead(director_api, body)
    assert response.status_code == 400
    assert field in response.json()
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer": {}}, "customer"),
        ({"customer": {"first_name": "Maria", "phone": "not a phone"}}, "phone"),
        ({"customer": {"first_name": "Maria", "phone": "555-0100"}}, "phone"),
        ({"customer": {"first_name": "Maria", "email": "maria@"}}, "email"),
        ({"source_type": "carrier_pigeon"}, "source_type"),
        ({"store": "no-such-store"}, "store"),
        ({"received_at": "yesterday"}, "received_at"),
    ],
)
def test_json_invalid_input_is_400_naming_the_field(director_api, overrides, field):
    response = post_lead(director_api, payload(**overrides))
    assert response.status_code == 400
    assert field in response.json()
    assert_nothing_stored()


def test_json_store_of_another_group_is_400_naming_store(api_for, org, store, other_store):
    sister = StoreFactory(group=store.group, slug="north-west")
    refused = post_lead(api_for(org["admin"]), payload(store=other_store.slug))
    assert refused.status_code == 400 and "store" in refused.json()
    assert_nothing_stored()
    # The same group admin may post to every store of the group; a director only to their own.
    assert post_lead(api_for(org["director"]), payload(store=sister.slug)).status_code == 400
    accepted = post_lead(api_for(org["admin"]), payload(store=sister.slug))
    assert accepted.status_code == 201 and Lead.objects.get().store == sister


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_json_intake_with_token_auth(org):
    token = Token.objects.create(user=org["director"].user)
    response = post_lead(token_client(token.key), payload())
    assert response.status_code == 201, response.content
    assert Lead.objects.get().created_by == org["director"]


@pytest.mark.parametrize("client", [APIClient(), token_client("0" * 40)], ids=["anonymous", "bad token"])
def test_json_intake_without_valid_credentials_is_refused(org, client):
    assert post_lead(client, payload()).status_code in (401, 403)
    assert_nothing_stored()


# --- ADF/XML intake ------------------------------------------------------------------------------


def adf_fixture(name: str) -> bytes:
    return (ADF_FIXTURES / name).read_bytes()


def two_valid_prospects() -> bytes:
    """multiple_prospects.xml gives its second prospect a number without an area code."""
    return adf_fixture("multiple_prospects.xml").replace(b"555-0100", b"(312) 555-0100")


def post_adf(client, body: bytes, query: str = "store=north-motors"):
    return client.post(f"/api/v1/leads/adf/?{query}", data=body, content_type="application/xml")


def test_adf_with_several_prospects_creates_several_leads(director_api, store):
    document = two_valid_prospects()
    response = post_adf(director_api, document)

    assert response.status_code == 201, response.content
    leads = Lead.objects.order_by("provider_lead_id")
    assert [row["id"] for row in response.json()] == [lead.pk for lead in leads]
    assert [lead.provider_lead_id for lead in leads] == ["LH-1001", "LH-1002"]
    assert [lead.customer.last_name for lead in leads] == ["Walker", "Ivanov"]
    assert {lead.intake_channel for lead in leads} == {IntakeChannel.ADF}
    assert all(lead.original_document == document.decode() for lead in leads)


def test_adf_oem_lead_keeps_vehicles_and_guesses_source(director_api):
    response = post_adf(director_api, adf_fixture("oem_toyota_with_trade_in.xml"))
    assert response.status_code == 201, response.content
    (row,) = response.json()
    lead = Lead.objects.get(pk=row["id"])
    assert lead.source_type == SourceType.OEM and lead.provider == "Toyota.com"
    assert sorted(v.interest for v in lead.vehicles.all()) == ["buy", "trade-in"]
    assert "<vendorname>Capital City Toyota</vendorname>" in lead.original_document


def test_adf_source_type_parameter(director_api):
    response = post_adf(director_api, two_valid_prospects(), "store=north-motors&source_type=chat")
    assert response.status_code == 201
    assert set(Lead.objects.values_list("source_type", flat=True)) == {SourceType.CHAT}
    refused = post_adf(director_api, two_valid_prospects(), "store=north-motors&source_type=pigeon")
    assert refused.status_code == 400 and "source_type" in refused.json()


def test_adf_resend_is_200_and_stores_nothing_new(director_api):
    first = post_adf(director_api, two_valid_prospects())
    again = post_adf(director_api, two_valid_prospects())
    assert (first.status_code, again.status_code) == (201, 200)
    assert [row["id"] for row in again.json()] == [row["id"] for row in first.json()]
    assert all(row["created"] is False for row in again.json())
    assert Lead.objects.count() == 2


@pytest.mark.parametrize("query", ["store=no-such-store", "store=south-motors", ""])
def test_adf_to_an_unknown_or_foreign_store_is_400_naming_store(director_api, other_store, query):
    response = post_adf(director_api, two_valid_prospects(), query)
    assert response.status_code == 400 and "store" in response.json()
    assert_nothing_stored()


def refused_adf(api_for, org, body: bytes, status: int, reason: str) -> RejectedIntake:
    """Post a document that must be refused; check nothing was stored and the refusal was kept
    where a director, and not an agent, can see it."""
    director = api_for(org["director"])
    response = post_adf(director, body)
    assert response.status_code == status, response.content
    assert response.json()["reason"] == reason
    assert_nothing_stored()
    rejected = RejectedIntake.objects.get()
    assert (rejected.store, rejected.channel, rejected.reason) == (org["director"].store, IntakeChannel.ADF, reason)
    listed = director.get("/api/v1/rejected-intakes/").json()["results"]
    assert [(row["id"], row["reason"]) for row in listed] == [(rejected.pk, reason)]
    agent = api_for(org["agent"])
    assert agent.get("/api/v1/rejected-intakes/").json()["results"] == []
    assert agent.get(f"/api/v1/rejected-intakes/{rejected.pk}/").status_code == 404
    return rejected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("not_xml.txt", "not_xml"),
        ("broken_mismatched_tag.xml", "not_xml"),
        ("not_adf_root.xml", "not_adf"),
        ("adf_without_prospect.xml", "not_adf"),
        ("hostile_billion_laughs.xml", "forbidden_xml"),
        ("hostile_external_entity.xml", "forbidden_xml"),
        ("hostile_dtd.xml", "forbidden_xml"),
    ],
)
def test_adf_refused_documents_are_400_and_recorded(api_for, org, name, reason):
    rejected = refused_adf(api_for, org, adf_fixture(name), 400, reason)
    assert rejected.body_excerpt == adf_fixture(name).decode()[:4000]


def test_adf_over_the_size_cap_is_413_and_recorded(api_for, org, settings):
    settings.INTAKE_MAX_BYTES = 200
    document = two_valid_prospects()
    assert len(document) > 200

    rejected = refused_adf(api_for, org, document, 413, "too_large")

    assert rejected.message.startswith(f"The body is {len(document)} bytes")


def test_adf_prospect_with_bad_phone_stores_no_lead_of_the_document(api_for, org):
    """The second prospect's phone has no area code: the first prospect's lead must not stay."""
    rejected = refused_adf(api_for, org, adf_fixture("multiple_prospects.xml"), 400, "invalid_lead")
    assert "phone" in rejected.message
    assert "LH-1001" in rejected.body_excerpt
    response = post_adf(api_for(org["director"]), adf_fixture("multiple_prospects.xml"))
    assert "phone" in response.json()


def test_adf_intake_with_token_auth(org):
    token = Token.objects.create(user=org["director"].user)
    response = post_adf(token_client(token.key), two_valid_prospects())
    assert response.status_code == 201
    assert Lead.objects.count() == 2
    assert post_adf(APIClient(), two_valid_prospects()).status_code in (401, 403)



# --- Odd input (issue 14): never a 500, never half-written, always recorded ---------------------


def assert_refusal_recorded(reason: str) -> RejectedIntake:
    rejected = RejectedIntake.objects.get()
    assert rejected.reason == reason
    return rejected


def test_json_odometer_over_the_integer_range_is_400_naming_the_field(director_api):
    vehicles = [{"make": "Honda", "model": "Civic"}, {"make": "Ford", "odometer": 99999999999}]
    response = post_lead(director_api, payload(vehicles=vehicles))
    assert response.status_code == 400, response.content
    assert response.json()["vehicles"]["1"]["odometer"] == ["99999999999 is not a plausible odometer reading."]
    assert "99999999999 is not a plausible odometer reading" in assert_refusal_recorded("invalid_lead").message
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("customer", "field"),
    [
        ({"first_name": "Maria", "phones": [f"(312) 555-{n:04d}" for n in range(5000)]}, "phones"),
        ({"first_name": "Maria", "phone": "(312) 555-0100", "phones": [f"(312) 555-{n:04d}" for n in range(5)]}, "phones"),
        ({"first_name": "Maria", "emails": [f"m{n}@example.com" for n in range(6)]}, "emails"),
        ({"first_name": "M" * 101, "phone": "(312) 555-0100"}, "first_name"),
    ],
    ids=["5000 phones", "phone plus 5 phones", "6 emails", "long name"],
)
def test_json_customer_over_the_bounds_is_400_naming_the_field(director_api, customer, field):
    response = post_lead(director_api, payload(customer=customer))
    assert response.status_code == 400, response.content
    assert field in response.json()["customer"]
    assert field in assert_refusal_recorded("invalid_lead").message
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"vehicles": [{"make": "Honda"}] * 2000}, "vehicles"),
        ({"comments": "x" * 10001}, "comments"),
    ],
    ids=["2000 vehicles", "long comments"],
)
def test_json_lead_over_the_bounds_is_400_naming_the_field(director_api, overrides, field):
    response = post_lead(director_api, payload(**overrides))
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert_refusal_recorded("invalid_lead")
    assert_nothing_stored()


def test_json_with_nul_in_a_field_is_400_and_recorded(director_api):
    response = post_lead(director_api, payload(comments="Is it\x00 available?"))
    assert response.status_code == 400, response.content
    assert "comments" in response.json()
    assert_refusal_recorded("invalid_lead")
    assert_nothing_stored()


def test_unparseable_body_with_nul_bytes_is_recorded(director_api):
    response = director_api.post("/api/v1/leads/", b'{"store": "\x00\x00', content_type="application/json")
    assert response.status_code == 400
    rejected = assert_refusal_recorded("invalid_json")
    assert "\x00" not in rejected.body_excerpt and rejected.body_excerpt.startswith('{"store": "')
    assert_nothing_stored()


def deeply_nested(depth: int = 50_000) -> str:
    return "[" * depth + "]" * depth


def test_json_nested_too_deeply_is_400_and_recorded(director_api):
    response = director_api.post("/api/v1/leads/", deeply_nested(), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert "JSON nested too deeply" in response.json()["detail"]
    assert "nested too deeply" in assert_refusal_recorded("invalid_json").message
    assert_nothing_stored()


def test_json_nested_past_the_depth_limit_but_not_recursion_is_400(director_api):
    response = director_api.post("/api/v1/leads/", deeply_nested(100), content_type="application/json")
    assert response.status_code == 400
    assert "JSON nested too deeply" in response.json()["detail"]


def test_contact_event_nested_too_deeply_is_400(director_api):
    response = director_api.post("/api/v1/contact-events/", deeply_nested(), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert "JSON nested too deeply" in response.json()["detail"]


def adf_with(customer: str = "", vehicles: str = "") -> bytes:
    return (
        "<adf><prospect><id source='LeadHub'>LH-77</id><requestdate>2026-03-02T10:00:00-06:00</requestdate>"
        f"{vehicles}<customer><contact><name part='full'>Maria Lopez</name>{customer}</contact>"
        "<comments>Call me</comments></customer><provider><name>LeadHub</name></provider></prospect></adf>"
    ).encode()


def test_adf_odometer_over_the_integer_range_keeps_the_lead_without_it(director_api):
    vehicle = "<vehicle interest='trade-in'><make>Ford</make><odometer>99999999999</odometer></vehicle>"
    response = post_adf(director_api, adf_with("<phone>(312) 555-0142</phone>", vehicle))
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert lead.vehicles.get().odometer is None
    assert "odometer 99999999999 is not a plausible reading" in lead.comments
    assert lead.comments.startswith("Call me")


def test_adf_over_the_bounds_keeps_the_first_and_says_so(director_api):
    phones = "".join(f"<phone>(312) 555-{n:04d}</phone>" for n in range(5000))
    emails = "".join(f"<email>m{n}@example.com</email>" for n in range(8))
    vehicles = "<vehicle><make>Honda</make><odometer>12000</odometer></vehicle>" * 2000
    response = post_adf(director_api, adf_with(phones + emails, vehicles))
    assert response.status_code == 201, response.content
    lead = Lead.objects.get()
    assert lead.customer.phones.count() == 5 and lead.customer.emails.count() == 5
    assert lead.vehicles.count() == 10
    assert "5000 phone numbers sent; the first 5 kept." in lead.comments
    assert "8 email addresses sent; the first 5 kept." in lead.comments
    assert "2000 vehicles sent; the first 10 kept." in lead.comments


def test_adf_with_nul_bytes_is_400_and_recorded(director_api):
    response = post_adf(director_api, adf_with("<phone>(312) 555-0142\x00</phone>"))
    assert response.status_code == 400, response.content
    rejected = assert_refusal_recorded("not_xml")
    assert "\x00" not in rejected.body_excerpt and "555-0142" in rejected.body_excerpt
    assert_nothing_stored()


def test_adf_with_nul_after_the_document_keeps_the_lead(director_api):
    response = post_adf(director_api, adf_with("<phone>(312) 555-0142</phone>") + b"\n-- sent by\x00 LeadHub")
    assert response.status_code == 201, response.content
    assert "\x00" not in Lead.objects.get().original_document


def test_truncate_of_contact_events_is_refused():
    """The append-only trigger covers TRUNCATE too (a session must opt in, as the test flush does)."""
    from django.db import DatabaseError, connection, transaction

    with pytest.raises(DatabaseError, match="TRUNCATE refused"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL dealercrm.allow_truncate = 'off'")
        cursor.execute("TRUNCATE leads_contactevent CASCADE")
