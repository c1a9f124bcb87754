"""The sandbox's drivers, what its Celery tasks run (telephony.tasks): a text the app sent
(its status callbacks), a call the app placed (played out by the TwiML interpreter), and
"play the customer": an inbound text or call to a dealer number. Each returns the `Run` of
the requests it sent, and adds a line to the store's run log (the sandbox page)."""

from __future__ import annotations

import datetime as dt
import time

from defusedxml import ElementTree
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from telephony import twilio as tw
from telephony.sandbox.outcomes import PACE, Pace, outcome_for
from telephony.sandbox.state import (
    API_VERSION,
    _rfc2822,
    _run_log_add,
    _store_id_of,
    new_sid,
    opt_out_set,
    resource_update,
)
from telephony.sandbox.twiml import CallSimulation
from telephony.sandbox.webhooks import INBOUND_SMS_PATH, Run, Webhooks

OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
OPT_IN_KEYWORDS = {"START", "YES", "UNSTOP"}


# ---- texts ----------------------------------------------------------------------------


def message_drive(message_sid: str, form: dict, pace: Pace | None = None) -> Run:
    """A text we were asked to send: its status callbacks, sent then delivered/undelivered."""
    pace = pace or PACE
    run = Run("text", message_sid)
    hooks = Webhooks(run)
    to, from_ = str(form.get("To", "")), str(form.get("From", ""))
    behaviour = outcome_for(to)
    callback = str(form.get("StatusCallback", ""))
    base = {"AccountSid": tw.account_sid(), "ApiVersion": API_VERSION, "From": from_, "To": to,
            "MessageSid": message_sid, "SmsSid": message_sid}
    if form.get("MessagingServiceSid"):
        base["MessagingServiceSid"] = str(form["MessagingServiceSid"])
    steps: list[tuple[str, dict[str, str]]] = [("sent", {})]
    if behaviour.message_status == "delivered":
        steps.append(("delivered", {"RawDlrDoneDate": timezone.now().astimezone(dt.UTC).strftime("%y%m%d%H%M")}))
    else:
        steps.append((behaviour.message_status, {"ErrorCode": behaviour.message_error}))
    time.sleep(pace.first_callback)
    for status, extra in steps:
        changes: dict[str, object] = {"status": status}
        if status == "sent":
            changes["date_sent"] = _rfc2822()
        if extra.get("ErrorCode"):
            changes.update(error_code=int(extra["ErrorCode"]), error_message="Unreachable destination handset")
        resource_update(message_sid, **changes)
        if callback:
            hooks.send("message-status", callback, {**base, "MessageStatus": status, "SmsStatus": status, **extra})
        time.sleep(pace.step)
    run.summary = f"text to {to}: {steps[-1][0]}"
    _run_log_add(_store_id_of(from_), run.as_log_entry())
    return run


def customer_texts(from_number: str, to_number: str, body: str, pace: Pace | None = None) -> Run:
    """The customer at from_number texts the dealer number to_number: the number's SMS webhook."""
    sid = new_sid("SM")
    run = Run("inbound-text", sid)
    params = {
        "AccountSid": tw.account_sid(), "ApiVersion": API_VERSION, "MessageSid": sid, "SmsMessageSid": sid,
        "SmsSid": sid, "From": from_number, "To": to_number, "Body": body, "NumMedia": "0", "NumSegments": "1",
        "SmsStatus": "received", "FromCountry": "US", "ToCountry": "US",
    }
    keyword = body.strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        opt_out_set(from_number, to_number, True)
        params["OptOutType"] = "STOP"
    elif keyword in OPT_IN_KEYWORDS:
        opt_out_set(from_number, to_number, False)
        params["OptOutType"] = "START"
    answer = Webhooks(run).send("sms-inbound", tw.public_url(INBOUND_SMS_PATH), params)
    replies = _message_replies(answer.text) if answer is not None and answer.ok else []
    run.summary = f"text from {from_number} to {to_number}: " + (
        f"the app answered {answer.status_code}" if answer is not None else "the app did not answer"
    ) + (f"; auto-reply: {' / '.join(replies)}" if replies else "")
    _run_log_add(_store_id_of(to_number), run.as_log_entry())
    return run


def _message_replies(twiml: str) -> list[str]:
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError:
        return []
    return [(m.findtext("Body") or m.text or "").strip() for m in root.iter("Message")]


# ---- calls ----------------------------------------------------------------------------


def call_drive(call_sid: str, form: dict, pace: Pace | None = None) -> Run:
    """Play out a call placed with the REST API (the sandbox_call_task)."""
    run = Run("call", call_sid)
    simulation = CallSimulation(run, pace or PACE)
    simulation.start_outbound(call_sid, form)
    run.summary = _call_summary(simulation, call_sid)
    _run_log_add(_store_id_of(str(form.get("From", "")), str(form.get("To", ""))), run.as_log_entry())
    return run


def voice_status_callback() -> str:
    """The status callback URL the sandbox configures on every dealer number (Twilio's
    "call status changes" of a phone number): the app's voice status webhook, if it has one."""
    try:
        return tw.public_url(reverse("telephony:voice_status"))
    except NoReverseMatch:
        return ""


def customer_calls(from_number: str, to_number: str, *, staff_answers: bool = True, talk_seconds: int | None = None,
                   pace: Pace | None = None) -> Run:
    """The customer at from_number calls the dealer number to_number."""
    sid = new_sid("CA")
    run = Run("inbound-call", sid)
    simulation = CallSimulation(run, pace or PACE, staff_answers=staff_answers, talk_seconds=talk_seconds)
    simulation.start_inbound(sid, from_number, to_number, voice_status_callback())
    run.summary = _call_summary(simulation, sid)
    _run_log_add(_store_id_of(to_number), run.as_log_entry())
    return run


def _call_summary(simulation: CallSimulation, sid: str) -> str:
    first = simulation.legs.get(sid)
    if first is None:
        return "no call"
    parts = [f"{first.direction} call {first.from_} -> {first.to}: {first.status}, {simulation.duration(first)} s"]
    for leg in simulation.legs.values():
        if leg.parent_sid:
            answered = f", answered by {leg.answered_by}" if leg.answered_by else ""
            parts.append(f"dialed {leg.to}: {leg.status}{answered}, {simulation.duration(leg)} s")
    if simulation.recordings:
        parts.append(f"{len(simulation.recordings)} recording(s)")
    return "; ".join(parts)
