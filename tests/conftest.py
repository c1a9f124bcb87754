from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import pytest
from django.db.backends.signals import connection_created
from factories import LeadFactory, StaffFactory, StoreFactory, TeamFactory
from rest_framework.test import APIClient

from org.models import Role


def _allow_truncate(sender, connection, **kwargs):
    """Contact events refuse TRUNCATE (leads migration 0010) unless the session allows it; the
    test connections do, as Django's flush between transactional tests truncates every table."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET dealercrm.allow_truncate = 'on'")


connection_created.connect(_allow_truncate, dispatch_uid="tests_allow_truncate")

# `./dev test`'s clock step sets this to the local moment libfaketime started the clock at
# (in the zone TZ names); see `clock_step` in ./dev.
CLOCK_STEP = os.environ.get("DEALERCRM_CLOCK_STEP", "")


def pytest_sessionstart(session):
    """A clock step whose clock is not where it says would pass without proving anything."""
    if not CLOCK_STEP:
        return
    start = dt.datetime.strptime(CLOCK_STEP, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(os.environ["TZ"]))
    now = dt.datetime.now(dt.UTC)
    if not start <= now <= start + dt.timedelta(hours=2):
        pytest.exit(f"the clock step expected the clock at {CLOCK_STEP} {os.environ['TZ']}, it reads {now:%Y-%m-%d %H:%M} UTC:"
                    " is libfaketime preloaded?", returncode=3)


def pytest_collection_modifyitems(config, items):
    """In the clock step only the time-dependent tests run, never a browser test (Chromium does
    not run under libfaketime)."""
    if not CLOCK_STEP:
        return
    keep, drop = [], []
    for item in items:
        timed = item.get_closest_marker("clock") and not item.get_closest_marker("browser")
        (keep if timed else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def _clean_cache():
    """The rate limiter keeps counters in the cache (Redis); each test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The factories hash a password per user; PBKDF2 would make that take seconds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


TEST_TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC" + "7e57" * 8,
    "TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef",
    "TWILIO_HTTP_CLIENT": "telephony.sandbox.SandboxHttpClient",
}


@pytest.fixture(autouse=True, scope="session")
def _urlconf_loaded_with_the_test_settings():
    """The URLconf decides once, on import, whether the sandbox's routes exist (they do while the
    sandbox's HTTP client fakes Twilio): import it under the settings every test starts from, not
    under whatever the first test that happens to route a URL has overridden."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf
    yield


@pytest.fixture(autouse=True)
def _twilio_faked_at_the_http_boundary(settings, monkeypatch):
    """Real-looking Twilio credentials with Twilio faked only at the HTTP boundary (the sandbox's
    HTTP client, signing webhooks with the real token), the sandbox itself off: calls and texts
    are verified exactly as in production. Celery workers the tests start read the same from
    their environment. tests/telephony/test_sandbox.py switches the sandbox on explicitly."""
    settings.TELEPHONY_SANDBOX = False
    monkeypatch.delenv("TELEPHONY_SANDBOX", raising=False)
    for name, value in TEST_TWILIO.items():
        setattr(settings, name, value)
        monkeypatch.setenv(name, value)
    yield


@pytest.fixture
def store(db):
    return StoreFactory(slug="north-motors", name="North Motors")


@pytest.fixture
def other_store(db):
    return StoreFactory(slug="south-motors", name="South Motors")


@pytest.fixture
def org(store):
    """One store as the seeds describe it, in miniature: a team with a manager, two agents, a retail
    salesperson, a director and a receptionist."""
    manager = StaffFactory(store=store, role=Role.SALES_MANAGER, user__username="manager")
    team = TeamFactory(store=store, name="Team A", manager=manager)
    other_team = TeamFactory(store=store, name="Team B")
    people = {
        "manager": manager,
        "team": team,
        "agent": StaffFactory(store=store, role=Role.INTERNET_AGENT, team=team, user__username="agent"),
        "agent2": StaffFactory(store=store, role=Role.INTERNET_AGENT, team=other_team, user__username="agent2"),
        "retail": StaffFactory(store=store, role=Role.RETAIL, team=team, user__username="retail"),
        "director": StaffFactory(store=store, role=Role.INTERNET_DIRECTOR, user__username="director"),
        "receptionist": StaffFactory(store=store, role=Role.RECEPTIONIST, user__username="receptionist"),
        "admin": StaffFactory(store=store, role=Role.ADMIN, user__username="admin"),
    }
    return people


def api_client_for(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=staff.user)
    return client


@pytest.fixture
def api_for():
    return api_client_for


@pytest.fixture
def lead_for(store):
    def make(owner=None, **kwargs):
        return LeadFactory(store=kwargs.pop("store", store), owner=owner, **kwargs)

    return make


def _sessions(connection) -> dict[int, str]:
    """The other sessions on the test database: pid -> their last query."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, left(query, 100) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return dict(cursor.fetchall())


@pytest.fixture
def asgi_live_server(transactional_db):
    """The app under uvicorn (tests/asgi_server.py), where the live streams work; pages under
    pytest-django's live_server (WSGI) poll instead. Stopped at teardown, and then no session of the
    server (a request's connection, the live hub's LISTEN connection) may be left on the test
    database: its flush and its drop would wait on them, or fail."""
    from django.db import connection

    from tests.asgi_server import AsgiLiveServer

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
