"""The web process's side of the stream: one PostgreSQL connection per process LISTENs for live
events and hands each to the open streams of this process that may see it.

Every web process, on every machine, listens for itself: the web tier keeps no state between
requests, and a stream can land on any process. If the listening connection drops (a database
restart, a failover), the hub reconnects and first reads the rows it missed from the table, so a
stream misses nothing while its process was deaf.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import sql

from live.events import CHANNEL, Scope

log = logging.getLogger(__name__)

QUEUE_SIZE = 256  # events waiting for one slow stream before it is told to refresh instead
RETRY_SECONDS = (0.5, 1, 2, 5)
APPLICATION_NAME = "dealercrm-live-hub"


@dataclass(eq=False)
class Subscription:
    scope: Scope
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False

    def put(self, event: dict) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True  # the stream sends "reset": the page reloads its live parts


def _conninfo() -> str:
    """LIVE_DATABASE_URL if set (LISTEN needs a session of its own: behind PgBouncer in
    transaction mode, point it at PostgreSQL itself), else the app's database."""
    if settings.LIVE_DATABASE_URL:
        return psycopg.conninfo.make_conninfo(settings.LIVE_DATABASE_URL, application_name=APPLICATION_NAME)
    params = connections["default"].get_connection_params()
    keep = ("dbname", "host", "port", "user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey", "options")
    kept = {k: v for k, v in params.items() if k in keep and v not in (None, "")}
    # Named, so an operator sees one per web process in pg_stat_activity.
    return psycopg.conninfo.make_conninfo(**kept, application_name=APPLICATION_NAME)


class Hub:
    def __init__(self) -> None:
        self.personal: dict[int, set[Subscription]] = defaultdict(set)
        self.wide: set[Subscription] = set()
        self.listening = asyncio.Event()  # set while the LISTEN connection is up
        self.last_id = 0
        self.dispatched = 0
        self._task: asyncio.Task | None = None

    # --- streams ---------------------------------------------------------------------------------
    def subscribe(self, scope: Scope) -> Subscription:
        sub = Subscription(scope)
        if scope.staff_id is not None:
            self.personal[scope.staff_id].add(sub)
        if scope.stores:
            self.wide.add(sub)
        self._start()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub.scope.staff_id is not None:
            subs = self.personal.get(sub.scope.staff_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.personal[sub.scope.staff_id]
        self.wide.discard(sub)

    @property
    def streams(self) -> int:
        return len(self.wide | {s for subs in self.personal.values() for s in subs})

    def dispatch(self, event: dict) -> None:
        self.last_id = max(self.last_id, int(event.get("id") or 0))
        self.dispatched += 1
        staff = event.get("staff")
        if staff is not None:
            for sub in tuple(self.personal.get(staff, ())):
                sub.put(event)
            return
        for sub in tuple(self.wide):
            if sub.scope.accepts(event):
                sub.put(event)

    # --- the listening connection --------------------------------------------------------------
    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen(), name="live-hub")

    async def _catch_up(self, conn: psycopg.AsyncConnection) -> None:
        """Rows committed while this process was not listening (never on the first connect: a
        stream replays its own past from the table)."""
        cursor = await conn.execute(
            sql.SQL("SELECT id, store_id, staff_id, topic, lead_id, data FROM live_liveevent WHERE id > %s ORDER BY id"),
            [self.last_id],
        )
        for row in await cursor.fetchall():
            self.dispatch({"id": row[0], "store": row[1], "staff": row[2], "topic": row[3], "lead": row[4], "data": row[5]})

    async def _listen(self) -> None:
        failures = 0
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(_conninfo(), autocommit=True) as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    if first:
                        # From here on every committed event reaches this process: by the listen,
                        # or after a reconnect by the catch-up from this id.
                        cursor = await conn.execute("SELECT coalesce(max(id), 0) FROM live_liveevent")
                        row = await cursor.fetchone()
                        self.last_id = max(self.last_id, row[0] if row else 0)
                    else:
                        await self._catch_up(conn)
                    first, failures = False, 0
                    self.listening.set()
                    async for note in conn.notifies():
                        try:
                            self.dispatch(json.loads(note.payload))
                        except (ValueError, TypeError):
                            log.warning("live: a notification that is not an event: %.200s", note.payload)
            except asyncio.CancelledError:
                self.listening.clear()
                raise
            except Exception as exc:  # noqa: BLE001 - the hub must outlive any database hiccup
                self.listening.clear()
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("live: listening connection lost (%s); retrying in %s s", exc, delay)
                await asyncio.sleep(delay)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """This process's hub (one per event loop: one per ASGI worker process)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        for old in [other for other in _hubs if other.is_closed()]:
            del _hubs[old]
        found = _hubs[loop] = Hub()
    return found
