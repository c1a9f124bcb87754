"""GET /live/stream/: the server-sent event stream of one signed-in person.

The stream is a nudge, not the record: each event names what changed (a topic, a lead), and the
page reloads that part through its own view, which scopes it as always. On connecting the stream
sends `ready` with the newest event id; a reconnect (EventSource sends Last-Event-ID by itself)
first replays what the person missed, or sends `reset` when that is no longer known.

Under WSGI (the test server, a deployment without an ASGI server) a stream would hold a worker
for good: the view answers 204 and the page polls, as it did before streams.
"""

from __future__ import annotations

import asyncio
import json
import random

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from live import events
from live.hub import hub


def _visible(event: dict) -> dict:
    """What the browser is told. A store-wide event says only that the store's board or queue
    changed, not which lead: a team's manager hears of a change on the store's queue, and their
    page, scoped as always, shows what of it is theirs."""
    if event.get("staff") is None and event.get("store") is not None:
        return {"id": event["id"], "store": event["store"], "staff": None, "topic": event["topic"]}
    if isinstance(event.get("data"), dict) and "text" in event["data"]:
        # Nor a notification's words: the bell's own view shows them, to whoever is signed in then.
        event = {**event, "data": {k: v for k, v in event["data"].items() if k != "text"}}
    return event


def _format(event: dict, name: str | None = None) -> str:
    event = _visible(event)
    lines = []
    if event.get("id") is not None:  # 0 too: `ready` when no event exists yet, resumed from as "0"
        lines.append(f"id: {event['id']}")
    lines.append(f"event: {name or event['topic']}")
    lines.append("data: " + json.dumps(event, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def _last_seen(request) -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("since") or ""
    return int(raw) if raw.isdigit() else None


def _closing(work):
    """Run `work` and close this request's database connection: an open stream holds none."""
    def run(*args):
        try:
            return work(*args)
        finally:
            connections.close_all()
    return sync_to_async(run)


_scope = _closing(events.scope_for)
_past = _closing(lambda scope, last_seen: (events.replay(scope, last_seen) if last_seen is not None else None,
                                           events.last_id()))


@require_GET
async def stream(request):
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204, headers={"X-Live": "polling"})
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=204, headers={"X-Live": "signed-out"})
    scope = await _scope(user)
    if scope.empty:
        return HttpResponse(status=204, headers={"X-Live": "nothing"})
    the_hub = hub()
    # Subscribe, and wait for the process to be listening, before reading the past: an event
    # committed from here on is in the queue, one before it in the replay or under `ready`.
    sub = the_hub.subscribe(scope)
    try:
        await asyncio.wait_for(the_hub.listening.wait(), timeout=settings.LIVE_LISTEN_WAIT_SECONDS)
    except TimeoutError:
        the_hub.unsubscribe(sub)
        # Not listening (the database is unreachable): the page polls until a stream opens.
        return HttpResponse("Live updates are unavailable; the page refreshes itself instead.", status=503,
                            headers={"X-Live": "unavailable", "Retry-After": "10"})
    last_seen = _last_seen(request)
    try:
        missed, newest = await _past(scope, last_seen)
    except BaseException:
        the_hub.unsubscribe(sub)
        raise
    heartbeat = settings.LIVE_HEARTBEAT_SECONDS
    # A stream ends after a while (with jitter) and the browser reconnects at once, resuming from
    # its last event: a changed role or a signed-out session takes effect within that time.
    lifetime = settings.LIVE_STREAM_SECONDS * random.uniform(0.8, 1.0)

    async def body():
        try:
            # After a restart every browser comes back at once: spread them over a few retry periods.
            yield f"retry: {int(settings.LIVE_RETRY_MS * random.uniform(1, 3))}\n\n"
            # resumed: what it missed follows (the page need not reload its live parts).
            resumed = missed is not None and missed.complete
            yield _format({"id": newest if last_seen is None else None, "topic": "ready", "since": newest,
                           "resumed": resumed})
            if missed is not None:
                if not missed.complete:
                    yield _format({"topic": "reset"})
                for event in missed.events:
                    yield _format(event)
            loop = asyncio.get_running_loop()
            ends = loop.time() + lifetime
            while (left := ends - loop.time()) > 0:
                try:
                    event = await asyncio.wait_for(sub.queue.get(), timeout=min(heartbeat, left))
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if sub.overflowed:
                    sub.overflowed = False
                    yield _format({"topic": "reset"})
                yield _format(event)
        finally:
            the_hub.unsubscribe(sub)

    response = StreamingHttpResponse(body(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response
