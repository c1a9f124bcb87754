"""Calls through dealer numbers: the business rules, their queries and writes.

views_voice.py parses Twilio's requests and the lead page's posts and calls these functions;
tasks.py wraps the slow parts (fetching recordings) for Celery.

Click-to-call. `call_start` asks Twilio's REST API to ring the agent's desk (or cell) from a
dealer number; when the agent answers, Twilio fetches `outbound_twiml`, which <Dial>s the
customer from the same number, recording both channels, with answering-machine detection on
the customer's leg. The Call row and an "attempt" ContactEvent are written as soon as Twilio
accepts the call. Callbacks then update the Call and SETTLE it exactly once, by appending an
event that supersedes the attempt (contact events are append-only):

- the customer's leg decides: completed -> connected (talk time = that leg's duration) or,
  when machine detection said machine_*/fax, voicemail; no-answer, busy, failed; canceled
  (the agent hung up while it rang) -> no answer;
- the agent's own phone not answering (no-answer/busy/failed/canceled on the parent leg)
  settles the attempt as FAILED, saying the customer was not called: it is an attempt the
  system made, so it stays on the record, but it is not a contact attempt on the customer
  and metrics should not count it as a call made;
- a voicemail drop settles the call as voicemail at once ("Left the store's voicemail").

Callbacks may repeat and arrive in any order: each (sid, status) is stored once in
WebhookReceipt and a repeat changes nothing; statuses only move forward; every callback
locks the Call row, so two racing callbacks cannot both settle it. A machine-detection
verdict that arrives after the call was settled as connected with no verdict appends one
correcting event (the one case where a settled call gets a second event, because it is new
evidence).

Callbacks can also never come: every call has a deadline (Call.reconcile_due_at), and a beat
sweep (telephony.reconcile) asks Twilio's REST API how an overdue call ended and settles it
through the same functions. Past the deadline the lead page no longer shows the call as live.

Inbound calls to a dealer number: `call_inbound` matches the caller, creates a phone-up lead
for an unknown caller on a tracking number, and forwards the call (<Dial>, recorded) to the
lead owner's desk and cell when they are on shift, else to the store's main phone. The Dial's
action callback (or the answered leg's completion) settles it: connected, or missed, which
also creates one call-back Task for the owner.

Two-way contact: leads.contact's rule, the one the coverage engine and the metrics read; the
verdicts use it to word the timeline.

Three modules: the pure rules (how a call ended, the status order, the wordings) are in
telephony.call_verdicts, the TwiML documents and the callback URLs in telephony.call_twiml;
here are the queries and the writes, which decide with the one and answer with the other.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from leads.events import contact_event_record
from leads.models import (
    OPEN_STATUSES,
    Channel,
    ContactEvent,
    CustomerPhone,
    Direction,
    IntakeChannel,
    Lead,
    Outcome,
    SourceType,
    Task,
    TaskKind,
)
from leads.normalize import phone_to_e164
from leads.nudges import nudge
from leads.services import LeadData, customer_for_number, lead_create
from live import events as live
from org.models import Staff
from org.scoping import stores_for, viewer_for
from telephony import call_twiml
from telephony import twilio as tw
from telephony.call_verdicts import (
    Verdict,
    fetch_backoff,
    inbound_verdict,
    national,
    outbound_verdict,
    person_answered,
    status_advance,
    voicemail_text,
)
from telephony.models import TERMINAL_CALL_STATUSES, Call, CallStatus, DealerNumber, NumberPurpose, WebhookReceipt

log = logging.getLogger("telephony.calls")

AGENT_RING_SECONDS = 20  # the agent's own phone; short, so a missed ring fails fast
CALL_BACK_DUE_IN = dt.timedelta(minutes=10)
DOUBLE_CLICK_WINDOW = dt.timedelta(seconds=30)
RECENT_CALL_WINDOW = dt.timedelta(minutes=30)  # how long the lead page shows the last call
RECORDING_FORMAT = "mp3"  # Twilio serves RecordingUrl + ".mp3" or ".wav"; mp3 is ~10x smaller
RECORDING_CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}
# What the server says it sent decides the stored file's extension (and so the type playback
# serves): the sandbox answers ".mp3" with WAV.
RECORDING_EXTENSIONS = {"audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav",
                        "audio/wave": "wav", "audio/vnd.wave": "wav"}
RECORDING_FETCH_LEASE = dt.timedelta(minutes=10)
RECORDING_FETCH_MAX_ATTEMPTS = 8  # backoff 1, 2, 4, ... 60 min: about 3 hours in all


class CallError(Exception):
    """A call could not be started or changed; the message is for the agent."""


def reconcile_due(created_at: dt.datetime) -> dt.datetime:
    """When a new call is looked up at Twilio if its callbacks have not settled it by then."""
    return created_at + dt.timedelta(seconds=settings.CALL_RECONCILE_AFTER_SECONDS)


# --------------------------------------------------------------------------------------
# Selectors
# --------------------------------------------------------------------------------------


def call_saved(sender, instance: Call, **kwargs) -> None:
    """A call changed: its caller's live call panel and Today queue are told (in the same
    transaction, so a rolled-back webhook announces nothing)."""
    if instance.staff_id is not None:
        live.publish(store_id=instance.store_id, topic=live.CALL, staff_id=instance.staff_id, lead_id=instance.lead_id,
                     data={"call": instance.pk, "status": instance.status})


def dealer_number_for(staff: Staff) -> DealerNumber | None:
    """The number an agent calls from (and gives out as the callback number): their own agent
    line, else the store's main line."""
    numbers = DealerNumber.objects.filter(store_id=staff.store_id, is_active=True).filter(
        Q(purpose=NumberPurpose.AGENT, staff=staff) | Q(purpose=NumberPurpose.MAIN)
    )
    return min(numbers, key=lambda n: (n.purpose != NumberPurpose.AGENT, n.pk), default=None)


def agent_phone_for(staff: Staff) -> tuple[str, str] | None:
    """(E.164, 'desk'|'cell'): the phone click-to-call rings first. The desk phone when set:
    that is where an agent at the dealership sits."""
    if staff.desk_phone:
        return str(staff.desk_phone), "desk"
    if staff.cell_phone:
        return str(staff.cell_phone), "cell"
    return None


def is_on_shift(staff: Staff, at: dt.datetime) -> bool:
    """Working now: active, not toggled unavailable, not on time off, inside a shift (in the
    store's time zone)."""
    if not staff.is_active or not staff.available:
        return False
    local = timezone.localtime(at, staff.store.tz)
    if staff.time_off.filter(first_day__lte=local.date(), last_day__gte=local.date()).exists():
        return False
    return staff.shifts.filter(weekday=local.weekday(), starts__lte=local.time(), ends__gt=local.time()).exists()


def call_recent_for(*, staff: Staff, lead: Lead) -> Call | None:
    """The agent's latest click-to-call on this lead, if recent: what the lead page shows."""
    return (
        Call.objects.filter(staff=staff, lead=lead, direction=Direction.OUTBOUND,
                            created_at__gte=timezone.now() - RECENT_CALL_WINDOW)
        .select_related("customer")
        .order_by("-created_at")
        .first()
    )


def call_is_live(call: Call, *, now: dt.datetime | None = None) -> bool:
    """Still on the line as far as we know. A call past its reconcile deadline is not: its
    callbacks were lost, and it must not show as ringing (nor hide the Call button) until the
    sweep has asked Twilio; while Twilio says it is on, the sweep moves the deadline later."""
    if call.settled_at is not None or call.status in TERMINAL_CALL_STATUSES:
        return False
    return call.reconcile_due_at is None or call.reconcile_due_at > (now or timezone.now())


def can_drop_voicemail(call: Call) -> bool:
    return (
        call.direction == Direction.OUTBOUND
        and call.settled_at is None
        and call.voicemail_dropped_at is None
        and bool(call.child_call_sid)
        and person_answered(call.answered_by) is False
        and call.customer_leg_status not in TERMINAL_CALL_STATUSES
    )


def can_play_recording(user, call: Call) -> bool:
    """The call's staff member, their team's sales manager, and the director or admin of the
    store (a superuser too). Everyone else gets a 404 from the view."""
    viewer = viewer_for(user)
    if viewer.everything:
        return True
    if viewer.staff is None:
        return False
    if call.staff_id is not None and call.staff_id == viewer.staff.pk:
        return True
    if viewer.is_store_wide:
        return stores_for(user).filter(pk=call.store_id).exists()
    # The lead's owner and their manager too: a call answered on the main line while the owner
    # was off shift has no staff, but it is still their customer's call.
    owner_id = call.lead.owner_id if call.lead_id else None
    if owner_id == viewer.staff.pk:
        return True
    if viewer.is_manager:
        people = [pk for pk in (call.staff_id, owner_id) if pk is not None]
        return Staff.objects.filter(pk__in=people, team__manager=viewer.staff).exists()
    return False


def recording_content_type(call: Call) -> str:
    extension = call.recording_file.name.rsplit(".", 1)[-1].lower()
    return RECORDING_CONTENT_TYPES.get(extension, "application/octet-stream")


