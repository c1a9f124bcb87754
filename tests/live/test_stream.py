"""The stream through a real ASGI server (uvicorn) and PostgreSQL's LISTEN/NOTIFY: what a
signed-in person receives, what a reconnect replays, and what happens when the process loses its
listening connection. Data is committed (transactional_db): the server thread sees only that."""

from __future__ import annotations

import json
import queue
import socket
import threading

import pytest
import requests
from django.db import connection
from django.test import Client
from factories import StaffFactory

from live import events
from live.hub import APPLICATION_NAME
from org.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


class Stream:
    """An EventSource, in a thread: the events of one GET /live/stream/ as dicts."""

    def __init__(self, base: str, staff=None, last_event_id: int | None = None):
        self.cookies = {}
        if staff is not None:
            client = Client()
            client.force_login(staff.user)
            self.cookies = {"sessionid": client.cookies["sessionid"].value}
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.response = requests.get(f"{base}/live/stream/", cookies=self.cookies, headers=headers, stream=True, timeout=10)
        self.events: queue.Queue = queue.Queue()
        self.comments = 0
        self.ended = threading.Event()
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        name, data, event_id = "message", [], None
        try:
            for raw in self.response.iter_lines(decode_unicode=True):
                if raw is None:
                    continue
                if raw == "":
                    if data:
                        self.events.put({"event": name, "id": event_id, **json.loads("\n".join(data))})
                    name, data, event_id = "message", [], None
                elif raw.startswith(":"):
                    self.comments += 1
                elif raw.startswith("event: "):
                    name = raw[7:]
                elif raw.startswith("data: "):
                    data.append(raw[6:])
                elif raw.startswith("id: "):
                    event_id = int(raw[4:])
        except requests.RequestException:
            pass
        finally:
            self.ended.set()

    def next(self, timeout: float = 5) -> dict:
        return self.events.get(timeout=timeout)

    def until(self, count: int, timeout: float = 5) -> list[dict]:
        return [self.next(timeout) for _ in range(count)]

    def quiet(self, wait: float = 0.5) -> bool:
        try:
            got = self.events.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError(f"did not expect {got}")

    def close(self) -> None:
        # Shut the socket first: closing a response another thread is reading waits for its read.
        sock = getattr(getattr(self.response.raw, "_connection", None), "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        self.response.close()


@pytest.fixture
def server(asgi_live_server):
    return asgi_live_server


@pytest.fixture
def streams(server):
    opened: list[Stream] = []

    def open_(staff=None, **kwargs) -> Stream:
        stream = Stream(server.url, staff, **kwargs)
        opened.append(stream)
        return stream

    yield open_
    for stream in opened:
        stream.close()


def test_each_person_receives_what_is_theirs_and_nothing_else(org, store, other_store, streams):
    south_agent = StaffFactory(store=other_store, role=Role.INTERNET_AGENT)
    south_receptionist = StaffFactory(store=other_store, role=Role.RECEPTIONIST)
    agent, receptionist = streams(org["agent"]), streams(org["receptionist"])
    others = [streams(south_agent), streams(south_receptionist), streams(org["agent2"])]
    for stream in (agent, receptionist, *others):
        assert stream.next()["event"] == "ready"

    mine = events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=org["agent"].pk, lead_id=11,
                          data={"kind": "new_lead", "text": "New lead: Pat"})
    board = events.publish(store_id=store.pk, topic=events.ROUTING, lead_id=11)

    got = agent.next()
    # The kind, not the words: the bell's own view shows those, to whoever is signed in then.
    assert (got["event"], got["id"], got["lead"], got["data"]) == ("notification", mine.pk, 11, {"kind": "new_lead"})
    assert agent.quiet()  # the board is not a salesperson's
    got = receptionist.next()
    assert (got["event"], got["id"]) == ("routing", board.pk)
    assert "lead" not in got and "data" not in got  # store-wide: the board's page says which lead
    assert receptionist.quiet()
    for stream in others:  # another store, another person
        assert stream.quiet(0.2)


def test_a_reconnect_replays_what_was_missed(org, store, streams):
    first = streams(org["agent"])
    ready = first.next()
    assert ready["event"] == "ready" and ready["id"] == ready["since"]
    seen = events.publish(store_id=store.pk, topic=events.BELL, staff_id=org["agent"].pk)
    assert first.next()["id"] == seen.pk
    first.close()

    missed = events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=org["agent"].pk, lead_id=5)
    events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=org["agent2"].pk)  # not theirs

    again = streams(org["agent"], last_event_id=seen.pk)  # what EventSource sends by itself
    ready = again.next()
    assert ready["event"] == "ready" and ready["resumed"] is True  # the page need not reload everything
    replayed = again.next()
    assert (replayed["event"], replayed["id"], replayed["lead"]) == ("notification", missed.pk, 5)
    after = events.publish(store_id=store.pk, topic=events.TODAY, staff_id=org["agent"].pk)
    assert again.next()["id"] == after.pk  # and then live again, nothing twice
    assert again.quiet()


