"""Server push (live/): how soon a new lead reaches its owner's open stream, and what 1,500 open
streams cost when nothing happens, beside the polling they replace, in one run.

    .venv/bin/python bench/live.py [--seconds 60] [--rate 50] [--latency-stores 2] [--agents 8]
                                   [--intake asgi|wsgi] [--idle-seconds 60] [--poll-seconds 60]
                                   [--stores 50] [--staff 30] [--no-asgi-polling] [--parts latency,idle,polling]
    BENCH_SECONDS=10 .venv/bin/python bench/live.py      # a quick smoke run (every phase 10 s)

Part 1, accepted -> on the owner's screen: the ASGI server as `./dev start` runs it (gunicorn with
uvicorn's worker, 2 workers), a Celery worker for the nudges (concurrency 2), one for the sweeps
(concurrency 1, --sweeps-concurrency; README's "Scaling out") and beat. Leads are posted to the
JSON intake API at --rate leads/s for --seconds, spread over --latency-stores stores, each routing
by a round robin over --agents agents on shift; every agent has one open stream (GET /live/stream/
with a session cookie, aiohttp). For every lead the time runs from Lead.received_at (stamped by
the intake in the transaction that accepts the lead, before the 201 goes out) to the arrival of
the owner's `notification` event on the owner's stream; a second figure runs from the moment the
201 reached the sender. The stages come from the database (routed_at: a worker took the lead;
LiveEvent.created_at: the routing transaction wrote the event), from a LISTEN connection of this
script (PostgreSQL delivered the NOTIFY: the routing transaction committed) and from the worker's
log. Every lead's event must arrive exactly once. --intake wsgi posts the leads to a WSGI gunicorn
of their own instead (streams stay on the ASGI server): a diagnosis, not the deployment.
Target: p99 under 1 s (stretch 250 ms), no lead missing, no duplicate.

Part 2, idle cost: --stores stores x --staff people, each signed in (a session row), each with one
open stream to a fresh ASGI server (2 workers); once every stream has had its `ready` event,
--idle-seconds with nothing happening: the server's CPU (gunicorn master and workers), its
workers' memory before the streams and with them open (-> memory per connection), the database
connections it holds and what the database did. Then the polling the streams replace, same
sessions: each GETs the bell (/distribution/notifications/bell/) every 5 s, spread evenly, for
--poll-seconds (first a sixth of the sessions for a third of that time: a rate both servers
sustain, for the cost of one poll): against the same ASGI server, then against a WSGI gunicorn
(2 sync workers, as production ran before streams). Target: idle streams under 5 % of one core.

The load generator is this script, on the same 2 cores as the servers, PostgreSQL and Redis: its
own CPU is printed beside the servers', and so is everything else the machine did meanwhile. The
figures are also written to bench/results/live.txt (git-ignored). About 7.5 minutes with the
defaults (the database is rebuilt every run, about 40 s), so `make bench` leaves it out.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import datetime as dt
import json
import os
import re
import resource
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import psycopg
from _common import (
    PRODUCTION,
    cpu_of,
    django_setup,
    free_port,
    manage,
    percentile,
    recreate_database,
    services_env,
    start_celery,
    start_gunicorn,
    stop,
)

DATABASE = "dealercrm_bench_live"
QUEUE = "bench-live"
CHANNEL = "dealercrm_live"  # live.events.CHANNEL
STREAM_PATH = "/live/stream/"
BELL_PATH = "/distribution/notifications/bell/"
POLL_PERIOD = 5.0  # seconds between one page's bell polls, as pages did before streams
ALL_DAY = {day: [["00:00", "23:59"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
DRAIN_SECONDS = 90  # Part 1 waits this long after the last post for every lead's event
RESULTS = Path(__file__).resolve().parent / "results" / "live.txt"


# --- the report ---------------------------------------------------------------------------------
LINES: list[str] = []


def out(line: str = "") -> None:
    print(line, flush=True)
    LINES.append(line)


def ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.0f} ms"  # NaN: no values


def spread(values: list[float]) -> str:
    """p50/p95/p99/max of seconds, in ms."""
    if not values:
        return "no values"
    return (f"p50 {ms(percentile(values, 50)):>7}  p95 {ms(percentile(values, 95)):>7}  "
            f"p99 {ms(percentile(values, 99)):>7}  max {ms(max(values)):>7}")


# --- the database -------------------------------------------------------------------------------
@dataclass
class Setup:
    intake: list[tuple[str, str]]  # (store slug, its integration token) of the latency stores; lead i goes to i % n
    cookie_name: str
    agents: list[tuple[int, str]]  # (staff id, session key) of the latency stores' agents
    idle: list[tuple[int, str]]  # (staff id, session key) of everyone in the idle stores


def sessions_for(users) -> list[str]:
    """A signed-in session row per user, as django.contrib.auth.login leaves it (bulk: no request)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    codec = SessionStore()
    expires = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    keys, rows = [], []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash()}
        rows.append(Session(session_key=key, session_data=codec.encode(data), expire_date=expires))
        keys.append(key)
    Session.objects.bulk_create(rows, batch_size=1000)
    return keys


