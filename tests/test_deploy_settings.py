"""Production settings pass Django's deployment checks; debug settings are refused without a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_SECRET_KEY="x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
        DJANGO_ALLOWED_HOSTS="crm.example.com",
        PUBLIC_BASE_URL="https://crm.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="crm.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