# --------------------------------------------------------------------------------------
# Writes shared by the callbacks
# --------------------------------------------------------------------------------------

UNKNOWN, DUPLICATE, RECORDED = "unknown", "duplicate", "recorded"


def _receipt_once(kind: str, sid: str, status: str, params: dict[str, str]) -> bool:
    """Store (kind, sid, status) once; False when it was stored before (a retried callback).
    Call inside the transaction doing the work, so a failure rolls the receipt back too."""
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(kind=kind, sid=sid, status=status[:32], params=params)
    except IntegrityError:
        log.info("repeated Twilio callback ignored: %s %s %s", kind, sid, status)
        return False
    return True


def _locked_call(**lookup) -> Call | None:
    # of=("self",): lock the call only, not its store (every call of the store shares it).
    return Call.objects.select_for_update(of=("self",)).filter(**lookup).select_related("store").first()


def call_current_event(call: Call) -> ContactEvent | None:
    """The call's current event: the attempt, or the settled outcome (nothing supersedes it)."""
    if call.customer_id is None:
        return None
    return (
        ContactEvent.objects.filter(customer_id=call.customer_id, call_sid=call.call_sid, superseded_by__isnull=True)
        .order_by("-id")
        .first()
    )


def _append_event(call: Call, verdict: Verdict, *, supersedes: ContactEvent | None, body: str | None = None) -> ContactEvent:
    return contact_event_record(
        store=call.store,
        customer_id=call.customer_id,
        lead_id=call.lead_id,
        staff_id=call.staff_id,
        channel=Channel.CALL,
        direction=call.direction,
        outcome=verdict.outcome,
        occurred_at=supersedes.occurred_at if supersedes else call.created_at,
        evidence_level=tw.evidence_level(),
        body=body or verdict.body,
        talk_seconds=verdict.talk_seconds,
        answered_by_person=verdict.answered_by_person,
        call_sid=call.call_sid,
        recording_sid=call.recording_sid,
        supersedes=supersedes,
    )


def _settle(call: Call, verdict: Verdict, *, note: str = "") -> None:
    """Settle once: the caller holds the row lock and saves `settled_at` with its fields.
    `note` is added to the event's wording (e.g. how the outcome was learnt)."""
    if call.settled_at is not None:
        return
    call.settled_at = timezone.now()
    if verdict.talk_seconds is not None and call.talk_seconds is None:
        call.talk_seconds = verdict.talk_seconds
    if call.customer_id is not None:
        _append_event(call, verdict, supersedes=call_current_event(call),
                      body=f"{verdict.body} {note}" if note else None)


def _try_settle_outbound(call: Call, *, note: str = "") -> None:
    verdict = outbound_verdict(
        agent_leg_status=call.status,
        customer_leg_status=call.customer_leg_status,
        answered_by=call.answered_by,
        talk_seconds=call.talk_seconds,
        min_talk_seconds=call.store.min_talk_seconds,
        voicemail_dropped=call.voicemail_dropped_at is not None,
        agent_number=national(call.agent_number),
    )
    if verdict is not None:
        _settle(call, verdict, note=note)


def _rang_label(call: Call) -> str:
    if call.staff_id is not None:
        return call.staff.display_name
    return "the store's main line"


def _settle_inbound(call: Call, *, dial_status: str, talk_seconds: int | None, note: str = "",
                    verdict: Verdict | None = None) -> None:
    if call.settled_at is not None:
        return
    verdict = verdict or inbound_verdict(
        dial_status=dial_status, talk_seconds=talk_seconds, min_talk_seconds=call.store.min_talk_seconds,
        rang=_rang_label(call),
    )
    _settle(call, verdict, note=note)
    if verdict.outcome != Outcome.CONNECTED:
        _call_back_task_create(call)


def _call_back_task_create(call: Call) -> None:
    """One open call-back task per customer and person: a customer who tries three times gets
    called back once. Runs inside the settling transaction, so a repeated callback (which
    finds the call settled) creates nothing."""
    if call.customer_id is None:
        return
    owner_id = call.lead.owner_id if call.lead_id and call.lead.owner_id else call.staff_id
    if Task.objects.filter(customer_id=call.customer_id, staff_id=owner_id, kind=TaskKind.CALL_BACK,
                           completed_at__isnull=True, canceled_at__isnull=True).exists():
        return
    Task.objects.create(
        store_id=call.store_id,
        customer_id=call.customer_id,
        lead_id=call.lead_id,
        staff_id=owner_id,
        kind=TaskKind.CALL_BACK,
        reason=f"Missed call from {national(call.customer_number) or 'the customer'} ({call.call_sid}).",
        due_at=timezone.now() + CALL_BACK_DUE_IN,
    )