def build(env: dict[str, str], latency_stores: int, agents: int, stores: int, staff: int) -> Setup:
    """The latency stores (each a round robin over `agents` agents on shift, with an integration
    token of its own) and `stores` idle stores of `staff` people each, every person signed in."""
    recreate_database(env)
    manage(env, "migrate", "--noinput", "-v", "0")
    # The sessions are signed with the servers' secret key.
    django_setup({**env, "DJANGO_SECRET_KEY": PRODUCTION["DJANGO_SECRET_KEY"]})
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from distribution import pools
    from distribution.models import RoutingRule, Strategy
    from org.models import DealerGroup, Role, Shift, Staff, Store, Team

    users = get_user_model().objects
    group = DealerGroup.objects.create(slug="bench", name="Bench Group")
    intake, floor = [], []
    for s in range(latency_stores):
        # Open around the clock and everyone on shift, so the figures do not depend on the hour.
        store = Store.objects.create(group=group, slug=f"live-{s}", name=f"Live Motors {s}", business_hours=ALL_DAY)
        integration = Staff.objects.create(user=users.create(username=f"bench-integration{s}"), store=store, role=Role.ADMIN)
        manager = Staff.objects.create(user=users.create(username=f"bench-manager{s}", first_name="Max", last_name="Manager"),
                                       store=store, role=Role.SALES_MANAGER)
        team = Team.objects.create(store=store, name="Internet", manager=manager)
        agents_here = [
            Staff.objects.create(user=users.create(username=f"bench-agent{s}-{i}", first_name=f"Agent{i}", last_name=f"Store{s}"),
                                 store=store, role=Role.INTERNET_AGENT, team=team)
            for i in range(agents)
        ]
        Shift.objects.bulk_create([Shift(staff=a, weekday=d, starts=dt.time(0), ends=dt.time(23, 59, 59, 999999))
                                   for a in agents_here for d in range(7)])
        pools.rule_save(RoutingRule(store=store, name="Everything", strategy=Strategy.ROUND_ROBIN, is_fallback=True),
                        teams=[team], staff=[])
        token, _ = Token.objects.get_or_create(user=integration.user)
        intake.append((store.slug, token.key))
        floor += agents_here
    agent_keys = sessions_for([a.user for a in floor])

    # The idle stores: a manager, a receptionist (both see the store's board), agents and retail.
    idle_stores = [Store.objects.create(group=group, slug=f"idle-{s:02d}", name=f"Idle Motors {s}", business_hours=ALL_DAY)
                   for s in range(stores)]
    people = users.bulk_create([
        users.model(username=f"idle-{s:02d}-{i:02d}", first_name=f"Person{i}", last_name=f"Store{s}", password="!")
        for s in range(stores) for i in range(staff)
    ], batch_size=1000)

    def role(i: int) -> str:
        return Role.SALES_MANAGER if i == 0 else Role.RECEPTIONIST if i == 1 else Role.INTERNET_AGENT if i < 22 else Role.RETAIL

    idle_staff = Staff.objects.bulk_create([
        Staff(user=people[s * staff + i], store=idle_stores[s], role=role(i)) for s in range(stores) for i in range(staff)
    ], batch_size=1000)
    idle_keys = sessions_for(people)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum keeps up in production
    purge(env)
    connection.close()
    return Setup(intake=intake, cookie_name=settings.SESSION_COOKIE_NAME,
                 agents=[(a.pk, k) for a, k in zip(floor, agent_keys, strict=True)],
                 idle=[(s.pk, k) for s, k in zip(idle_staff, idle_keys, strict=True)])


# --- server-sent events -------------------------------------------------------------------------
class SSEParser:
    """The text/event-stream framing of the HTML standard: lines end in CRLF, LF or CR, in any
    chunking; a blank line dispatches the event gathered so far; a line starting with ':' is a
    comment; `field: value` drops one space after the colon; data lines join with LF; an event
    without data is not dispatched; `id` persists until another one replaces it."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._started = False
        self._after_cr = False
        self._type = ""
        self._data: list[str] = []
        self.last_id = ""
        self.retry_ms: int | None = None
        self.comments = 0

    def feed(self, chunk: bytes) -> list[tuple[str, str, str]]:
        """The events (type, last event id, data) completed by `chunk`."""
        text = self._decoder.decode(chunk)
        if not self._started and text:
            text, self._started = text.removeprefix("\ufeff"), True
        if self._after_cr and text:
            text = text.removeprefix("\n")  # the LF of a CRLF split between chunks
            self._after_cr = False
        self._buffer += text
        events = []
        while True:
            cr, lf = self._buffer.find("\r"), self._buffer.find("\n")
            ends = [i for i in (cr, lf) if i >= 0]
            if not ends:
                break
            cut = min(ends)
            skip = 1
            if self._buffer[cut] == "\r":
                if cut + 1 == len(self._buffer):
                    self._after_cr = True  # an LF first in the next chunk belongs to this CR
                elif self._buffer[cut + 1] == "\n":
                    skip = 2
            line, self._buffer = self._buffer[:cut], self._buffer[cut + skip:]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> tuple[str, str, str] | None:
        if not line:
            if not self._data:
                self._type = ""
                return None
            event = (self._type or "message", self.last_id, "\n".join(self._data))
            self._type, self._data = "", []
            return event
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._type = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


def parser_selftest() -> None:
    """The framing cases the server does not send today but a proxy or a later change may."""
    stream = b"retry: 2000\r\n\r\nid: 7\r\nevent: ready\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: keep-alive\n\n\xef\xbb\xbfx\rdata:b\r\r"
    for size in (1, 2, 3, 5, len(stream)):
        parser, got = SSEParser(), []
        for i in range(0, len(stream), size):
            got += parser.feed(stream[i:i + size])
        assert got == [("ready", "7", '{"a":\n1}'), ("message", "7", "b")], (size, got)
        assert parser.comments == 1 and parser.retry_ms == 2000, size


@dataclass(eq=False)
class Stream:
    """One open stream: its person, what arrived and when (time.time())."""

    staff_id: int
    cookie: str
    keep: bool = True  # keep every event (Part 1); Part 2 only counts
    status: int = 0
    ready_id: int = 0
    ready_at: float | None = None
    events: list[tuple[float, str, dict]] = field(default_factory=list)  # (arrival, type, payload)
    keepalives: int = 0
    error: str = ""


async def run_stream(http: aiohttp.ClientSession, url: str, stream: Stream, connecting: asyncio.Semaphore | None) -> None:
    """Hold one stream open until cancelled; `connecting` limits how many are being opened at once."""
    held = False
    if connecting is not None:
        await connecting.acquire()
        held = True
    try:
        async with http.get(url, headers={"Cookie": stream.cookie, "Accept": "text/event-stream"}) as response:
            stream.status = response.status
            if response.status != 200 or not response.headers.get("Content-Type", "").startswith("text/event-stream"):
                stream.error = f"HTTP {response.status} {response.headers.get('X-Live', '')}".strip()
                return
            parser = SSEParser()
            async for chunk in response.content.iter_any():
                arrived = time.time()
                for kind, _, data in parser.feed(chunk):
                    payload = json.loads(data)
                    if kind == "ready":
                        stream.ready_at, stream.ready_id = arrived, int(payload.get("since") or 0)
                        if held:
                            connecting.release()  # type: ignore[union-attr]
                            held = False
                    elif stream.keep:
                        stream.events.append((arrived, kind, payload))
                stream.keepalives = parser.comments
            stream.error = "closed by the server"
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        stream.error = f"{type(exc).__name__}: {exc}"
    finally:
        if held:
            connecting.release()  # type: ignore[union-attr]


async def wait_ready(streams: list[Stream], timeout: float) -> float:
    """Seconds until every stream had its `ready` (or failed); raises on timeout."""
    started = time.monotonic()
    while True:
        pending = [s for s in streams if s.ready_at is None and not s.error]
        if not pending:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{len(pending)} of {len(streams)} streams not ready after {timeout:.0f} s")
        await asyncio.sleep(0.2)


def stream_session(limit: int = 0) -> aiohttp.ClientSession:
    # No total timeout: a stream stays open; a read waits at most 3 heartbeats (20 s each).
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit),
                                 timeout=aiohttp.ClientTimeout(total=None, connect=30, sock_read=90),
                                 cookie_jar=aiohttp.DummyCookieJar())


# --- measuring processes --------------------------------------------------------------------------
def family(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def workers_of(server: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(server.pid).children()


def rss_mb(processes: list[psutil.Process]) -> list[float]:
    return [proc.memory_info().rss / 2**20 for proc in processes]


def machine_busy() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def postgres_cpu() -> float | None:
    """CPU seconds so far of the local PostgreSQL server, every database's work (None: not on this
    machine): its live processes, and the backends that exited, which the postmaster reaped."""
    procs = [p for p in psutil.process_iter(["name", "ppid"]) if p.info["name"] in ("postgres", "postmaster")]
    pids = {p.pid for p in procs}
    roots = [p for p in procs if p.info["ppid"] not in pids]
    if not roots:
        return None
    total = cpu_of(procs)
    for root in roots:
        try:
            times = root.cpu_times()
            total += times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return total


_monitor: psycopg.Connection | None = None


def monitor(dsn: str) -> psycopg.Connection:
    """This script's one connection for reading the statistics views (one, so that reading them
    adds no connection to what is counted)."""
    global _monitor
    if _monitor is None or _monitor.closed:
        _monitor = psycopg.connect(dsn, autocommit=True)
    return _monitor


class Meter:
    """CPU seconds of named process groups, this script and the whole machine over a window, and
    what PostgreSQL did in the bench database meanwhile (pg_stat_database: transactions, new
    connections and the time spent executing SQL, so other databases on the server do not count)."""

    def __init__(self, dsn: str, groups: dict[str, list[psutil.Process]]) -> None:
        self.dsn, self.groups = dsn, groups

    def _db(self) -> tuple[float, float, float]:
        row = monitor(self.dsn).execute(
            "SELECT xact_commit + xact_rollback, sessions, active_time FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
        assert row is not None
        return float(row[0]), float(row[1]), float(row[2])

    def read(self) -> dict[str, float]:
        me = psutil.Process()
        xacts, sessions, active = self._db()
        return {**{name: cpu_of(procs) for name, procs in self.groups.items()}, "load generator": cpu_of([me]),
                "machine": machine_busy(), "wall": time.monotonic(), "db xacts": xacts, "db sessions": sessions,
                "db active ms": active, "postgres": postgres_cpu() or float("nan")}

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {key: after[key] - before[key] for key in before}


def db_connections(dsn: str) -> tuple[int, str]:
    """Connections to the bench database other than this script's: (how many, what they are: their
    state and last statement, e.g. a web process's LISTEN connection idles after its first SELECT)."""
    rows = monitor(dsn).execute(
        "SELECT state, left(regexp_replace(query, '\\s+', ' ', 'g'), 50), count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        " GROUP BY 1, 2 ORDER BY 3 DESC"
    ).fetchall()
    return sum(n for _, _, n in rows), "; ".join(f"{n} {state}: {query!r}" for state, query, n in rows)


