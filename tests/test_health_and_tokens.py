"""/healthz reports the database and the broker; integration tokens come from drf_create_token."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_healthz_is_503_naming_the_broker_when_redis_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error")


def test_drf_create_token_gives_a_working_integration_token(org):
    out = StringIO()
    call_command("drf_create_token", org["admin"].user.username, stdout=out)
    key = out.getvalue().split()[2]
    client = APIClient()
    assert client.get("/api/v1/stores/").status_code in (401, 403)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/stores/")
    assert response.status_code == 200
    assert [row["slug"] for row in response.json()["results"]] == [org["admin"].store.slug]
