"""Calls always settle: a call whose status callbacks never arrived is looked up at Twilio.

Every Call gets a deadline when it is created (`Call.reconcile_due_at`, a few minutes later:
settings.CALL_RECONCILE_AFTER_SECONDS). A beat task (`tasks.calls_reconcile_task`) runs
`calls_reconcile`, which takes each unsettled call past its deadline and:

1. claims it with a conditional UPDATE that moves the deadline a lease ahead, so a second
   sweep leaves it alone while this one asks Twilio (no row lock is held over the network);
2. asks Twilio's REST API through the SDK for the call (`calls(sid).fetch()`) and its child
   legs (`calls.list(parent_call_sid=sid)`: the customer's leg of a click-to-call, the
   forwarded legs of an inbound call);
3. locks the Call row as the callbacks do, re-checks that it is still unsettled, moves its
   statuses forward only (`call_verdicts.status_advance`) and settles it through the callbacks' own
   path (`calls._try_settle_outbound` / `calls._settle_inbound`: one event superseding the
   attempt), saying the outcome was confirmed by a lookup.

If Twilio says the call is still on, the deadline moves later (half the call's age, between
one and thirty minutes; past Twilio's longest call time it is no longer believed). If Twilio cannot answer (an error, a 404), the lookup is retried with
backoff; after MAX_FAILURES failures the call is settled as not confirmed: no answer if the
customer's leg was seen, else failed (the customer was not shown to be dialled, so it is not
a contact attempt), with a body saying so. A settled call is never looked at again; a
callback that arrives while the sweep asks finds the call settled or settles it first, and
the sweep then changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import requests
from django.db import transaction
from django.utils import timezone
from twilio.base.exceptions import TwilioException

from leads.models import Direction, Outcome
from telephony import call_verdicts, calls
from telephony import twilio as tw
from telephony.models import TERMINAL_CALL_STATUSES, Call, CallStatus

log = logging.getLogger("telephony.reconcile")

BATCH = 50  # calls per sweep: each is two REST requests
LEASE = dt.timedelta(minutes=2)  # how long a claimed call is left to the sweep that claimed it
MAX_FAILURES = 5  # failed lookups (backoff 1, 2, 4, 8 min) before settling as not confirmed
CHILDREN_LIMIT = 20
# Twilio ends every call by its time limit (4 h by default, 24 h at most): a call it still
# calls "in progress" after that is not believed, and settles as not confirmed.
GIVE_UP_AFTER = dt.timedelta(hours=24)

CONFIRMED_NOTE = "(Confirmed with the phone system: its status updates did not arrive.)"
SETTLED, WAITING, RETRYING, UNCONFIRMED, NOT_DUE = "settled", "waiting", "retrying", "unconfirmed", "not-due"


# --------------------------------------------------------------------------------------
# Pure rules
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leg:
    """Twilio's word on one leg of a call (a Call resource)."""

    sid: str
    status: str
    duration: int | None = None
    answered_by: str = ""

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL_CALL_STATUSES

    @property
    def answered(self) -> bool:
        return self.status == CallStatus.IN_PROGRESS or (self.status == CallStatus.COMPLETED and (self.duration or 0) > 0)


@dataclass(frozen=True)
class TwilioAnswer:
    parent: Leg
    children: tuple[Leg, ...] = ()


def still_on_backoff(age: dt.timedelta) -> dt.timedelta:
    """When to look again at a call Twilio says is still on: half its age, 1 to 30 minutes."""
    return min(max(age / 2, dt.timedelta(minutes=1)), dt.timedelta(minutes=30))


def failure_backoff(failures: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(2 ** max(failures - 1, 0), 30))


def customer_leg(call: Call, children: tuple[Leg, ...]) -> Leg | None:
    """The child leg that decides the outcome: the one the callbacks named, else for a
    click-to-call its only <Dial>ed leg, for an inbound call the forwarded leg that answered."""
    if call.child_call_sid:
        return next((leg for leg in children if leg.sid == call.child_call_sid), None)
    if call.direction == Direction.OUTBOUND:
        answered = [leg for leg in children if leg.answered]
        return (answered or list(children) or [None])[0]
    return next((leg for leg in children if leg.answered), None)


def unconfirmed_verdict(call: Call) -> call_verdicts.Verdict:
    """How a call settles when Twilio never told us how it ended."""
    if call.direction == Direction.INBOUND:
        return call_verdicts.Verdict(Outcome.NO_ANSWER, "Missed? The phone system never confirmed how this call ended. "
                                                        "Call back.")
    if call.customer_leg_status:
        return call_verdicts.Verdict(Outcome.NO_ANSWER, "The outcome could not be confirmed: the phone system never "
                                                        "reported how the call to the customer ended. Counted as not answered.")
    return call_verdicts.Verdict(Outcome.FAILED, "The outcome could not be confirmed: nothing shows the customer was "
                                                 "dialled, so it is not counted as a call to the customer.")


# --------------------------------------------------------------------------------------
# Twilio (network; no transaction open)
# --------------------------------------------------------------------------------------