def established(worker: psutil.Process, port: int) -> int:
    return sum(1 for c in worker.net_connections(kind="tcp") if c.laddr and c.laddr.port == port and c.status == "ESTABLISHED")


# --- Part 1: accepted -> on the owner's screen --------------------------------------------------------
@dataclass
class Post:
    n: int
    sent: float  # time.time()
    answered: float
    status: int
    lead_id: int | None


async def post_lead(http: aiohttp.ClientSession, url: str, headers: dict, store: str, prefix: str, n: int) -> Post:
    body = json.dumps({
        "store": store, "source_type": "third_party", "provider": "CarGurus", "provider_lead_id": f"{prefix}-{n}",
        "customer": {"first_name": "Bench", "last_name": f"Shopper{n}", "phone": f"+1773{2000000 + n:07d}",
                     "email": f"{prefix.lower()}{n}@example.com"},
        "vehicles": [{"condition": "used", "year": 2020, "make": "Toyota", "model": "Camry"}],
    })
    sent = time.time()
    lead_id = None
    try:
        async with http.post(url, data=body, headers=headers) as response:
            status = response.status
            answer = await response.read()
        if status in (200, 201):
            lead_id = int(json.loads(answer)["id"])
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError):
        status = 0
    return Post(n, sent, time.time(), status, lead_id)


async def send(http: aiohttp.ClientSession, port: int, setup: Setup, prefix: str, rate: float, seconds: float,
               first: int = 0) -> tuple[list[Post], float]:
    """Post rate*seconds leads, lead i at start + i/rate (open loop); (the posts, the seconds sending took)."""
    url = f"http://127.0.0.1:{port}/api/v1/leads/"
    headers = [{"Authorization": f"Token {token}", "Content-Type": "application/json"} for _, token in setup.intake]
    loop = asyncio.get_running_loop()
    tasks = []
    start = loop.time()
    for i in range(round(rate * seconds)):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        store = (first + i) % len(setup.intake)
        tasks.append(asyncio.create_task(post_lead(http, url, headers[store], setup.intake[store][0], prefix, first + i)))
    sent_in = loop.time() - start
    return list(await asyncio.gather(*tasks)), sent_in


