"""Publishing live events, and who receives them.

`publish` is the one way a change is announced to open pages. It writes a LiveEvent row and
NOTIFYs it in the caller's transaction: PostgreSQL delivers the notification at commit (never for
a rolled-back change) to every web process listening (live.hub), whichever machine it runs on.

An event is for one person (staff set: their bell, their Today queue, their call) or for the
store's people whose role sees its topic (staff unset: the board, the manager queue). Which stores'
store-wide events a viewer receives is decided by the app that owns the page, through
`audience_register`: the same predicate its page uses, so a stream shows nothing its pages hide.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from live.models import LiveEvent
from org.scoping import viewer_for

CHANNEL = "dealercrm_live"

# Topics (what the browser refreshes on them, see static/js/live.js):
NOTIFICATION = "notification"  # a new notification for one person: the bell, their Today queue
BELL = "bell"  # their unread count changed (read in another tab)
TODAY = "today"  # a lead came to or left one person: their Today queue
CALL = "call"  # one person's call changed state: its live panel, their Today queue
ROUTING = "routing"  # a lead entered or left a queue in a store: the board, the manager queue

# topic -> functions user -> the store ids whose store-wide events of that topic it receives
# (None: every store). Filled by the apps that own the pages, in AppConfig.ready.
_audiences: dict[str, list[Callable[[Any], Iterable[int] | None]]] = {}


def audience_register(topic: str, stores: Callable[[Any], Iterable[int] | None]) -> None:
    if stores not in _audiences.setdefault(topic, []):
        _audiences[topic].append(stores)


def payload(event: LiveEvent) -> dict:
    return {
        "id": event.pk,
        "store": event.store_id,
        "staff": event.staff_id,
        "topic": event.topic,
        "lead": event.lead_id,
        "data": event.data,
    }


_PUBLISH = f"""
    WITH event AS (
        INSERT INTO {LiveEvent._meta.db_table} (store_id, staff_id, topic, lead_id, data, created_at)
        VALUES (%(store)s, %(staff)s, %(topic)s, %(lead)s, %(data)s::jsonb, %(at)s)
        RETURNING id
    )
    SELECT id, pg_notify(%(channel)s, json_build_object(
        'id', id, 'store', %(store)s::bigint, 'staff', %(staff)s::bigint, 'topic', %(topic)s::text,
        'lead', %(lead)s::bigint, 'data', %(data)s::jsonb)::text)
      FROM event
"""


def publish(*, store_id: int, topic: str, staff_id: int | None = None, lead_id: int | None = None,
            data: dict | None = None, now: dt.datetime | None = None) -> LiveEvent:
    """Announce a change to the pages that show it, at the commit of the current transaction: the
    row and its NOTIFY in one statement (a routing decision announces itself twice; it is hot)."""
    event = LiveEvent(store_id=store_id, staff_id=staff_id, topic=topic, lead_id=lead_id, data=data or {},
                      created_at=now or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_PUBLISH, {"store": store_id, "staff": staff_id, "topic": topic, "lead": lead_id,
                                  "data": json.dumps(event.data), "at": event.created_at, "channel": CHANNEL})
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    return event


@dataclass(frozen=True)
class Scope:
    """What one stream receives: the events for its person, and the store-wide events of each
    topic for the stores listed (None: all stores)."""

    staff_id: int | None
    stores: dict[str, frozenset[int] | None] = field(default_factory=dict)

    def accepts(self, event: dict) -> bool:
        if event.get("staff") is not None:
            return self.staff_id is not None and event["staff"] == self.staff_id
        topic = event.get("topic")
        if topic not in self.stores:
            return False
        stores = self.stores[topic]
        return stores is None or event.get("store") in stores

    def q(self) -> Q:
        """The same as `accepts`, as a condition on LiveEvent rows (for a replay)."""
        condition = Q(staff_id=self.staff_id) if self.staff_id is not None else Q(pk__in=[])
        for topic, stores in self.stores.items():
            wide = Q(staff__isnull=True, topic=topic)
            condition |= wide if stores is None else wide & Q(store_id__in=sorted(stores))
        return condition

    @property
    def empty(self) -> bool:
        return self.staff_id is None and not self.stores


def scope_for(user) -> Scope:
    """What a signed-in user's stream receives."""
    viewer = viewer_for(user)
    stores: dict[str, frozenset[int] | None] = {}
    for topic, deciders in _audiences.items():
        allowed: set[int] = set()
        everywhere = False
        for decide in deciders:
            ids = decide(user)
            if ids is None:
                everywhere = True
                break
            allowed.update(ids)
        if everywhere:
            stores[topic] = None
        elif allowed:
            stores[topic] = frozenset(allowed)
    return Scope(staff_id=viewer.staff.pk if viewer.staff else None, stores=stores)


# A reconnecting stream replays what it missed, from the row after the last one it saw. Rows commit
# in nearly id order, not exactly: the replay reaches back REPLAY_OVERLAP before the last event seen
# and the browser drops ids it has already handled.
REPLAY_OVERLAP = dt.timedelta(seconds=5)
REPLAY_LIMIT = 500


@dataclass
class Replay:
    events: list[dict]
    complete: bool  # False: the last event seen is gone (pruned) or too much happened; refresh all


def replay(scope: Scope, last_id: int) -> Replay:
    """The events for `scope` since event `last_id` (0: there was none yet when it connected)."""
    rows_after = LiveEvent.objects.filter(scope.q())
    if last_id:
        last = LiveEvent.objects.filter(pk=last_id).values_list("created_at", flat=True).first()
        if last is None:
            return Replay([], complete=False)
        rows_after = rows_after.filter(created_at__gte=last - REPLAY_OVERLAP).exclude(pk=last_id)
    rows = list(rows_after.order_by("pk")[: REPLAY_LIMIT + 1])
    return Replay([payload(e) for e in rows[:REPLAY_LIMIT]], complete=len(rows) <= REPLAY_LIMIT)


def last_id() -> int:
    return LiveEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def prune(*, now: dt.datetime | None = None) -> int:
    """Drop events older than LIVE_EVENT_KEEP_HOURS: a stream away that long reloads everything."""
    cutoff = (now or timezone.now()) - dt.timedelta(hours=settings.LIVE_EVENT_KEEP_HOURS)
    deleted, _ = LiveEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted
