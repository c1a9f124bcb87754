"""`./dev start`'s web server (devtools.embedded.web_command: gunicorn with uvicorn's ASGI worker)
serves pages and streams, and a lead accepted by intake reaches a manager's open stream through
the real chain: the commit, the nudge on Redis, a real Celery worker routing it, PostgreSQL's
NOTIFY, the web process's listener."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import requests
from django.test import Client

from devtools import embedded
from leads import services
from tests.live.test_stream import Stream
from tests.test_celery_worker import ROOT, empty_queue, lead_data, service_env, start_worker, stop  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web(tmp_path):
    port = _free_port()
    env = service_env()
    log = open(tmp_path / "web.log", "wb")
    proc = subprocess.Popen(embedded.web_command(port, 1, host="127.0.0.1"), cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/healthz", timeout=5)
            break
        except requests.RequestException:  # not listening yet, or still loading the app
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError("the web server did not start:\n" + (tmp_path / "web.log").read_text()) from None
            time.sleep(0.2)
    yield url
    stop(proc)


def test_a_new_lead_reaches_the_managers_open_stream_and_page(web, tmp_path, org, store, empty_queue):  # noqa: F811
    manager = org["manager"]
    stream = Stream(web, manager)
    try:
        assert stream.response.status_code == 200
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        assert stream.next(10)["event"] == "ready"
        worker = start_worker(tmp_path, with_beat=False)
        try:
            lead = services.lead_create(store=store, data=lead_data(71)).lead  # commits; routed by the worker
            got = {}
            while {"routing", "notification"} - set(got):
                event = stream.next(30)
                got[event["event"]] = event
        finally:
            stop(worker)
    finally:
        stream.close()
    # No rule yet: the lead waits on the manager queue, and the managers are told.
    assert got["routing"]["store"] == store.pk and "lead" not in got["routing"]  # store-wide: which lead is the page's to say
    assert got["notification"]["lead"] == lead.pk and got["notification"]["staff"] == manager.pk
    assert got["notification"]["data"]["kind"] == "manager"
    # And the page that event reloads shows it, served by the same process.
    client = Client()
    client.force_login(manager.user)
    page = requests.get(f"{web}/distribution/queue/", cookies={"sessionid": client.cookies["sessionid"].value}, timeout=10)
    assert page.status_code == 200
    assert f'id="q-{lead.pk}"' in page.text
    assert 'id="queue-live"' in page.text and 'data-live="routing notification"' in page.text