async def listen(dsn: str, heard: dict[int, float], up: asyncio.Event) -> None:
    """This script's own LISTEN: when PostgreSQL delivered each event's NOTIFY (its transaction committed)."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        up.set()
        async for note in conn.notifies():
            heard.setdefault(int(json.loads(note.payload)["id"]), time.time())


def new_lead_events(streams: list[Stream]) -> set[int]:
    return {p["lead"] for s in streams for _, kind, p in s.events
            if kind == "notification" and (p.get("data") or {}).get("kind") == "new_lead"}


async def wait_delivered(streams: list[Stream], lead_ids: set[int], timeout: float) -> float:
    started = time.monotonic()
    while not lead_ids <= new_lead_events(streams) and time.monotonic() - started < timeout:
        await asyncio.sleep(0.25)
    return time.monotonic() - started


async def latency_phase(args, port: int, intake_port: int, setup: Setup, dsn: str, meter: Meter) -> dict:
    url = f"http://127.0.0.1:{port}{STREAM_PATH}"
    streams = [Stream(staff_id, f"{setup.cookie_name}={key}") for staff_id, key in setup.agents]
    heard: dict[int, float] = {}
    listening = asyncio.Event()
    listener = asyncio.create_task(listen(dsn, heard, listening))
    async with stream_session() as http, aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=100), timeout=aiohttp.ClientTimeout(total=30),
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as poster:
        tasks = [asyncio.create_task(run_stream(http, url, s, None)) for s in streams]
        try:
            await asyncio.wait_for(listening.wait(), 10)
            await wait_ready(streams, timeout=60)
            refused = [s.error for s in streams if s.error]
            if refused:
                raise RuntimeError(f"{len(refused)} agents' streams were refused: {refused[0]}")
            # Warm-up, not counted: imports, connections, caches in the web and Celery workers.
            warm, _ = await send(poster, intake_port, setup, "WARM", rate=10, seconds=2)
            await wait_delivered(streams, {p.lead_id for p in warm if p.lead_id}, timeout=60)
            load = os.getloadavg()[0]
            before = meter.read()
            posts, sent_in = await send(poster, intake_port, setup, "LIVE", rate=args.rate, seconds=args.seconds,
                                        first=100000)
            accepted = {p.lead_id for p in posts if p.lead_id}
            drained_in = await wait_delivered(streams, accepted, timeout=DRAIN_SECONDS)
            after = meter.read()
            await asyncio.sleep(3)  # a duplicate would come late
            closed_at = time.time()
        finally:
            for task in [*tasks, listener]:
                task.cancel()
            await asyncio.gather(*tasks, listener, return_exceptions=True)
    return {"streams": streams, "posts": posts, "sent_in": sent_in, "drained_in": drained_in, "heard": heard,
            "closed_at": closed_at,
            "cpu": Meter.delta(before, after), "load": load}


def latency_report(args, result: dict) -> dict:
    """The per-lead timeline from the streams, this script's LISTEN and the database."""
    from leads.models import Lead
    from live.models import LiveEvent

    streams: list[Stream] = result["streams"]
    posts: list[Post] = result["posts"]
    heard: dict[int, float] = result["heard"]
    by_staff = {s.staff_id: s for s in streams}
    answered = {p.lead_id: p.answered for p in posts if p.lead_id}
    statuses: dict[int, int] = {}
    for p in posts:
        statuses[p.status] = statuses.get(p.status, 0) + 1
    leads = {pk: (received.timestamp(), routed.timestamp() if routed else None, owner)
             for pk, received, routed, owner in Lead.objects.filter(provider_lead_id__startswith="LIVE-")
             .values_list("pk", "received_at", "routed_at", "owner_id")}
    written = {}  # lead -> (event id, created_at) of its owner's new-lead event
    rows = LiveEvent.objects.filter(topic="notification", lead_id__in=list(leads), data__kind="new_lead")
    rows_per_lead: dict[int, int] = {}
    for event_id, lead_id, staff_id, created in rows.values_list("pk", "lead_id", "staff_id", "created_at"):
        rows_per_lead[lead_id] = rows_per_lead.get(lead_id, 0) + 1
        if staff_id == leads[lead_id][2]:
            written[lead_id] = (event_id, created.timestamp())

    arrivals: dict[int, list[float]] = {}  # lead -> arrivals of its new-lead event on its owner's stream
    elsewhere = 0  # events on a stream not of their staff
    event_ids_twice = 0
    for stream in streams:
        seen_ids: set[int] = set()
        for arrived, kind, payload in stream.events:
            if payload.get("id") in seen_ids:
                event_ids_twice += 1
            seen_ids.add(payload.get("id"))
            if payload.get("staff") != stream.staff_id:
                elsewhere += 1
            if kind == "notification" and (payload.get("data") or {}).get("kind") == "new_lead" and payload.get("lead") in leads:
                if leads[payload["lead"]][2] == stream.staff_id:
                    arrivals.setdefault(payload["lead"], []).append(arrived)
                else:
                    elsewhere += 1
    # Every event for an agent committed after its stream's ready, of any topic, against what arrived.
    expected = received = 0
    cutoff = result["closed_at"] - 1
    for staff_id, all_ids in _events_for_agents(by_staff).items():
        ids = {i for i in all_ids if heard.get(i, cutoff) < cutoff}
        got = {p.get("id") for _, _, p in by_staff[staff_id].events}
        expected += len(ids)
        received += len(ids & got)

    accepted = [pk for pk in leads if pk in answered]
    total, stage = [], {"answered": [], "picked": [], "written": [], "committed": [], "streamed": []}
    from_answer = []
    for pk in accepted:
        received_at, routed_at, _ = leads[pk]
        if pk not in arrivals:
            continue
        first = min(arrivals[pk])
        total.append(first - received_at)
        from_answer.append(first - answered[pk])
        stage["answered"].append(answered[pk] - received_at)
        if routed_at is not None:
            stage["picked"].append(routed_at - received_at)
        if pk in written:
            event_id, created = written[pk]
            if routed_at is not None:
                stage["written"].append(created - routed_at)
            if event_id in heard:
                stage["committed"].append(heard[event_id] - created)
                stage["streamed"].append(first - heard[event_id])
    duplicates = sum(len(times) - 1 for times in arrivals.values())
    missing = [pk for pk in accepted if pk not in arrivals]
    per_agent = sorted(sum(1 for _, _, owner in leads.values() if owner == s.staff_id) for s in streams)
    cpu = result["cpu"]
    window = cpu["wall"]

    out(f"Part 1: accepted -> on the owner's screen: {len(posts)} leads posted at {args.rate:g}/s for {args.seconds:g} s "
        f"(JSON intake API), spread over {args.latency_stores} stores, each a round robin over {args.agents} agents; "
        f"one open stream per agent ({len(streams)})")
    out(f"  servers      gunicorn + uvicorn worker (ASGI), {args.web_workers} workers; Celery worker (prefork, "
        f"concurrency {args.concurrency}" + (f"; the sweeps on a worker of {args.sweeps_concurrency} of their own"
                                           if args.sweeps_concurrency else "; the sweeps too")
        + ") + beat; PostgreSQL LISTEN/NOTIFY" + (
            f"; the leads posted to a WSGI gunicorn ({args.web_workers} sync workers) of their own"
            if args.intake == "wsgi" else "; the leads posted to the same ASGI server"))
    out(f"  posted       {len(posts)} in {result['sent_in']:.1f} s; answers " +
        ", ".join(f"{'no answer' if k == 0 else k}: {v}" for k, v in sorted(statuses.items())))
    out(f"  stored       {len(leads)} leads, {sum(1 for v in leads.values() if v[2])} with an owner "
        f"({per_agent[0] if per_agent else 0}..{per_agent[-1] if per_agent else 0} per agent)")
    out(f"  delivered    {len(arrivals)} of {len(accepted)} accepted leads' new-lead events reached the owner's stream, "
        f"all within {result['drained_in']:.1f} s after the last post" if not missing else
        f"  delivered    {len(arrivals)} of {len(accepted)}: {len(missing)} MISSING {DRAIN_SECONDS} s after the last post "
        f"({sum(1 for pk in missing if leads[pk][2] is None)} of them still without an owner)")
    out(f"  duplicates   {duplicates} (a lead's new-lead event twice on its owner's stream); "
        f"{sum(1 for n in rows_per_lead.values() if n > 1)} leads with more than one new-lead row; "
        f"{event_ids_twice} event ids twice on a stream; {elsewhere} events on someone else's stream")
    out(f"  routed by    the lead's own nudge (lead_route_task): {result['routed_by']['nudge']}; by the sweeper "
        f"(route_due_task, after the {ROUTING_GRACE_S} s grace): {result['routed_by']['sweeper']}; still queued when the "
        f"streams closed: " + ", ".join(f"{k} {v}" for k, v in result["queued"].items()))
    out(f"  every event  {received} of {expected} events of any topic committed for the agents after their streams "
        f"opened and heard by this script's LISTEN a second before they closed arrived (new-lead notifications and Today nudges)")
    out(f"  accepted (Lead.received_at) -> event on the owner's stream   {spread(total)}   (target p99 < 1 s, stretch 250 ms)")
    out(f"  201 received by the sender  -> event on the owner's stream   {spread(from_answer)}")
    out("  where the time goes, per lead:")
    out(f"    accepted -> 201 received by the sender                     {spread(stage['answered'])}")
    out(f"    accepted -> a Celery worker took it (Lead.routed_at)       {spread(stage['picked'])}")
    out(f"      of which: received by the worker -> started (log)        {spread(result['task_waits'])}   "
        "(a queue shows before: in Redis)")
    out(f"    taken -> event row written (LiveEvent.created_at)          {spread(stage['written'])}")
    out(f"      the routing task's whole run (worker log)                {spread(result['task_runs'])}")
    out(f"    written -> NOTIFY heard by a LISTEN (routing committed)    {spread(stage['committed'])}")
    out(f"    NOTIFY heard -> event on the owner's stream (hub + SSE)    {spread(stage['streamed'])}")
    per_lead = {k: cpu[k] / max(len(accepted), 1) * 1000
                for k in ("web", "intake", "worker", "sweeps worker", "beat", "load generator") if k in cpu}
    out("  CPU per lead " + ", ".join(f"{k} {v:.1f} ms" for k, v in per_lead.items()) +
        f"; database: {cpu['db xacts'] / window:.0f} transactions/s, {cpu['db sessions']:.0f} new connections, "
        f"statements active (lock waits included) {cpu['db active ms'] / 1000 / window:.0%} of the time")
    out(f"  alongside    {alongside(cpu, [k for k in ('web', 'intake', 'worker', 'sweeps worker', 'beat') if k in cpu])}; "
        f"load average {result['load']:.2f} before")
    return {"p50": percentile(total, 50), "p99": percentile(total, 99), "max": max(total, default=float("nan")),
            "posted": len(posts), "accepted": len(accepted), "delivered": len(arrivals), "missing": len(missing),
            "duplicates": duplicates}