# --------------------------------------------------------------------------------------
# Click-to-call
# --------------------------------------------------------------------------------------


def call_start(*, staff: Staff, lead: Lead, phone: CustomerPhone | None = None) -> Call:
    """Ring the agent's phone from a dealer number; when they answer, Twilio dials the customer.

    The REST request is made outside any transaction (a slow Twilio must not hold locks);
    the Call and its attempt event are written once Twilio has accepted the call and given
    its sid. Callbacks for a sid we have not stored yet are answered 200 and dropped: only
    'initiated' can come that early, and the attempt is written milliseconds later.
    """
    if staff.store_id != lead.store_id:
        raise CallError("That lead belongs to another store.")
    phones = list(lead.customer.phones.order_by("pk"))
    if phone is None:
        phone = phones[0] if phones else None
    elif phone.customer_id != lead.customer_id:
        raise CallError("That number is not this customer's.")
    if phone is None:
        raise CallError("The customer has no phone number on file.")
    dealer_number = dealer_number_for(staff)
    if dealer_number is None:
        raise CallError("The store has no dealer number to call from.")
    agent_phone = agent_phone_for(staff)
    if agent_phone is None:
        raise CallError("Add your desk or cell phone to your profile: the call rings it first.")
    recent = Call.objects.filter(staff=staff, lead=lead, settled_at__isnull=True,
                                 created_at__gte=timezone.now() - DOUBLE_CLICK_WINDOW)
    if recent.exclude(status__in=TERMINAL_CALL_STATUSES).exists():
        raise CallError("A call to this customer is already under way.")
    try:
        created = tw.client().calls.create(
            to=agent_phone[0],
            from_=str(dealer_number.number),
            url=call_twiml.callback_url("voice_outbound"),
            method="POST",
            status_callback=call_twiml.callback_url("voice_status"),
            status_callback_event=["initiated", "ringing", "answered", "completed"],
            status_callback_method="POST",
            timeout=AGENT_RING_SECONDS,
        )
    except (TwilioException, requests.RequestException, OSError) as exc:
        log.warning("Twilio refused click-to-call for staff %s lead %s: %s", staff.pk, lead.pk, exc)
        raise CallError("The phone system did not accept the call; try again in a moment.") from exc
    now = timezone.now()
    with transaction.atomic():
        call = Call.objects.create(
            store_id=lead.store_id,
            call_sid=created.sid,
            direction=Direction.OUTBOUND,
            staff=staff,
            customer_id=lead.customer_id,
            lead=lead,
            dealer_number=dealer_number,
            customer_number=phone.number,
            agent_number=agent_phone[0],
            status=status_advance(CallStatus.QUEUED, created.status or CallStatus.QUEUED),
            created_at=now,
            reconcile_due_at=reconcile_due(now),
        )
        contact_event_record(
            store=lead.store_id,
            customer_id=lead.customer_id,
            lead_id=lead.pk,
            staff_id=staff.pk,
            channel=Channel.CALL,
            direction=Direction.OUTBOUND,
            outcome=Outcome.ATTEMPT,
            occurred_at=now,
            evidence_level=tw.evidence_level(),
            body=f"Calling {national(phone.number)} from {national(dealer_number.number)} "
            f"(rings your {agent_phone[1]} first).",
            call_sid=created.sid,
        )
    return call


def outbound_twiml(*, call_sid: str) -> VoiceResponse:
    """What the agent's leg does once they answer: dial the customer from the dealer number,
    recording both channels, with machine detection on the customer's leg (call_twiml). The
    agent's leg is now in progress."""
    with transaction.atomic():
        call = _locked_call(call_sid=call_sid, direction=Direction.OUTBOUND)
        if call is None or not call.customer_number or call.dealer_number_id is None:
            log.warning("TwiML asked for an unknown click-to-call %s", call_sid)
            return call_twiml.say_and_hang_up("Sorry, this call could not be connected.")
        call.status = status_advance(call.status, CallStatus.IN_PROGRESS)
        call.save(update_fields=["status"])
        caller_id = str(call.dealer_number.number)
    return call_twiml.customer_dial(call_sid=call_sid, customer_number=str(call.customer_number), caller_id=caller_id)


