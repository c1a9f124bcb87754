"""Celery beat's scheduler, with one log line per broker outage instead of a traceback a tick.

Celery's own scheduler logs every failed send as an error with the exception's traceback and
the whole call stack: with the sweeps due every few seconds, a Redis outage of a minute writes
hundreds of lines that bury whatever else happened. A send that fails because the broker is
unreachable is logged once when the outage starts and once when a send gets through again;
the sweeps themselves lose nothing (they find the work by its deadline columns on the next
tick that reaches the broker). Any other failure is logged as Celery logs it.
"""

from __future__ import annotations

import logging
import time

from celery.beat import PersistentScheduler
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


def _broker_unreachable(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OperationalError | ConnectionError | TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Scheduler(PersistentScheduler):
    broker_down_since: float | None = None
    missed = 0

    def apply_entry(self, entry, producer=None):
        if self.broker_down_since is None:
            log.info("Scheduler: Sending due task %s (%s)", entry.name, entry.task)
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception as exc:
            if not _broker_unreachable(exc):
                log.error("Message Error: %s", exc, exc_info=True)  # as Celery reports it
                return None
            self.missed += 1
            if self.broker_down_since is None:
                self.broker_down_since = time.monotonic()
                log.warning("broker unreachable, %s not sent (%s); periodic tasks are skipped until it "
                            "answers again", entry.task, str(exc)[:200])
            return None
        if self.broker_down_since is not None:
            log.warning("broker reachable again after %.0f s; %d periodic sends were skipped",
                        time.monotonic() - self.broker_down_since, self.missed)
            self.broker_down_since, self.missed = None, 0
        return None