def queued(env: dict[str, str]) -> dict[str, int]:
    """Messages waiting in the bench's Celery queues (the broker is Redis: one list per queue)."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        return {name: int(client.llen(name)) for name in (QUEUE, f"{QUEUE}-sweeps")}
    finally:
        client.close()


def purge(env: dict[str, str]) -> None:
    """Nothing left in the bench's queues for the next run (or a worker started by hand)."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        client.delete(QUEUE, f"{QUEUE}-sweeps")
    finally:
        client.close()


def routed_by(log: Path, since: float) -> dict[str, int]:
    """Leads routed by their own nudge's task (lead_route_task True) and by the sweeper's
    route_due_task (its result: how many it routed), from the worker's log after `since`."""
    received: dict[str, float] = {}
    counts = {"nudge": 0, "sweeper": 0}
    for line in log.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if not match:
            continue
        if match.group(4) == "received":
            received[match.group(3)] = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            continue
        if received.get(match.group(3), 0) < since:
            continue
        value = line.rsplit(": ", 1)[-1].strip()
        if match.group(2) == ROUTE_TASK and value == "True":
            counts["nudge"] += 1
        elif match.group(2) in ("distribution.tasks.route_due_task", "leads.tasks.lead_route_due_task") and value.isdigit():
            counts["sweeper"] += int(value)
    return counts


ROUTE_TASK = "leads.tasks.lead_route_task"
ROUTING_GRACE_S = 15  # leads.services.ROUTING_GRACE: the sweeper routes a lead its nudge has not routed by then
LOG_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/[^\]]+\] Task (\S+)\[([0-9a-f-]+)\] "
                      r"(received|succeeded in ([0-9.e-]+)s)")


def route_tasks(log: Path, since: float) -> tuple[list[float], list[float]]:
    """From the worker's log, for each routing task it received after `since` (time.time()): the
    wait from its arrival at the worker to its start, and its run time. The log's clock is local
    time in the settings' TIME_ZONE, which Django set for this process too."""
    received: dict[str, float] = {}
    waits, runs = [], []
    for line in log.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if not match or match.group(2) != ROUTE_TASK:
            continue
        at = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if match.group(4) == "received":
            received[match.group(3)] = at
        elif received.get(match.group(3), 0) >= since:
            run = float(match.group(5))
            runs.append(run)
            waits.append(max(0.0, at - run - received[match.group(3)]))
    return waits, runs


def _events_for_agents(by_staff: dict[int, Stream]) -> dict[int, set[int]]:
    from live.models import LiveEvent

    found: dict[int, set[int]] = {}
    for staff_id, stream in by_staff.items():
        found[staff_id] = set(LiveEvent.objects.filter(staff_id=staff_id, pk__gt=stream.ready_id).values_list("pk", flat=True))
    return found


# --- Part 2: idle streams, and polling -----------------------------------------------------------------
async def warm(port: int, cookies: list[str]) -> None:
    """Each worker's first requests import and compile what the measured ones use: bell GETs and a
    few streams opened and closed (the process's LISTEN connection starts with the first one)."""
    async with stream_session() as http:
        for _ in range(5):
            await asyncio.gather(*[_get(http, f"http://127.0.0.1:{port}{BELL_PATH}", c) for c in cookies[:8]])
        streams = [Stream(0, c, keep=False) for c in cookies[:16]]
        tasks = [asyncio.create_task(run_stream(http, f"http://127.0.0.1:{port}{STREAM_PATH}", s, None)) for s in streams]
        try:
            await wait_ready(streams, timeout=30)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(2)


