"""Fixtures for the real-browser tests: one headless Chromium per session, a fresh context per test.

Playwright's sync API runs an asyncio event loop in the test thread, and Django refuses ORM calls
from a thread with a running loop unless told otherwise. The tests only touch the ORM between
browser steps, never concurrently with them, so allowing it here is safe.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "bench" / "results" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api

    if not os.path.exists(CHROMIUM):
        # A failure, not a skip: ./dev test installs Debian's chromium; a missing browser must not pass quietly.
        pytest.fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _page(browser, viewport, **extra):
    context = browser.new_context(viewport=viewport, **extra)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return context, page


@pytest.fixture
def desktop_page(browser):
    context, page = _page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context, page = _page(browser, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    yield page
    context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "desktop-login") writes bench/results/screenshots/desktop-login.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _sessions(connection) -> dict[int, str]:
    """The other sessions on the test database: pid -> their last query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, left(query, 100) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return dict(cursor.fetchall())


@pytest.fixture
def asgi_live_server(transactional_db):
    """The app under uvicorn (tests/browser/asgi_server.py), where the live streams work; pages under
    pytest-django's live_server (WSGI) poll instead. Stopped at teardown, and then no session of the
    server (a request's connection, the live hub's LISTEN connection) may be left on the test
    database: its flush and its drop would wait on them, or fail."""
    from django.db import connection

    from tests.browser.asgi_server import AsgiLiveServer

    # As dealercrm/asgi.py has it: under ASGI a request's connection closes when the request ends
    # (each request runs in a thread of its own; a kept connection would stay behind, unused).
    kept = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0  # the dict every thread's connection is made from
    # Sessions open before the server are this process's own: the connection the migrations ran on
    # stays open beside the one the test uses while Playwright's loop runs (inside a running loop
    # Django keeps its connections per context, not per thread).
    before = set(_sessions(connection))
    server = AsgiLiveServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        connection.settings_dict["CONN_MAX_AGE"] = kept
    deadline = time.monotonic() + 3
    while (left := {pid: query for pid, query in _sessions(connection).items() if pid not in before}) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == {}, f"the ASGI server left sessions on the test database: {left}"
