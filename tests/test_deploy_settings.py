"""Production settings pass Django's deployment checks; debug settings are refused without a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "PUBLIC_BASE_URL": "https://crm.example.com",
}
REAL_TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "ab12" * 8, "TWILIO_AUTH_TOKEN": "f" * 32}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "TWILIO_", "TELEPHONY_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_SECRET_KEY="x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
        DJANGO_ALLOWED_HOSTS="crm.example.com",
        PUBLIC_BASE_URL="https://crm.example.com",
        **REAL_TWILIO,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="crm.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_check_deploy_refuses_production_without_twilio_credentials_or_the_explicit_sandbox():
    result = manage("check", "--deploy", **PRODUCTION)
    assert result.returncode != 0
    assert "telephony.E001" in result.stderr + result.stdout


def test_check_deploy_accepts_the_sandbox_when_it_is_asked_for_explicitly():
    result = manage("check", "--deploy", "--fail-level", "ERROR", TELEPHONY_SANDBOX="1", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "telephony.E001" not in result.stderr + result.stdout


SANDBOX_ROUTES = (
    "from django.urls import resolve, Resolver404\n"
    "from telephony.twilio import evidence_level, sandbox_enabled\n"
    "paths = ['/telephony/sandbox/', '/telephony/sandbox/text/', '/telephony/sandbox/call/',"
    " '/telephony/sandbox/recordings/RE' + '0' * 32]\n"
    "routed = []\n"
    "for p in paths:\n"
    "    try:\n"
    "        resolve(p); routed.append(p)\n"
    "    except Resolver404:\n"
    "        pass\n"
    "print('SANDBOX', sandbox_enabled(), evidence_level(), 'ROUTED', routed)\n"
)


def test_without_credentials_and_without_the_setting_the_sandbox_does_not_exist():
    """Before: missing Twilio credentials meant the sandbox, with debug off too."""
    result = manage("shell", "-c", SANDBOX_ROUTES, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "SANDBOX False verified ROUTED []" in result.stdout


def test_the_explicit_setting_runs_the_sandbox_and_marks_its_events_simulated():
    result = manage("shell", "-c", SANDBOX_ROUTES, TELEPHONY_SANDBOX="1", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "SANDBOX True simulated ROUTED ['/telephony/sandbox/'," in result.stdout


@pytest.mark.parametrize("module", ["dealercrm.wsgi", "dealercrm.asgi"])
def test_the_web_process_freezes_what_it_loaded_and_collects_young_garbage_less_often(module):
    """gunicorn loads dealercrm.asgi (or .wsgi): a full collection must not walk every object Django
    loaded (the pages' p95 doubled one request in five without it, bench/pages.py)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "TWILIO_", "TELEPHONY_"))}
    probe = (
        f"import gc; before = gc.get_freeze_count(); import {module}; from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(before, gc.get_freeze_count(), *gc.get_threshold(), db['CONN_MAX_AGE'], "
        "db.get('OPTIONS', {}).get('pool', {}).get('max_size', 0))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**base, **PRODUCTION, **REAL_TWILIO},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    before, frozen, *threshold, max_age, pool = (int(word) for word in result.stdout.split())
    assert before == 0 and frozen > 50_000, (before, frozen)
    assert threshold == [50_000, 50, 100]
    # Under ASGI a request runs in a thread of its own: a connection it kept would stay behind
    # unused; the process shares a pool instead. Under WSGI a worker keeps its connection.
    assert (max_age, pool) == ((0, 10) if module == "dealercrm.asgi" else (60, 0))