async def _get(http: aiohttp.ClientSession, url: str, cookie: str) -> int:
    async with http.get(url, headers={"Cookie": cookie, "HX-Request": "true"}) as response:
        await response.read()
        return response.status


async def idle_phase(args, port: int, server: subprocess.Popen, cookies: list[str], dsn: str) -> dict:
    await warm(port, cookies)
    workers = workers_of(server)
    rss_before = rss_mb(workers)
    threads_before = [w.num_threads() for w in workers]
    conns_before = await asyncio.to_thread(db_connections, dsn)
    meter = Meter(dsn, {"server": family(server.pid)})
    resting = meter.read()
    await asyncio.sleep(max(10.0, args.idle_seconds / 4))  # the server's own ticking, with no stream open
    resting = Meter.delta(resting, meter.read())
    streams = [Stream(0, c, keep=False) for c in cookies]
    url = f"http://127.0.0.1:{port}{STREAM_PATH}"
    connecting = asyncio.Semaphore(50)  # streams being opened at once (a morning's logins, compressed)
    async with stream_session() as http:
        opening = meter.read()
        tasks = [asyncio.create_task(run_stream(http, url, s, connecting)) for s in streams]
        try:
            opened_in = await wait_ready(streams, timeout=240)
            opened_cpu = Meter.delta(opening, meter.read())
            failed = [s.error for s in streams if s.error]
            # Settle: PostgreSQL counts an idle backend's transactions up to 10 s late (pgstat's idle
            # flush), so the openings' must be in before the window starts.
            await asyncio.sleep(12)
            per_worker = [established(w, port) for w in workers]
            threads_open = [w.num_threads() for w in workers]
            keepalives_before = sum(s.keepalives for s in streams)
            before = meter.read()
            conns_open = []
            deadline = time.monotonic() + args.idle_seconds
            while (left := deadline - time.monotonic()) > 0:
                await asyncio.sleep(min(left, 10))
                conns_open.append(await asyncio.to_thread(db_connections, dsn))
            after = meter.read()
            rss_open = rss_mb(workers)
            still_open = sum(1 for s in streams if s.ready_at is not None and not s.error)
            keepalives = sum(s.keepalives for s in streams) - keepalives_before
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return {"streams": len(streams), "ready": sum(1 for s in streams if s.ready_at is not None), "failed": failed,
            "opened_in": opened_in, "opened_cpu": opened_cpu, "per_worker": per_worker, "rss_before": rss_before,
            "rss_open": rss_open, "threads_before": threads_before, "threads_open": threads_open,
            "conns_before": conns_before, "conns_open": conns_open, "cpu": Meter.delta(before, after),
            "still_open": still_open, "keepalives": keepalives, "resting": resting}


async def polling_phase(seconds: float, port: int, server: subprocess.Popen, cookies: list[str], dsn: str) -> dict:
    """Every session GETs the bell every POLL_PERIOD s, the sessions spread evenly over the period
    (open loop: a request is sent on time whether or not earlier ones were answered)."""
    url = f"http://127.0.0.1:{port}{BELL_PATH}"
    rate = len(cookies) / POLL_PERIOD
    results: list[tuple[int, float, float]] = []  # (status: 0 no answer, -1 timed out; seconds; sender's lag)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512), timeout=aiohttp.ClientTimeout(total=10),
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:

        async def one(cookie: str, scheduled: float) -> None:
            issued = loop.time()
            try:
                status = await _get(http, url, cookie)
            except TimeoutError:
                status = -1
            except (aiohttp.ClientError, OSError):
                status = 0
            results.append((status, loop.time() - issued, issued - scheduled))

        async def run(total: int, every: float, first: int = 0) -> None:
            start = loop.time()
            tasks = []
            for j in range(total):
                at = start + j * every
                if (delay := at - loop.time()) > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(cookies[(first + j) % len(cookies)], at)))
            await asyncio.gather(*tasks)

        loop = asyncio.get_running_loop()
        await run(200, 1 / 100)  # warm-up, not counted
        results.clear()
        meter = Meter(dsn, {"server": family(server.pid)})
        before = meter.read()
        conns: list[tuple[int, int]] = []
        sampler = asyncio.create_task(_sample_connections(dsn, conns, every=10))
        try:
            await run(round(seconds * rate), 1 / rate)
        finally:
            sampler.cancel()
        after = meter.read()
    statuses: dict[int, int] = {}
    for status, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    ok = [t for status, t, _ in results if status == 200]
    return {"sessions": len(cookies), "seconds": seconds, "sent": len(results), "statuses": statuses, "ok": len(ok), "latency": ok,
            "lag": [lag for _, _, lag in results], "cpu": Meter.delta(before, after), "conns": conns, "rate": rate}


async def _sample_connections(dsn: str, into: list, every: float) -> None:
    await asyncio.sleep(2)
    while True:
        into.append(await asyncio.to_thread(db_connections, dsn))
        await asyncio.sleep(every)


def alongside(cpu: dict[str, float], ours: list[str]) -> str:
    """The load generator's CPU, and everything else on the machine: PostgreSQL and Redis (working
    for these servers, and for anything else that runs there) and other people's work."""
    window, cores = cpu["wall"], os.cpu_count() or 1
    rest = cpu["machine"] - cpu["load generator"] - sum(cpu[name] for name in ours)
    postgres = "" if cpu["postgres"] != cpu["postgres"] else f", of which PostgreSQL (all its databases) {cpu['postgres'] / window:.0%}"
    return (f"load generator {cpu['load generator'] / window:.0%} of a core; everything else on the machine "
            f"(PostgreSQL, Redis, other work) {rest / window:.0%} of a core{postgres}; the machine's {cores} cores "
            f"{cpu['machine'] / window / cores:.0%} busy")


