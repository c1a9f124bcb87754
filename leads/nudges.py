"""Nudges: Celery messages that only hurry work a due-time column already guarantees.

A lead, a staff text or a recording is saved with its deadline first; the after-commit nudge
asks a worker to do it now rather than at the next sweep. So a nudge must never hold the request
that sent it. Celery's ordinary publish waits seconds on a broker that is down (redis-py's retries,
then kombu's), which at a few web workers stops intake and webhooks altogether. A nudge instead:

- publishes on connections of its own with short connect and socket timeouts and no retries;
- after a failure skips every nudge for NUDGE_BACKOFF_SECONDS (a circuit breaker), so while the
  broker is down a process pays one short attempt per back-off, not one per request; the first
  nudge after the back-off tries again, and the breaker closes when one gets through;
- logs one warning when the broker goes away and one line when it is back, never a traceback.

A skipped nudge loses nothing: the sweepers find the work by its deadline column.

State is per process and per broker URL (a web worker, a Celery worker process).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings

log = logging.getLogger(__name__)


class _Broker:
    """One broker URL's idle connections and its circuit breaker, in this process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.idle: list = []  # kombu connections that last published fine, newest last
        self.open_until = 0.0  # time.monotonic(): nudges are skipped until then
        self.down_since: float | None = None
        self.skipped = 0

    def admit(self, now: float, backoff: float) -> bool:
        """May a nudge try now? While the breaker is open, no; once its back-off is over one
        nudge probes the broker, and the others keep skipping until that one knows."""
        with self.lock:
            if now < self.open_until:
                self.skipped += 1
                return False
            if self.down_since is not None:
                self.open_until = now + backoff  # this nudge is the probe
            return True

    def failed(self, exc: Exception, now: float, backoff: float) -> None:
        with self.lock:
            self.open_until = now + backoff
            first = self.down_since is None
            if first:
                self.down_since = now
        if first:
            log.warning(
                "broker unreachable (%s: %s): nudges are skipped, %g s at a time, until it answers; "
                "the sweepers do what is due", exc.__class__.__name__, str(exc)[:200], backoff,
            )
        else:
            log.debug("broker still unreachable: %s", exc)

    def succeeded(self, now: float) -> None:
        if self.down_since is None:
            return
        with self.lock:
            down_since, skipped = self.down_since, self.skipped
            self.down_since, self.open_until, self.skipped = None, 0.0, 0
        if down_since is not None:
            log.warning("broker reachable again after %.0f s; %d nudges were left to the sweepers",
                        now - down_since, skipped)

    def take(self):
        with self.lock:
            return self.idle.pop() if self.idle else None

    def give_back(self, conn) -> None:
        with self.lock:
            self.idle.append(conn)


_brokers: dict[str, _Broker] = {}
_brokers_lock = threading.Lock()


def _broker(url: str) -> _Broker:
    with _brokers_lock:
        broker = _brokers.get(url)
        if broker is None or broker.pid != os.getpid():  # a forked child starts with its own
            broker = _brokers[url] = _Broker(url)
        return broker


def _connect(app, url: str):
    timeout = float(settings.NUDGE_TIMEOUT_SECONDS)
    return app.connection_for_write(
        url,
        connect_timeout=timeout,
        transport_options={
            "max_retries": 0,  # kombu: no reconnection loop
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
            "retry_on_timeout": False,
        },
    )


def _publish(task, conn, args: tuple, options: dict) -> None:
    try:
        task.apply_async(args=args, connection=conn, retry=False, **options)
    except BaseException:
        conn.release()
        raise


def nudge(task, *args, **options) -> bool:
    """Send `task(*args)` to the workers if the broker takes it at once. False when it did not
    (down, or skipped during the back-off): the caller relies on a deadline column anyway.
    `options` go to apply_async (e.g. queue=)."""
    app = task.app
    if app.conf.task_always_eager:
        task.apply_async(args=args, **options)
        return True
    url = app.conf.broker_write_url or app.conf.broker_url
    broker = _broker(url)
    backoff = float(settings.NUDGE_BACKOFF_SECONDS)
    if not broker.admit(time.monotonic(), backoff):
        return False
    pooled = broker.take()
    if pooled is not None:
        try:
            _publish(task, pooled, args, options)
        except Exception:  # noqa: BLE001 - an idle connection the broker dropped (a restart): reconnect once
            pass
        else:
            broker.give_back(pooled)
            broker.succeeded(time.monotonic())
            return True
    conn = _connect(app, url)
    try:
        _publish(task, conn, args, options)
    except Exception as exc:  # noqa: BLE001 - any broker failure must not fail the request that saved the work
        broker.failed(exc, time.monotonic(), backoff)
        return False
    broker.give_back(conn)
    broker.succeeded(time.monotonic())
    return True