def test_a_reconnect_after_the_log_forgot_asks_for_a_full_reload(org, store, streams):
    stream = streams(org["agent"], last_event_id=987_654)
    ready, reset = stream.until(2)
    assert (ready["event"], ready["resumed"], reset["event"]) == ("ready", False, "reset")


def test_no_stream_for_the_signed_out_nor_under_wsgi(org, server):
    anonymous = requests.get(f"{server.url}/live/stream/", timeout=5)
    assert anonymous.status_code == 204 and anonymous.headers["X-Live"] == "signed-out"
    client = Client()  # Django's test client speaks WSGI: the page is told to poll
    client.force_login(org["agent"].user)
    # In a thread of its own: the async view runs through async_to_sync, which refuses a thread
    # where an event loop runs (Playwright's, when the browser tests ran first in this process).
    from concurrent.futures import ThreadPoolExecutor

    def get():
        try:
            return client.get("/live/stream/")
        finally:
            connection.close()  # the thread's own

    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(get).result(timeout=10)
    assert response.status_code == 204 and response["X-Live"] == "polling"


def test_the_process_catches_up_after_losing_its_listening_connection(org, store, streams):
    stream = streams(org["agent"])
    assert stream.next()["event"] == "ready"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s"
                       " AND datname = current_database()", [APPLICATION_NAME])
        assert cursor.fetchall(), "no listening connection found"
    # Published while the hub is reconnecting (its first retry waits half a second).
    during = events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=org["agent"].pk)
    got = stream.next(timeout=10)
    assert got["id"] == during.pk
    after = events.publish(store_id=store.pk, topic=events.BELL, staff_id=org["agent"].pk)
    assert stream.next()["id"] == after.pk
    assert stream.quiet()


def test_keep_alives_while_idle_and_the_stream_ends_for_a_fresh_start(org, streams, settings):
    settings.LIVE_HEARTBEAT_SECONDS = 0.2
    settings.LIVE_STREAM_SECONDS = 1.5
    stream = streams(org["agent"])
    assert stream.next()["event"] == "ready"
    assert stream.ended.wait(5), "the stream did not end after its lifetime"
    assert stream.comments >= 3


def test_a_person_who_may_see_nothing_live_gets_no_stream(server, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="pw-for-tests-1")  # not staff
    client = Client()
    client.force_login(user)
    response = requests.get(f"{server.url}/live/stream/", cookies={"sessionid": client.cookies["sessionid"].value},
                            timeout=5)
    assert response.status_code == 204 and response.headers["X-Live"] == "nothing"


def test_a_teams_manager_hears_that_the_store_queue_changed_but_not_which_lead(org, store, streams):
    """The manager queue is scoped by team on its page; the stream says only "the store's queue
    changed", and never a notification meant for another manager."""
    team_b_manager = StaffFactory(store=store, role=Role.SALES_MANAGER)
    org["agent2"].team.manager = team_b_manager
    org["agent2"].team.save(update_fields=["manager"])
    theirs, other = streams(team_b_manager), streams(org["manager"])
    assert theirs.next()["event"] == "ready" and other.next()["event"] == "ready"
    change = events.publish(store_id=store.pk, topic=events.ROUTING, lead_id=99, data={"state": "manager"})
    note = events.publish(store_id=store.pk, topic=events.NOTIFICATION, staff_id=org["manager"].pk, lead_id=99)
    got = theirs.next()
    assert got == {"event": "routing", "id": change.pk, "store": store.pk, "staff": None, "topic": "routing"}
    assert theirs.quiet()  # the other manager's notification is not theirs
    assert [e["id"] for e in other.until(2)] == [change.pk, note.pk]


def test_events_from_many_transactions_at_once_arrive_exactly_once(org, store, streams):
    """Eight threads, each announcing in its own transactions, while the stream is open: every
    event arrives, none twice (commit order is not id order; nothing depends on it)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import close_old_connections, transaction

    stream = streams(org["agent"])
    assert stream.next()["event"] == "ready"

    def announce(n: int) -> list[int]:
        ids = []
        try:
            for i in range(25):
                with transaction.atomic():
                    ids.append(events.publish(store_id=store.pk, topic=events.TODAY, staff_id=org["agent"].pk,
                                              lead_id=n * 100 + i).pk)
        finally:
            close_old_connections()
            connection.close()
        return ids

    with ThreadPoolExecutor(8) as pool:
        published = [pk for ids in pool.map(announce, range(8)) for pk in ids]
    received = [stream.next(10)["id"] for _ in published]
    assert sorted(received) == sorted(published) and len(set(received)) == 200
    assert stream.quiet()
