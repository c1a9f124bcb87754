"""Health check for load balancers and the run command: the database and the broker."""

from __future__ import annotations

import time

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    from django.conf import settings
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        # A real round trip: kombu connects lazily, so ask the broker something.
        conn.default_channel.client.ping()
    return "ok"


@never_cache
def healthz(request):
    checks: dict[str, str] = {}
    started = time.monotonic()
    for name, check in (("database", _check_database), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
            checks[name] = f"error: {exc.__class__.__name__}: {exc}"[:300]
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": checks, "ms": round((time.monotonic() - started) * 1000, 1)},
        status=200 if healthy else 503,
    )