def call_status_record(*, call_sid: str, status: str, params: dict[str, str]) -> str:
    """The parent leg's status callback: the agent's phone for click-to-call, the caller for
    an inbound call (when the number's status callback points here)."""
    with transaction.atomic():
        call = _locked_call(call_sid=call_sid)
        if call is None:
            log.info("status callback for unknown call %s (%s) ignored", call_sid, status)
            return UNKNOWN
        if not _receipt_once("call", call_sid, status, params):
            return DUPLICATE
        call.status = status_advance(call.status, status)
        if call.direction == Direction.OUTBOUND:
            _try_settle_outbound(call)
        elif status in TERMINAL_CALL_STATUSES and not call.child_call_sid:
            # The caller is gone and no forwarded leg was ever answered.
            _settle_inbound(call, dial_status=CallStatus.NO_ANSWER, talk_seconds=None)
        call.save(update_fields=["status", "settled_at", "talk_seconds"])
    return RECORDED


def call_leg_status_record(
    *, parent_sid: str, leg_sid: str, status: str, duration: int | None, answered_by: str, params: dict[str, str]
) -> str:
    """A <Dial>ed leg's status: the customer's for click-to-call, a forwarded staff phone's
    for an inbound call (desk and cell ring together; only the one answered counts)."""
    with transaction.atomic():
        call = _locked_call(call_sid=parent_sid) if parent_sid else _locked_call(child_call_sid=leg_sid)
        if call is None:
            log.info("leg status callback for unknown call %s / %s (%s) ignored", parent_sid, leg_sid, status)
            return UNKNOWN
        if not _receipt_once("call-leg", leg_sid, status, params):
            return DUPLICATE
        if call.direction == Direction.OUTBOUND:
            call.child_call_sid = call.child_call_sid or leg_sid
            call.customer_leg_status = status_advance(call.customer_leg_status, status)
            if status == CallStatus.COMPLETED and duration is not None and call.talk_seconds is None:
                call.talk_seconds = duration
            if answered_by and call.answered_by in ("", "unknown"):
                call.answered_by = answered_by
            _try_settle_outbound(call)
        else:
            answered = status == CallStatus.IN_PROGRESS or (status == CallStatus.COMPLETED and (duration or 0) > 0)
            if answered and not call.child_call_sid:
                call.child_call_sid = leg_sid
            if status == CallStatus.COMPLETED and leg_sid == call.child_call_sid and duration is not None:
                _settle_inbound(call, dial_status=CallStatus.COMPLETED, talk_seconds=duration)
        call.save(update_fields=["child_call_sid", "customer_leg_status", "talk_seconds", "answered_by", "settled_at"])
    return RECORDED


def call_amd_record(*, parent_sid: str, leg_sid: str, answered_by: str, params: dict[str, str]) -> str:
    """Answering-machine detection on the customer's leg: 'human', 'machine_*', 'fax', 'unknown'."""
    with transaction.atomic():
        call = _locked_call(call_sid=parent_sid) if parent_sid else _locked_call(child_call_sid=leg_sid)
        if call is None:
            log.info("AMD callback for unknown call %s / %s ignored", parent_sid, leg_sid)
            return UNKNOWN
        if not _receipt_once("call-amd", leg_sid, answered_by, params):
            return DUPLICATE
        if call.direction != Direction.OUTBOUND:
            return RECORDED
        call.child_call_sid = call.child_call_sid or leg_sid
        if call.answered_by in ("", "unknown"):
            call.answered_by = answered_by
        if call.settled_at is None:
            _try_settle_outbound(call)
        else:
            _amd_correction(call)
        call.save(update_fields=["child_call_sid", "answered_by", "settled_at", "talk_seconds"])
    return RECORDED


def _amd_correction(call: Call) -> None:
    """The call was settled as connected before machine detection reported: append the
    corrected outcome, superseding the settled event (the only second settlement)."""
    current = call_current_event(call)
    person = person_answered(call.answered_by)
    if current is None or current.outcome != Outcome.CONNECTED or current.answered_by_person is not None:
        return
    if person is None:
        return
    verdict = outbound_verdict(
        agent_leg_status=call.status, customer_leg_status=CallStatus.COMPLETED, answered_by=call.answered_by,
        talk_seconds=current.talk_seconds, min_talk_seconds=call.store.min_talk_seconds, voicemail_dropped=False,
        agent_number=national(call.agent_number),
    )
    _append_event(call, verdict, supersedes=current,
                  body=f"{verdict.body} (Corrected: machine detection reported after the call ended.)")


