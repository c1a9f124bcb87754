"""State the sandbox's REST client (web process) and its drivers (Celery worker) share, in the
cache: the resources it answered (calls, texts, recordings), the REST updates waiting for a
running call, a call's child legs, opt-outs and the run log of the sandbox page; the hand-off
of a driver to a Celery worker (`dispatch`); sids and timestamps shaped like Twilio's."""

from __future__ import annotations

import datetime as dt
import email.utils
import secrets
from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from leads.nudges import nudge

API_VERSION = "2010-04-01"
STATE_TTL = 24 * 3600
RUN_LOG_LENGTH = 30
TERMINAL = {"completed", "busy", "no-answer", "failed", "canceled"}  # a call's final statuses

_PREFIX = "telephony-sandbox:"


def resource_get(sid: str) -> dict | None:
    return cache.get(f"{_PREFIX}{sid}")


def resource_put(sid: str, resource: dict) -> None:
    cache.set(f"{_PREFIX}{sid}", resource, STATE_TTL)


def resource_update(sid: str, **changes) -> None:
    resource = resource_get(sid)
    if resource is not None:
        resource.update(changes, date_updated=_rfc2822())
        resource_put(sid, resource)


def resource_delete(sid: str) -> None:
    cache.delete(f"{_PREFIX}{sid}")


def _update_push(call_sid: str, update: dict) -> None:
    cache.set(f"{_PREFIX}{call_sid}:update", update, STATE_TTL)


def _update_pop(call_sids: Iterable[str]) -> tuple[str, dict] | None:
    for sid in call_sids:
        key = f"{_PREFIX}{sid}:update"
        update = cache.get(key)
        if update is not None:
            cache.delete(key)
            return sid, update
    return None


def _opt_out_key(customer: str, dealer_number: str) -> str:
    return f"{_PREFIX}opt-out:{dealer_number}:{customer}"


def opted_out(customer: str, dealer_number: str) -> bool:
    """The customer texted STOP to the dealer number (and not START since)."""
    return bool(cache.get(_opt_out_key(customer, dealer_number)))


def opt_out_set(customer: str, dealer_number: str, opted_out: bool) -> None:
    if opted_out:
        cache.set(_opt_out_key(customer, dealer_number), True, None)
    else:
        cache.delete(_opt_out_key(customer, dealer_number))


def _children_key(parent_sid: str) -> str:
    return f"{_PREFIX}{parent_sid}:children"


def _child_add(parent_sid: str, child_sid: str) -> None:
    children = cache.get(_children_key(parent_sid)) or []
    cache.set(_children_key(parent_sid), [*children, child_sid], STATE_TTL)


def _children(parent_sid: str) -> list[str]:
    return cache.get(_children_key(parent_sid)) or []


def run_log(store_id: int) -> list[dict]:
    """The latest sandbox runs for a store, newest first (for the sandbox page)."""
    return cache.get(f"{_PREFIX}log:{store_id}") or []


def _run_log_add(store_id: int | None, entry: dict) -> None:
    if store_id is None:
        return
    key = f"{_PREFIX}log:{store_id}"
    cache.set(key, [entry, *(cache.get(key) or [])][:RUN_LOG_LENGTH], STATE_TTL)


def _store_id_of(*numbers: str) -> int | None:
    from telephony.models import DealerNumber

    return (
        DealerNumber.objects.filter(number__in=[n for n in numbers if n and n.startswith("+")])
        .values_list("store_id", flat=True)
        .first()
    )


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(when: dt.datetime | None = None) -> str:
    return email.utils.format_datetime((when or timezone.now()).astimezone(dt.UTC))


def dispatch(task_name: str, *args) -> None:
    """Run a sandbox task in a Celery worker once the current transaction commits (the row the
    app writes about the call or text must exist when the callbacks come). Tests replace this
    to run the drivers in their own thread."""
    from telephony import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: nudge(task, *args))