def _seconds(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _leg(resource) -> Leg:
    return Leg(sid=resource.sid, status=str(resource.status or ""), duration=_seconds(resource.duration),
               answered_by=str(resource.answered_by or ""))


def twilio_answer(call_sid: str) -> TwilioAnswer:
    client = tw.client()
    parent = client.calls(call_sid).fetch()
    children = client.calls.list(parent_call_sid=call_sid, limit=CHILDREN_LIMIT)
    return TwilioAnswer(parent=_leg(parent), children=tuple(_leg(child) for child in children))


# --------------------------------------------------------------------------------------
# Writes (the caller holds the Call row lock)
# --------------------------------------------------------------------------------------


def _apply(call: Call, answer: TwilioAnswer) -> None:
    """Move the call's statuses forward to Twilio's and settle it if that decides it."""
    call.status = call_verdicts.status_advance(call.status, answer.parent.status)
    leg = customer_leg(call, answer.children)
    if call.direction == Direction.OUTBOUND:
        if leg is not None:
            call.child_call_sid = call.child_call_sid or leg.sid
            call.customer_leg_status = call_verdicts.status_advance(call.customer_leg_status, leg.status)
            if leg.status == CallStatus.COMPLETED and leg.duration is not None and call.talk_seconds is None:
                call.talk_seconds = leg.duration
            if leg.answered_by and call.answered_by in ("", "unknown"):
                call.answered_by = leg.answered_by
        calls._try_settle_outbound(call, note=CONFIRMED_NOTE)
        if call.settled_at is None and answer.parent.ended and leg is None:
            if call.child_call_sid or call.customer_leg_status:
                # A callback named the customer's leg, but Twilio does not list it.
                _settle_unconfirmed(call)
            else:
                # The agent's leg ended without ever <Dial>ing the customer (hung up first).
                calls._settle(call, call_verdicts.Verdict(
                    Outcome.FAILED, f"Your phone ({call_verdicts.national(call.agent_number)}) hung up before the "
                                    "customer was dialled, so the customer was not called."), note=CONFIRMED_NOTE)
        return
    if not answer.parent.ended:
        return
    if leg is not None and leg.ended:
        call.child_call_sid = call.child_call_sid or leg.sid
        calls._settle_inbound(call, dial_status=CallStatus.COMPLETED, talk_seconds=leg.duration, note=CONFIRMED_NOTE)
    elif leg is None:
        missed = next((child.status for child in answer.children if child.ended), CallStatus.NO_ANSWER)
        calls._settle_inbound(call, dial_status=missed, talk_seconds=None, note=CONFIRMED_NOTE)


def _settle_unconfirmed(call: Call) -> None:
    verdict = unconfirmed_verdict(call)
    if call.direction == Direction.INBOUND:
        calls._settle_inbound(call, dial_status="", talk_seconds=None, verdict=verdict)
    else:
        calls._settle(call, verdict)


# --------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------


def calls_reconcile_due(*, now: dt.datetime, limit: int = BATCH) -> list[int]:
    """Unsettled calls past their deadline, oldest deadline first (the partial index)."""
    return list(
        Call.objects.filter(settled_at__isnull=True, reconcile_due_at__lte=now)
        .order_by("reconcile_due_at")
        .values_list("pk", flat=True)[:limit]
    )


def call_reconcile(*, call_id: int, now: dt.datetime) -> str:
    """Ask Twilio how one overdue call ended and settle it; or move its deadline. Returns what
    happened (SETTLED, WAITING, RETRYING, UNCONFIRMED, NOT_DUE)."""
    claimed = Call.objects.filter(pk=call_id, settled_at__isnull=True, reconcile_due_at__lte=now).update(
        reconcile_due_at=now + LEASE
    )
    if not claimed:
        return NOT_DUE
    call_sid = Call.objects.values_list("call_sid", flat=True).get(pk=call_id)
    answer, error = None, None
    try:
        answer = twilio_answer(call_sid)
    except (TwilioException, requests.RequestException, OSError) as exc:
        error = exc
    fields = ["status", "child_call_sid", "customer_leg_status", "talk_seconds", "answered_by", "settled_at",
              "reconcile_due_at", "reconcile_failures"]
    with transaction.atomic():
        call = calls._locked_call(pk=call_id, settled_at__isnull=True)
        if call is None:  # a callback settled it meanwhile
            return NOT_DUE
        if answer is not None:
            call.reconcile_failures = 0
            _apply(call, answer)
            if call.settled_at is not None:
                outcome = SETTLED
            elif now - call.created_at >= GIVE_UP_AFTER:
                log.error("call %s: Twilio still says %s after %s; settled as not confirmed", call_sid,
                          call.status, now - call.created_at)
                _settle_unconfirmed(call)
                outcome = UNCONFIRMED
            else:
                call.reconcile_due_at = now + still_on_backoff(now - call.created_at)
                outcome = WAITING
                log.info("call %s still on at Twilio (%s / %s); next look at %s", call_sid, call.status,
                         call.customer_leg_status or "-", call.reconcile_due_at)
        else:
            call.reconcile_failures += 1
            if call.reconcile_failures >= MAX_FAILURES:
                log.error("call %s: Twilio did not answer %s lookups (%s); settled as not confirmed",
                          call_sid, call.reconcile_failures, error)
                _settle_unconfirmed(call)
                outcome = UNCONFIRMED
            else:
                call.reconcile_due_at = now + failure_backoff(call.reconcile_failures)
                log.warning("call %s: Twilio lookup failed (%s); retry at %s", call_sid, error, call.reconcile_due_at)
                outcome = RETRYING
        call.save(update_fields=fields)
    return outcome


def calls_reconcile(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The beat sweep: every overdue unsettled call, each in its own transaction."""
    now = now or timezone.now()
    done: dict[str, int] = {}
    for call_id in calls_reconcile_due(now=now):
        outcome = call_reconcile(call_id=call_id, now=now)
        done[outcome] = done.get(outcome, 0) + 1
    return done
