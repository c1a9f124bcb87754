"""The beat sweeper: everything due, found by its deadline column.

Each pass reads the due ids from a partial index (a range scan that touches only what is due),
then handles each one in its own transaction with the lead row locked (skip_locked, so two
sweepers or a sweeper and a Celery nudge never do the same work) and the condition checked
again under the lock. Handling clears or moves the deadline, so running a pass twice, or after
a worker was down for an hour, does everything once.

Beat's pass (`sweep_exclusive`) never overlaps another: it holds a PostgreSQL advisory lock, and
a pass that finds it taken returns at once. It hands the due leads to the workers in chunks (one
task each), and each chunk claims its leads one at a time with FOR UPDATE SKIP LOCKED, so as many
workers as are free share a backlog without waiting on each other's rows.

Lock order everywhere in distribution: the lead row first, then its routing row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from distribution import pools, services
from distribution.models import LeadRouting, Notification, NotificationKind, OnCoverageLapse, RoutingState, Strategy
from distribution.strategies import claim_pool, reassign, round_robin
from distribution.strategies.base import Decision
from leads import coverage_port
from leads.models import OPEN_STATUSES, ContactEvent, Lead, LeadAssignment

BATCH = 500
SMS_GRACE = dt.timedelta(seconds=30)
# pg_try_advisory_lock's key for beat's pass (any bigint no other lock of ours uses).
SWEEP_LOCK = 0x64697374_73776570  # "distswep"


def sweep(*, now: dt.datetime | None = None, route: bool = True) -> dict[str, int]:
    now = now or timezone.now()
    return {
        "routed": route_due(now=now) if route else 0,
        "claims": claims_due(now=now),
        "warned": warnings_due(now=now),
        "reassigned": responses_due(now=now),
        "lapse_warned": lapse_warnings_due(now=now),
        "lapsed": coverage_lapses_due(now=now),
        "texts": texts_due(now=now),
    }


@contextmanager
def _exclusive(key: int) -> Iterator[bool]:
    """A session advisory lock, tried without waiting: True when this process holds it. It is
    released on exit, or by PostgreSQL when the process dies (its connection closes)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                connection.close()  # a broken session: closing it releases the lock


def sweep_exclusive(*, now: dt.datetime | None = None, chunks: Callable[[int], int] | None = None) -> dict[str, int]:
    """Beat's pass: at most one at a time; a pass that starts while another runs does nothing.

    Due leads go out in chunks: `chunks(n)` sends n chunk tasks (route_due with a limit of
    SWEEP_CHUNK_LEADS) and returns how many it sent; when some could not be sent (the broker
    refused) the pass routes the due leads itself. Everything else due is done here."""
    with _exclusive(SWEEP_LOCK) as held:
        if not held:
            return {"overlapping": 1}
        now = now or timezone.now()
        size, most = settings.SWEEP_CHUNK_LEADS, settings.SWEEP_CHUNKS_MAX
        due = Lead.objects.filter(routed_at__isnull=True, routing_due_at__lte=now).values("pk")[: size * most].count()
        wanted = min(most, math.ceil(due / size))
        sent = chunks(wanted) if wanted and chunks is not None else 0
        return {**sweep(now=now, route=sent < wanted), "chunks": sent}


def route_due(*, now: dt.datetime, limit: int = BATCH) -> int:
    """Route up to `limit` due leads, oldest first. Each is claimed with FOR UPDATE SKIP LOCKED
    in its own transaction and routed under that lock, so route_due running in several workers
    at once gives each lead to exactly one of them, and none waits for another's rows."""
    done = 0
    seen: list[int] = []
    while len(seen) < limit:
        with transaction.atomic():
            lead_id = (
                Lead.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(routed_at__isnull=True, routing_due_at__lte=now)
                .exclude(pk__in=seen)
                .order_by("routing_due_at")
                .values_list("pk", flat=True)
                .first()
            )
            if lead_id is None:
                break
            seen.append(lead_id)  # a lead its rule sends back to wait is not taken twice a pass
            done += services.lead_route(lead_id=lead_id, now=now)
    return done


