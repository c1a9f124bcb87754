"""What one intake post costs in SQL statements, so the busiest endpoint cannot creep back
(issue 14: 50 leads/s saturated two cores; bench/distribution.py prints the same counts), and
the API token authentication that reads the caller's staff record with the token."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from leads.models import Customer, Lead

pytestmark = pytest.mark.django_db

# The token (with its user, staff record and store), the intake's transaction (a savepoint under
# the test's transaction), the advisory locks, the lead id and customer lookup, the customer
# with their contacts, the lead, its vehicles, its first status row.
NEW_CUSTOMER_QUERIES = 9
# A returning customer with an open lead: their contacts are added, the open lead is read
# locked, and the new lead follows its owner (the lead's owner and its history row).
RETURNING_CUSTOMER_QUERIES = 13


@pytest.fixture
def token_client(org):
    token = Token.objects.create(user=org["admin"].user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def lead_body(n: int, *, phone: str | None = None, email: str | None = None) -> dict:
    return {
        "store": "north-motors", "source_type": "third_party", "provider": "CarGurus", "provider_lead_id": f"CG-{n}",
        "customer": {"first_name": "Maria", "last_name": f"Lopez{n}", "phone": phone or f"+1312555{n:04d}",
                     "email": email or f"maria{n}@example.com"},
        "vehicles": [{"condition": "used", "year": 2021, "make": "Toyota", "model": "RAV4"}],
    }


def test_a_new_customers_lead_costs_a_fixed_number_of_statements(token_client, django_assert_max_num_queries):
    for n in range(3):  # history in the store changes nothing
        assert token_client.post("/api/v1/leads/", lead_body(n), format="json").status_code == 201

    with django_assert_max_num_queries(NEW_CUSTOMER_QUERIES):
        response = token_client.post("/api/v1/leads/", lead_body(100), format="json")

    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["id"])
    assert lead.customer.last_name == "Lopez100" and lead.vehicles.count() == 1
    assert [str(p.number) for p in lead.customer.phones.all()] == ["+13125550100"]
    assert [e.email for e in lead.customer.emails.all()] == ["maria100@example.com"]
    assert lead.status_changes.get().to_status == "new"


def test_a_returning_customers_lead_costs_a_fixed_number_of_statements(token_client, org, django_assert_max_num_queries):
    first = token_client.post("/api/v1/leads/", lead_body(1, phone="+13125550142"), format="json").json()
    Lead.objects.filter(pk=first["id"]).update(owner=org["agent"])

    with django_assert_max_num_queries(RETURNING_CUSTOMER_QUERIES):
        response = token_client.post(
            "/api/v1/leads/", lead_body(2, phone="(312) 555-0142", email="new.address@example.com"), format="json"
        )

    body = response.json()
    assert response.status_code == 201 and body["duplicate"] is True and body["duplicate_of"] == first["id"]
    assert body["owner"] == org["agent"].pk and body["customer"] == first["customer"]
    assert Customer.objects.count() == 1
    assert sorted(e.email for e in Customer.objects.get().emails.all()) == ["maria1@example.com", "new.address@example.com"]


def test_a_resend_is_answered_from_the_stored_lead(token_client, django_assert_max_num_queries):
    first = token_client.post("/api/v1/leads/", lead_body(7), format="json").json()
    with django_assert_max_num_queries(NEW_CUSTOMER_QUERIES):
        again = token_client.post("/api/v1/leads/", {**lead_body(7), "comments": "resent"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == first["id"] and again.json()["created"] is False
    assert Lead.objects.count() == 1


# --- the token authentication ----------------------------------------------------------------


def test_an_unknown_token_is_refused(org):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
    response = client.get("/api/v1/stores/")
    assert response.status_code == 401 and response.json()["detail"] == "Invalid token."


def test_a_deactivated_users_token_is_refused(token_client, org):
    assert token_client.get("/api/v1/stores/").status_code == 200
    org["admin"].user.is_active = False
    org["admin"].user.save()
    response = token_client.get("/api/v1/stores/")
    assert response.status_code == 401 and response.json()["detail"] == "User inactive or deleted."


def test_a_token_whose_staff_record_is_inactive_sees_nothing_and_posts_nothing(token_client, org):
    assert [s["slug"] for s in token_client.get("/api/v1/stores/").json()["results"]] == ["north-motors"]
    org["admin"].is_active = False
    org["admin"].save()

    assert token_client.get("/api/v1/stores/").json()["results"] == []
    response = token_client.post("/api/v1/leads/", lead_body(3), format="json")
    assert response.status_code == 400 and "store" in response.json()
    assert not Lead.objects.exists()


def test_a_superusers_token_without_a_staff_record_sees_every_store(org, other_store, django_user_model):
    root = django_user_model.objects.create(username="root", is_superuser=True, is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=root).key}")
    slugs = {s["slug"] for s in client.get("/api/v1/stores/").json()["results"]}
    assert slugs == {"north-motors", "south-motors"}