def idle_report(args, idle: dict) -> None:
    cpu, window = idle["cpu"], idle["cpu"]["wall"]
    n = idle["ready"]
    grown = sum(idle["rss_open"]) - sum(idle["rss_before"])
    conns = idle["conns_open"]
    out()
    out(f"Part 2a: {idle['streams']} open streams ({args.stores} stores x {args.staff} people, one signed-in session "
        f"each), ASGI gunicorn {args.web_workers} workers, nothing happening for {window:.0f} s")
    out(f"  opened       {n} streams ready in {idle['opened_in']:.1f} s (at most 50 opening at once; server CPU "
        f"{idle['opened_cpu']['server']:.1f} s, {idle['opened_cpu']['server'] / max(n, 1) * 1000:.1f} ms per stream); "
        f"refused or failed: {len(idle['failed'])}" + (f" (e.g. {idle['failed'][0]})" if idle["failed"] else ""))
    out(f"  per worker   {' / '.join(str(c) for c in idle['per_worker'])} streams (the shared socket's accepts); "
        f"threads {' / '.join(map(str, idle['threads_before']))} before, {' / '.join(map(str, idle['threads_open']))} with the streams open")
    out(f"  server CPU   {cpu['server']:.2f} s in {window:.0f} s = {cpu['server'] / window:.1%} of one core   (target < 5 %); "
        f"with no stream open {idle['resting']['server'] / idle['resting']['wall']:.1%} (measured for "
        f"{idle['resting']['wall']:.0f} s before opening them)")
    from django.conf import settings

    lifetime = settings.LIVE_STREAM_SECONDS * 0.9  # live.views: each stream ends after 80-100 % of it, then reconnects
    opening = idle["opened_cpu"]["server"] / max(n, 1)
    idle["reconnects"] = n / lifetime * opening
    out(f"  reconnects   not in that window: every stream ends after {lifetime:.0f} s on average (LIVE_STREAM_SECONDS "
        f"{settings.LIVE_STREAM_SECONDS:g} x 0.8-1.0) and reopens; {n} x {opening * 1000:.1f} ms per {lifetime:.0f} s adds "
        f"{idle['reconnects']:.1%} of one core: {(cpu['server'] / window + idle['reconnects']):.1%} in all "
        f"(a reopening also replays from Last-Event-ID, not measured here)")
    out(f"  memory       worker RSS {' + '.join(f'{r:.0f}' for r in idle['rss_before'])} MB before the streams, "
        f"{' + '.join(f'{r:.0f}' for r in idle['rss_open'])} MB with {n} open: {grown:+.1f} MB, "
        f"{grown * 1024 / max(n, 1):.1f} KB per connection")
    out(f"  database     {idle['conns_before'][0]} connections before the streams; with {n} open "
        f"{', '.join(f'{c}' for c, _ in conns)} (sampled every 10 s), last sample: {conns[-1][1] if conns else '-'}")
    out(f"               {cpu['db xacts'] / window:.1f} transactions/s (this script's own readings included), "
        f"{cpu['db sessions']:.0f} new connections")
    out(f"  streams      {idle['still_open']} of {n} still open at the end; {idle['keepalives']} keep-alive comments in "
        f"the window (about {n * window / 20:.0f} expected: one per stream every 20 s)")
    out(f"  alongside    {alongside(cpu, ['server'])}")


def polling_report(label: str, poll: dict) -> None:
    cpu, window = poll["cpu"], poll["cpu"]["wall"]
    errors = {k: v for k, v in poll["statuses"].items() if k != 200}
    names = {0: "no answer", -1: "timed out (10 s)", 204: "204 (not signed in)"}
    out()
    out(f"{label}: {poll['sessions']} of the sessions each GET the bell every {POLL_PERIOD:g} s "
        f"({poll['rate']:.0f} requests/s scheduled) for {poll['seconds']:g} s")
    out(f"  served       {poll['ok']} of {poll['sent']} = {poll['ok'] / window:.0f} requests/s; errors: " +
        (", ".join(f"{names.get(k, k)}: {v}" for k, v in sorted(errors.items())) or "none"))
    out(f"  latency      {spread(poll['latency'])}   (sender late by p99 {ms(percentile(poll['lag'], 99))})")
    out(f"  server CPU   {cpu['server']:.1f} s in {window:.0f} s = {cpu['server'] / window:.0%} of one core; "
        f"{cpu['server'] / max(poll['ok'], 1) * 1000:.1f} ms per request answered in time")
    out(f"  database     {', '.join(str(c) for c, _ in poll['conns'])} connections (sampled every 10 s); "
        f"{cpu['db xacts'] / window:.0f} transactions/s, {cpu['db sessions']:.0f} new connections, "
        f"statements active (lock waits included) {cpu['db active ms'] / 1000 / window:.0%} of the time")
    out(f"  alongside    {alongside(cpu, ['server'])}")


def summary(args, latency: dict | None, idle: dict | None, polls: list[tuple[str, dict]]) -> None:
    out()
    out("Summary")
    if latency:
        out(f"  accepted -> owner's stream  p50 {ms(latency['p50'])}, p99 {ms(latency['p99'])}, max {ms(latency['max'])}; "
            f"{latency['posted']} posted, {latency['accepted']} accepted, {latency['delivered']} delivered, "
            f"{latency['missing']} missing, {latency['duplicates']} duplicates   (target p99 < 1 s, stretch 250 ms)")
    rows = []
    if idle:
        window, n = idle["cpu"]["wall"], idle["ready"]
        grown = sum(idle["rss_open"]) - sum(idle["rss_before"])
        conns = max((c for c, _ in idle["conns_open"]), default=0)
        rows.append((f"{n} idle streams (ASGI)", f"{idle['cpu']['server'] / window:.1%} (+{idle['reconnects']:.1%})", f"{sum(idle['rss_open']):.0f} MB",
                     f"{grown * 1024 / max(n, 1):.1f} KB/conn", str(conns), f"{idle['cpu']['db xacts'] / window:.1f}", "-", "-", "-"))
    for label, poll in polls:
        window = poll["cpu"]["wall"]
        rows.append((label, f"{poll['cpu']['server'] / window:.0%}", "", "", str(max((c for c, _ in poll["conns"]), default=0)),
                     f"{poll['cpu']['db xacts'] / window:.0f}", f"{poll['ok'] / window:.0f}",
                     f"{ms(percentile(poll['latency'], 50))} / {ms(percentile(poll['latency'], 99))}",
                     str(poll["sent"] - poll["ok"])))
    if rows:
        head = ("", "server CPU", "worker RSS", "memory", "DB conns", "DB xact/s", "req/s", "p50 / p99", "errors")
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        for row in [head, *rows]:
            out("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
        out("  server CPU: gunicorn master + workers, % of one core (idle streams: + their reconnects every ~9 min, "
            "amortized); DB conns: the most held at once (samples every 10 s)")
    out(f"  Machine: {os.cpu_count()} CPUs shared by the servers, PostgreSQL, Redis and this load generator "
        "(and whatever else runs on it); run at " + dt.datetime.now().strftime("%Y-%m-%d %H:%M"))


def terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)  # the finally blocks stop the servers