def call_dial_complete(
    *, call_sid: str, dial_sid: str, dial_status: str, dial_duration: int | None, params: dict[str, str]
) -> VoiceResponse:
    """The <Dial> ended (Twilio's action callback on the parent leg). Settles the call if the
    leg callbacks have not, and tells the parent leg what to do next."""
    status = CallStatus.COMPLETED if dial_status == "answered" else dial_status
    with transaction.atomic():
        call = _locked_call(call_sid=call_sid)
        if call is None:
            log.info("dial-complete for unknown call %s ignored", call_sid)
            return call_twiml.say_and_hang_up()
        if _receipt_once("call-dial", call_sid, status, params):
            if call.direction == Direction.OUTBOUND:
                if dial_sid:
                    call.child_call_sid = call.child_call_sid or dial_sid
                call.customer_leg_status = status_advance(call.customer_leg_status, status)
                if status == CallStatus.COMPLETED and dial_duration is not None and call.talk_seconds is None:
                    call.talk_seconds = dial_duration
                _try_settle_outbound(call)
            else:
                if dial_sid and status == CallStatus.COMPLETED:
                    call.child_call_sid = call.child_call_sid or dial_sid
                _settle_inbound(call, dial_status=status, talk_seconds=dial_duration)
            call.save(update_fields=["child_call_sid", "customer_leg_status", "talk_seconds", "settled_at"])
    return call_twiml.after_dial(outbound=call.direction == Direction.OUTBOUND, status=status,
                                 voicemail_dropped=call.voicemail_dropped_at is not None)


# --------------------------------------------------------------------------------------
# Inbound calls
# --------------------------------------------------------------------------------------


def _open_lead(customer_id: int) -> Lead | None:
    leads = Lead.objects.filter(customer_id=customer_id).select_related("owner__store", "owner__user")
    return (
        leads.filter(status__in=OPEN_STATUSES, duplicate_of__isnull=True).order_by("-received_at", "-id").first()
        or leads.order_by("-received_at", "-id").first()
    )


def _dealer_numbers(store_id: int) -> set[str]:
    return {str(n) for n in DealerNumber.objects.filter(store_id=store_id).values_list("number", flat=True)}


def _staff_phones(staff: Staff, ours: set[str]) -> list[str]:
    return list(dict.fromkeys(str(p) for p in (staff.desk_phone, staff.cell_phone) if p and str(p) not in ours))


def _forward_choice(staff: Staff | None, number: DealerNumber, now: dt.datetime) -> tuple[Staff | None, str]:
    """Whom an inbound call rings: the person (desk and cell together) when they are on shift,
    else the store's main phone. Never a dealer number: that would call ourselves.
    Returns (the person or None, the first number rung; '' when nobody can be rung)."""
    ours = _dealer_numbers(number.store_id)
    if staff is not None and is_on_shift(staff, now):
        phones = _staff_phones(staff, ours)
        if phones:
            return staff, phones[0]
    main = str(number.store.main_phone) if number.store.main_phone else ""
    return None, main if main not in ours else ""


def dial_targets(call: Call) -> list[str]:
    """The numbers an inbound call's <Dial> rings (recomputed for a retried webhook)."""
    if call.staff_id is not None:
        return _staff_phones(call.staff, _dealer_numbers(call.store_id))
    return [str(call.agent_number)] if call.agent_number else []


def call_inbound(*, call_sid: str, from_number: str, to_number: str, params: dict[str, str]) -> VoiceResponse:
    """A call to a dealer number: match the caller, make a phone-up lead for a new caller on a
    tracking number, forward and record. A retried webhook gets the same answer."""
    existing = Call.objects.filter(call_sid=call_sid).select_related("store").first()
    if existing is not None:
        return inbound_twiml(existing)
    number = DealerNumber.objects.filter(number=to_number, is_active=True).select_related("store", "staff__store").first()
    if number is None:
        log.warning("inbound call %s to %s, which is not an active dealer number", call_sid, to_number)
        return call_twiml.say_and_hang_up("Sorry, this number is not in service.")
    store = number.store
    try:
        caller = phone_to_e164(from_number)
    except ValidationError:
        caller = ""  # blocked or anonymous caller id: no customer to match or create
    now = timezone.now()
    try:
        with transaction.atomic():
            if not _receipt_once("call-inbound", call_sid, "inbound", params):
                raise IntegrityError("concurrent delivery of the same inbound call")
            customer_id, lead = None, None
            if caller:
                match = customer_for_number(store=store, number=caller)
                if match is not None:
                    customer_id = match.pk
                    lead = _open_lead(customer_id)
                elif number.purpose == NumberPurpose.TRACKING:
                    lead = _phone_up_lead_create(number=number, caller=caller, at=now)
                    customer_id = lead.customer_id
            person = lead.owner if lead is not None and lead.owner_id else None
            if person is None and number.purpose == NumberPurpose.AGENT:
                person = number.staff
            rung, first_number = _forward_choice(person, number, now)
            call = Call.objects.create(
                store=store,
                call_sid=call_sid,
                direction=Direction.INBOUND,
                staff=rung,
                customer_id=customer_id,
                lead=lead,
                dealer_number=number,
                customer_number=caller,
                agent_number=first_number,
                status=CallStatus.RINGING,
                created_at=now,
                reconcile_due_at=reconcile_due(now),
            )
            if customer_id is not None:
                if number.purpose == NumberPurpose.TRACKING and number.provider:
                    where = f"the {number.provider} tracking number"
                else:
                    where = f"{national(number.number)} ({number.get_purpose_display().lower()})"
                contact_event_record(
                    store=store, customer_id=customer_id, lead_id=lead.pk if lead else None,
                    staff_id=rung.pk if rung else None, channel=Channel.CALL,
                    direction=Direction.INBOUND, outcome=Outcome.ATTEMPT, occurred_at=now,
                    evidence_level=tw.evidence_level(), call_sid=call_sid,
                    body=f"Incoming call on {where}; ringing {_rang_label(call)}.",
                )
            if not first_number:
                _settle_inbound(call, dial_status="", talk_seconds=None)
                call.save(update_fields=["settled_at"])
    except IntegrityError:
        existing = Call.objects.filter(call_sid=call_sid).select_related("store").first()
        if existing is None:
            raise
        return inbound_twiml(existing)
    return inbound_twiml(call)