def _locked(lead_id: int, **due) -> tuple[Lead, LeadRouting] | None:
    lead = (
        Lead.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("store", "customer")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        return None
    routing = LeadRouting.objects.select_for_update(of=("self",)).select_related("rule__store").filter(lead=lead, **due).first()
    return (lead, routing) if routing is not None else None


def _due_ids(column: str, now: dt.datetime) -> list[int]:
    return list(
        LeadRouting.objects.filter(**{f"{column}__lte": now}).order_by(column).values_list("lead_id", flat=True)[:BATCH]
    )


def claims_due(*, now: dt.datetime) -> int:
    """Claim pool leads nobody claimed within the rule's limit go round robin."""
    done = 0
    for lead_id in _due_ids("claim_due_at", now):
        with transaction.atomic():
            found = _locked(lead_id, claim_due_at__lte=now)
            if found is None:
                continue
            lead, routing = found
            if lead.owner_id is not None or not lead.in_claim_pool or not lead.is_open or routing.rule is None:
                routing.claim_due_at = None
                routing.save(update_fields=["claim_due_at"])
                continue
            ctx = pools.context(routing.rule, now=now, lock=True)
            services._apply(lead, routing, routing.rule, claim_pool.on_deadline(ctx), now=now, by=None)
            done += 1
    return done


def _owner_attempted(lead: Lead, routing: LeadRouting):
    since = routing.assigned_at or lead.received_at
    return (
        ContactEvent.objects.filter(
            is_attempt=True, superseded_by__isnull=True, customer_id=lead.customer_id, staff_id=lead.owner_id,
            occurred_at__gte=since,
        )
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def warnings_due(*, now: dt.datetime) -> int:
    """A few minutes before the reassignment deadline, the owner is warned (once)."""
    done = 0
    for lead_id in _due_ids("warn_at", now):
        with transaction.atomic():
            found = _locked(lead_id, warn_at__lte=now)
            if found is None:
                continue
            lead, routing = found
            routing.warn_at = None
            routing.save(update_fields=["warn_at"])
            if lead.owner_id is None or not lead.is_open or routing.response_due_at is None \
                    or routing.first_two_way_at is not None or _owner_attempted(lead, routing):
                continue
            left = max(1, round((routing.response_due_at - now).total_seconds() / 60))
            services.notify(
                staff_id=lead.owner_id, store=lead.store, lead=lead, kind=NotificationKind.WARNING,
                text=f"{lead.customer}: make a first attempt now; the lead moves on in about {left} business minute{'s' if left != 1 else ''}.",
                sms=lead.store.notify_owner_by_sms,
            )
            done += 1
    return done


def responses_due(*, now: dt.datetime) -> int:
    """Reassignment: an owner who made no first outbound attempt by the deadline loses the lead."""
    done = 0
    for lead_id in _due_ids("response_due_at", now):
        with transaction.atomic():
            found = _locked(lead_id, response_due_at__lte=now)
            if found is None:
                continue
            lead, routing = found
            attempted = _owner_attempted(lead, routing) if lead.owner_id else None
            rule = routing.rule
            # Contact stops the clock: a customer someone talked to or met is never moved on.
            if lead.owner_id is None or not lead.is_open or attempted is not None or rule is None \
                    or rule.strategy != Strategy.ROUND_ROBIN_REASSIGN or routing.first_two_way_at is not None:
                routing.response_due_at = routing.warn_at = None
                if attempted is not None and routing.first_attempt_at is None:
                    routing.first_attempt_at = attempted
                routing.save(update_fields=["response_due_at", "warn_at", "first_attempt_at"])
                continue
            held = set(
                LeadAssignment.objects.filter(lead=lead, to_staff__isnull=False).values_list("to_staff_id", flat=True)
            )
            ctx = pools.context(rule, now=now, exclude=held | {lead.owner_id}, moves=routing.moves, lock=True)
            decision = reassign.on_deadline(ctx, owner_name=lead.owner.display_name if lead.owner else "The owner")
            if decision.state == RoutingState.MANAGER:
                decision.owner_id = None
            services._apply(lead, routing, rule, decision, now=now, by=None)
            done += 1
    return done


def _short_when(value: dt.datetime, lead: Lead) -> str:
    return f"{value.astimezone(lead.store.tz):%a %-I:%M %p}"


LAPSE_GOES = {OnCoverageLapse.POOL: "goes back to the claim pool", OnCoverageLapse.NEXT_IN_LINE: "goes to the next in line"}


def lapse_warnings_due(*, now: dt.datetime) -> int:
    """The rule's lapse_warn_hours before the owner's coverage on an open lead lapses, they are
    told (once; a bell notification), with coverage judged again under the lock."""
    done = 0
    for lead_id in _due_ids("lapse_warn_at", now):
        with transaction.atomic():
            found = _locked(lead_id, lapse_warn_at__lte=now)
            if found is None:
                continue
            lead, routing = found
            routing.lapse_warn_at = None
            routing.save(update_fields=["lapse_warn_at"])
            rule = routing.rule
            if lead.owner_id is None or not lead.is_open or rule is None or rule.on_coverage_lapse == OnCoverageLapse.KEEP:
                continue
            judged = coverage_port.owner_coverage(lead, now)
            if judged is None or not judged.covered or judged.covered_until is None:
                continue
            if judged.covered_until - dt.timedelta(hours=rule.lapse_warn_hours) > now:
                # Contact since (or a changed policy) moved the end: warn later, not now.
                services.coverage_lapse_refresh(lead, routing, now=now)
                continue
            services.notify(
                staff_id=lead.owner_id, store=lead.store, lead=lead, kind=NotificationKind.COVERAGE,
                text=f"Your coverage on {lead.customer} ends {_short_when(judged.covered_until, lead)} "
                     f"under {judged.policy_label}: make two-way contact before then, or the lead "
                     f"{LAPSE_GOES[rule.on_coverage_lapse]}.",
                sms=lead.store.notify_owner_by_sms,
            )
            done += 1
    return done


def coverage_lapses_due(*, now: dt.datetime) -> int:
    """An open lead whose owner let coverage lapse goes where its rule says (the claim pool or
    the next in line), with the reason in its history. Coverage is judged again under the lock:
    contact made since (or a changed policy) moves the deadline instead."""
    done = 0
    for lead_id in _due_ids("coverage_lapse_at", now):
        with transaction.atomic():
            found = _locked(lead_id, coverage_lapse_at__lte=now)
            if found is None:
                continue
            lead, routing = found
            rule = routing.rule
            judged = None
            if lead.owner_id is not None and lead.is_open and rule is not None \
                    and rule.on_coverage_lapse != OnCoverageLapse.KEEP:
                judged = coverage_port.owner_coverage(lead, now)
            if judged is None or judged.covered_until is None or judged.covered:
                # Nothing to act on, or coverage was extended: recompute (or clear) the deadline.
                routing.coverage_lapse_at = routing.lapse_warn_at = None
                routing.save(update_fields=["coverage_lapse_at", "lapse_warn_at"])
                if judged is not None and judged.covered_until is not None:
                    services.coverage_lapse_refresh(lead, routing, now=now)
                continue
            reason = judged.lapse_reason
            if rule.on_coverage_lapse == OnCoverageLapse.POOL:
                decision = Decision(state=RoutingState.POOL, reason=f"{reason}; back to the claim pool.",
                                    claim_minutes=rule.claim_minutes)
            else:
                ctx = pools.context(rule, now=now, exclude={lead.owner_id}, lock=True)
                decision = round_robin.route(ctx)
                if decision.state != RoutingState.ASSIGNED:
                    decision = Decision(state=RoutingState.MANAGER,
                                        reason=f"{reason}; nobody else in the pool can take it now, so it goes to the manager.")
                else:
                    decision.reason = f"{reason}; {decision.reason[0].lower()}{decision.reason[1:]}"
                    decision.response_minutes = ctx.response_minutes if rule.strategy == Strategy.ROUND_ROBIN_REASSIGN else None
                decision.moved = decision.owner_id is not None
            decision.lost_text = f"your coverage lapsed ({judged.last_contact})"
            services._apply(lead, routing, rule, decision, now=now, by=None)
            done += 1
    return done


def texts_due(*, now: dt.datetime) -> int:
    """Texts to staff whose Celery message was lost: sent once by whoever locks them first."""
    due = list(
        Notification.objects.filter(sms_due_at__lte=now - SMS_GRACE).order_by("sms_due_at").values_list("pk", flat=True)[:BATCH]
    )
    return sum(1 for pk in due if services.notification_sms_send(notification_id=pk))


__all__ = ["sweep", "sweep_exclusive", "route_due", "claims_due", "warnings_due", "responses_due", "lapse_warnings_due",
           "coverage_lapses_due", "texts_due", "OPEN_STATUSES"]