# --- the run --------------------------------------------------------------------------------------------
def main() -> None:
    quick = os.environ.get("BENCH_SECONDS")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(quick or 60), help="Part 1: seconds of leads")
    parser.add_argument("--rate", type=float, default=50, help="Part 1: leads per second")
    parser.add_argument("--latency-stores", type=int, default=2, help="Part 1: stores the leads are spread over")
    parser.add_argument("--agents", type=int, default=8, help="Part 1: agents in each store's round robin, one stream each")
    parser.add_argument("--concurrency", type=int, default=2, help="Part 1: Celery worker processes (nudges)")
    parser.add_argument("--sweeps-concurrency", type=int, default=1,
                        help="Part 1: processes of a second worker for the sweeps queue, as README advises for a "
                             "busy store (0: one worker takes both queues, as ./dev start runs it)")
    parser.add_argument("--intake", choices=("asgi", "wsgi"), default="asgi",
                        help="Part 1: post the leads to the ASGI server that serves the streams (as ./dev start runs), "
                             "or to a WSGI gunicorn of their own (as before streams; a diagnosis)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (ASGI and WSGI)")
    parser.add_argument("--stores", type=int, default=50, help="Part 2: stores")
    parser.add_argument("--staff", type=int, default=30, help="Part 2: people per store, one stream or poller each")
    parser.add_argument("--idle-seconds", type=float, default=float(quick or 60), help="Part 2: seconds measured idle")
    parser.add_argument("--poll-seconds", type=float, default=float(quick or 60), help="Part 2: seconds of polling")
    parser.add_argument("--no-asgi-polling", action="store_true", help="Part 2: poll the WSGI server only")
    parser.add_argument("--parts", default="latency,idle,polling", help="which parts to run (comma-separated)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if not parts <= {"latency", "idle", "polling"}:
        raise SystemExit("--parts: latency, idle and/or polling")
    if args.staff < 22:
        raise SystemExit("--staff: at least 22 (a manager, a receptionist and 20 agents per store)")
    parser_selftest()
    wanted = args.stores * args.staff * 2 + 1000  # each stream's socket, and the server's end, under ours
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted, hard))
    signal.signal(signal.SIGTERM, terminated)

    started = time.monotonic()
    env = services_env(DATABASE)
    dsn = env["DATABASE_URL"]
    bench_env = {**env, "CELERY_QUEUE": QUEUE}
    print(f"building {DATABASE}: {args.latency_stores} latency stores x {args.agents} agents, {args.stores} idle stores x "
          f"{args.staff} people ...", flush=True)
    setup = build(bench_env, args.latency_stores, args.agents, args.stores, args.staff)
    workdir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    children: list[subprocess.Popen] = []
    latency = idle = None
    polls: list[tuple[str, dict]] = []
    try:
        out(f"live benchmark ({os.cpu_count()} CPUs; the load generator shares them; logs in {workdir})")
        if "latency" in parts:
            out()
            port = free_port()
            web = start_gunicorn(bench_env, port, args.web_workers, asgi=True, log=workdir / "web-latency.log")
            children.append(web)
            celery = start_celery({**bench_env, **PRODUCTION}, workdir, args.concurrency,
                                  sweeps_concurrency=args.sweeps_concurrency)
            children += celery
            groups = {"web": family(web.pid), "worker": family(celery[0].pid)}
            if args.sweeps_concurrency:
                groups["sweeps worker"] = family(celery[1].pid)
            groups["beat"] = family(celery[-1].pid)
            intake_port = port
            if args.intake == "wsgi":
                intake_port = free_port()
                intake = start_gunicorn(bench_env, intake_port, args.web_workers, log=workdir / "web-intake.log")
                children.append(intake)
                groups["intake"] = family(intake.pid)
            meter = Meter(dsn, groups)
            result = asyncio.run(asyncio.wait_for(latency_phase(args, port, intake_port, setup, dsn, meter),
                                                  timeout=args.seconds + 400))
            result["queued"] = queued(env)
            stop(children)
            children.clear()
            purge(bench_env)
            result["task_waits"], result["task_runs"] = route_tasks(workdir / "worker.log", since=result["posts"][0].sent)
            result["routed_by"] = routed_by(workdir / "worker.log", since=result["posts"][0].sent)
            latency = latency_report(args, result)
            from django.db import connections

            connections.close_all()  # this script holds no connection to the bench database while it measures

        cookies = [f"{setup.cookie_name}={key}" for _, key in setup.idle]
        few = cookies[: max(1, len(cookies) // 6)]  # a rate both servers sustain here: the cost of one poll
        if "idle" in parts or ("polling" in parts and not args.no_asgi_polling):
            port = free_port()
            asgi = start_gunicorn(env, port, args.web_workers, asgi=True, log=workdir / "web-asgi.log")
            children.append(asgi)
            if "idle" in parts:
                idle = asyncio.run(asyncio.wait_for(idle_phase(args, port, asgi, cookies, dsn), timeout=args.idle_seconds + 400))
                idle_report(args, idle)
            if "polling" in parts and not args.no_asgi_polling:
                for sessions, seconds in ((few, max(10, args.poll_seconds / 3)), (cookies, args.poll_seconds)):
                    poll = asyncio.run(asyncio.wait_for(polling_phase(seconds, port, asgi, sessions, dsn), timeout=seconds + 120))
                    polls.append((f"polling {poll['rate']:.0f}/s, ASGI", poll))
                    polling_report(f"Part 2b: polling against the same ASGI server ({args.web_workers} uvicorn workers)", poll)
            stop(children)
            children.clear()
        if "polling" in parts:
            port = free_port()
            wsgi = start_gunicorn(env, port, args.web_workers, log=workdir / "web-wsgi.log")
            children.append(wsgi)
            for sessions, seconds in ((few, max(10, args.poll_seconds / 3)), (cookies, args.poll_seconds)):
                poll = asyncio.run(asyncio.wait_for(polling_phase(seconds, port, wsgi, sessions, dsn), timeout=seconds + 120))
                polls.append((f"polling {poll['rate']:.0f}/s, WSGI", poll))
                polling_report(f"Part 2c: polling against a WSGI gunicorn ({args.web_workers} sync workers, as before streams)",
                               poll)
            stop(children)
            children.clear()
    except BaseException as exc:
        failed = f"{type(exc).__name__}: {exc}".strip()
        raise
    else:
        failed = ""
    finally:
        stop(children)
        if _monitor is not None:
            _monitor.close()
        if LINES:
            if failed:
                out(f"\nTHE RUN DID NOT FINISH ({failed}); the figures above are what it measured before.")
            summary(args, latency, idle, polls)
            out(f"  The whole run took {time.monotonic() - started:.0f} s.")
            RESULTS.parent.mkdir(exist_ok=True)
            RESULTS.write_text("\n".join(LINES) + "\n")
            print(f"(written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS})")


if __name__ == "__main__":
    main()