def _phone_up_lead_create(*, number: DealerNumber, caller: str, at: dt.datetime) -> Lead:
    data = LeadData(
        source_type=number.source_type or SourceType.PHONE_UP,
        intake_channel=IntakeChannel.PHONE,
        phones=[(caller, "mobile")],
        provider=number.provider,
        comments=f"Phone-up: called {national(number.number)}"
        + (f" ({number.provider})" if number.provider else "") + ".",
        received_at=at,
    )
    return lead_create(store=number.store, data=data).lead


def inbound_twiml(call: Call) -> VoiceResponse:
    """The answer to an inbound call: forward it to its dial targets, unless it is settled
    (then nobody is rung)."""
    forward_to = dial_targets(call)
    if call.settled_at is not None:
        forward_to = []
    return call_twiml.forward_dial(call_sid=call.call_sid, forward_to=forward_to)


# --------------------------------------------------------------------------------------
# Recordings
# --------------------------------------------------------------------------------------


def recording_url_allowed(url: str) -> bool:
    """We fetch recordings with the account's credentials, so only from Twilio (or, in the
    sandbox, from our own public URL): a RecordingUrl elsewhere would leak them."""
    parts = urlsplit(url)
    if tw.sandbox_answers_rest():
        base = urlsplit(tw.public_url(""))
        return (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
    host = parts.hostname or ""
    return parts.scheme == "https" and (host == "api.twilio.com" or host.endswith(".twilio.com"))


def call_recording_record(
    *, call_sid: str, recording_sid: str, recording_url: str, status: str, duration: int | None,
    params: dict[str, str],
) -> str:
    """The recording is ready at Twilio: remember where, and have a worker fetch the audio
    (a deadline column, so the sweeper retries whatever the first attempt missed)."""
    with transaction.atomic():
        call = _locked_call(call_sid=call_sid)
        if call is None:
            log.info("recording callback for unknown call %s (%s) ignored", call_sid, recording_sid)
            return UNKNOWN
        if not _receipt_once("recording", recording_sid, status, params):
            return DUPLICATE
        if status != "completed":
            log.warning("recording %s of call %s ended %s: no audio", recording_sid, call_sid, status)
            return RECORDED
        if call.recording_sid and call.recording_sid != recording_sid:
            log.warning("call %s has recording %s already; %s not kept", call_sid, call.recording_sid, recording_sid)
            return RECORDED
        call.recording_sid = recording_sid
        call.recording_url = recording_url
        call.recording_seconds = duration
        call.recording_fetch_due_at = timezone.now()
        call.save(update_fields=["recording_sid", "recording_url", "recording_seconds", "recording_fetch_due_at"])
        call_id = call.pk
        transaction.on_commit(lambda: _enqueue_fetch(call_id))
    return RECORDED


def _enqueue_fetch(call_id: int) -> None:
    """A nudge: if the broker is down the sweeper fetches it later."""
    from telephony.tasks import call_recording_fetch_task

    nudge(call_recording_fetch_task, call_id)


def call_recording_fetch(*, call_id: int) -> bool:
    """Download a call's recording into our storage. Returns True when stored.

    Claimed with a conditional UPDATE that moves the deadline a lease ahead, so a second
    task or the sweeper leaves it alone while this one downloads (no row lock is held over
    the network), and a worker that dies mid-download is retried when the lease runs out.
    """
    now = timezone.now()
    claimed = Call.objects.filter(pk=call_id, recording_fetch_due_at__lte=now).update(
        recording_fetch_due_at=now + RECORDING_FETCH_LEASE, recording_fetch_attempts=F("recording_fetch_attempts") + 1
    )
    if not claimed:
        return False
    call = Call.objects.get(pk=call_id)
    if not recording_url_allowed(call.recording_url):
        log.error("recording of call %s is at %s, not at Twilio: not fetched", call.call_sid, call.recording_url)
        Call.objects.filter(pk=call_id).update(recording_fetch_due_at=None)
        return False
    url = f"{call.recording_url}.{RECORDING_FORMAT}"
    try:
        with tempfile.TemporaryFile() as audio:
            with requests.get(url, auth=(tw.account_sid(), tw.auth_token()), timeout=(5, 60), stream=True) as resp:
                resp.raise_for_status()
                content_type = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
                extension = RECORDING_EXTENSIONS.get(content_type, RECORDING_FORMAT)
                for chunk in resp.iter_content(64 * 1024):
                    audio.write(chunk)
            if audio.tell() == 0:
                raise ValueError("empty recording")
            audio.seek(0)
            call.recording_file.save(f"{call.call_sid}.{extension}", File(audio), save=False)
    except (requests.RequestException, ValueError, OSError) as exc:
        attempts = call.recording_fetch_attempts
        if attempts >= RECORDING_FETCH_MAX_ATTEMPTS:
            log.error("giving up on the recording of call %s after %s attempts: %s", call.call_sid, attempts, exc)
            due = None
        else:
            due = timezone.now() + fetch_backoff(attempts)
            log.warning("recording of call %s not fetched (attempt %s): %s; retry at %s", call.call_sid, attempts, exc, due)
        Call.objects.filter(pk=call_id).update(recording_fetch_due_at=due)
        return False
    Call.objects.filter(pk=call_id).update(recording_file=call.recording_file.name, recording_fetch_due_at=None)
    return True


def call_recordings_due(*, limit: int = 200) -> list[int]:
    """The sweeper's list: calls whose recording fetch is due (a partial index serves it)."""
    return list(
        Call.objects.filter(recording_fetch_due_at__lte=timezone.now())
        .order_by("recording_fetch_due_at")
        .values_list("pk", flat=True)[:limit]
    )


# --------------------------------------------------------------------------------------
# Voicemail drop
# --------------------------------------------------------------------------------------


def voicemail_script_for(call: Call) -> str:
    staff = call.staff
    number = dealer_number_for(staff) if staff is not None else None
    return voicemail_text(
        call.store.voicemail_script,
        {
            "agent_name": staff.display_name if staff is not None else call.store.name,
            "store_name": call.store.name,
            "callback_number": national(number.number if number else call.store.main_phone),
            "customer_first_name": (call.customer.first_name if call.customer_id else "") or "there",
        },
    )


def call_voicemail_drop(*, call_id: int, staff: Staff) -> Call:
    """Replace the agent on a voicemail with the store's recorded message, then hang up.

    The drop is claimed (voicemail_dropped_at) and committed before Twilio is asked, so a
    double click updates the live call once and no row lock is held over the network; if
    Twilio refuses, the claim is released. Once Twilio accepts, the call settles as a
    voicemail: the appended event says "Left the store's voicemail"."""
    with transaction.atomic():
        call = _locked_call(pk=call_id)
        if call is None or call.staff_id != staff.pk:
            raise CallError("That is not your call.")
        if not can_drop_voicemail(call):
            if call.voicemail_dropped_at is not None:
                raise CallError("The voicemail is already playing.")
            raise CallError("The voicemail can be left only while the customer's voicemail is on the line.")
        call.voicemail_dropped_at = timezone.now()
        call.save(update_fields=["voicemail_dropped_at"])
    twiml = call_twiml.say_and_hang_up(voicemail_script_for(call))
    try:
        tw.client().calls(call.child_call_sid).update(twiml=str(twiml))
    except (TwilioException, requests.RequestException, OSError) as exc:
        Call.objects.filter(pk=call_id, settled_at__isnull=True).update(voicemail_dropped_at=None)
        log.warning("voicemail drop on call %s refused: %s", call.call_sid, exc)
        raise CallError("The phone system did not take the voicemail; the call may have ended.") from exc
    with transaction.atomic():
        call = _locked_call(pk=call_id)
        _try_settle_outbound(call)
        call.save(update_fields=["settled_at", "talk_seconds"])
    return call
