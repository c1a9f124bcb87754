"""Calls through dealer numbers: the pure rules. How a call ended, as the event that settles it
will say it (`Verdict`, `outbound_verdict`, `inbound_verdict`), what Twilio's AnsweredBy means,
the order Twilio's call statuses move in, and the wording and timing helpers the writes in
telephony.calls use (durations, phone numbers, the voicemail script, backoff).

Values in, values out: no model, no query, no Twilio SDK. The statuses and outcomes are the
plain strings telephony.models.CallStatus and leads.models.Outcome store
(tests/telephony/test_call_verdicts.py holds them to the same values). Two-way contact is
leads.contact's rule, the one the coverage engine and the metrics read; the verdicts use it
to word the timeline.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, format_number

from leads import contact


class TwilioStatus:
    """Twilio's call statuses (the values of telephony.models.CallStatus)."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"


class CallOutcome:
    """The outcomes a call's verdict gives (values of leads.models.Outcome)."""

    CONNECTED = "connected"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"


VERIFIED = "verified"  # leads.models.EvidenceLevel.VERIFIED: a recorded call's talk time is measured
TERMINAL_STATUSES = frozenset({TwilioStatus.COMPLETED, TwilioStatus.BUSY, TwilioStatus.NO_ANSWER,
                               TwilioStatus.FAILED, TwilioStatus.CANCELED})
MACHINE_ANSWERS = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"})
AGENT_LEG_FAILURES = {TwilioStatus.NO_ANSWER, TwilioStatus.BUSY, TwilioStatus.FAILED, TwilioStatus.CANCELED}
_PROGRESS = {TwilioStatus.QUEUED: 0, TwilioStatus.INITIATED: 1, TwilioStatus.RINGING: 2, TwilioStatus.IN_PROGRESS: 3}


def person_answered(answered_by: str) -> bool | None:
    """Twilio's AnsweredBy -> True (a person), False (a machine or fax), None (no verdict)."""
    if answered_by == "human":
        return True
    if answered_by in MACHINE_ANSWERS or answered_by.startswith("machine"):
        return False
    return None


def _call_is_two_way(*, direction: str, answered_by_person: bool | None, talk_seconds: int | None,
                     min_talk_seconds: int) -> bool:
    return contact.is_two_way(
        channel=contact.CALL, direction=direction, outcome=contact.CONNECTED, evidence_level=VERIFIED,
        talk_seconds=talk_seconds, answered_by_person=answered_by_person, min_talk_seconds=min_talk_seconds,
    )


def status_advance(current: str, new: str) -> str:
    """The status to keep when `new` arrives: a terminal status is final, otherwise statuses
    only move forward (a late 'ringing' never undoes 'in-progress' or 'completed')."""
    if current in TERMINAL_STATUSES:
        return current
    if new in TERMINAL_STATUSES:
        return new
    return new if _PROGRESS.get(new, -1) > _PROGRESS.get(current, -1) else current


def duration_text(seconds: int | None) -> str:
    if seconds is None:
        return "an unknown time"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


@dataclass(frozen=True)
class Verdict:
    """How a call ended, as the settling contact event will say it."""

    outcome: str
    body: str
    talk_seconds: int | None = None
    answered_by_person: bool | None = None


def outbound_verdict(
    *,
    agent_leg_status: str,
    customer_leg_status: str,
    answered_by: str,
    talk_seconds: int | None,
    min_talk_seconds: int,
    voicemail_dropped: bool,
    agent_number: str,
) -> Verdict | None:
    """The outcome of a click-to-call, or None while it is not known yet."""
    if voicemail_dropped:
        return Verdict(CallOutcome.VOICEMAIL, "Left the store's voicemail.", talk_seconds, False)
    leg = customer_leg_status
    if leg == TwilioStatus.COMPLETED:
        person = person_answered(answered_by)
        if person is False:
            return Verdict(
                CallOutcome.VOICEMAIL,
                f"Reached voicemail (answering machine detected), {duration_text(talk_seconds)}.",
                talk_seconds, False,
            )
        talk = duration_text(talk_seconds)
        if _call_is_two_way(direction=contact.OUTBOUND, answered_by_person=person, talk_seconds=talk_seconds,
                            min_talk_seconds=min_talk_seconds):
            body = f"Connected {talk}, answered by a person: two-way contact."
        elif person is None:
            body = f"Connected {talk}; machine detection gave no verdict, so it does not count as two-way."
        else:
            body = f"Connected {talk}: under the store's {min_talk_seconds} s minimum, so not two-way."
        return Verdict(CallOutcome.CONNECTED, body, talk_seconds, person)
    if leg == TwilioStatus.NO_ANSWER:
        return Verdict(CallOutcome.NO_ANSWER, "The customer did not answer.")
    if leg == TwilioStatus.BUSY:
        return Verdict(CallOutcome.BUSY, "The customer's line was busy.")
    if leg == TwilioStatus.FAILED:
        return Verdict(CallOutcome.FAILED, "The call to the customer failed (the number could not be reached).")
    if leg == TwilioStatus.CANCELED:
        return Verdict(CallOutcome.NO_ANSWER, "Hung up before the customer answered.")
    if agent_leg_status in AGENT_LEG_FAILURES:
        reason = {"no-answer": "did not answer", "busy": "was busy", "failed": "could not be reached",
                  "canceled": "was not rung (canceled)"}[agent_leg_status]
        return Verdict(CallOutcome.FAILED, f"Your phone ({agent_number}) {reason}, so the customer was not called.")
    return None


def inbound_verdict(*, dial_status: str, talk_seconds: int | None, min_talk_seconds: int, rang: str) -> Verdict:
    """The outcome of an inbound call from how its forwarding <Dial> ended ('' = nobody rang)."""
    if dial_status in (TwilioStatus.COMPLETED, "answered"):
        talk = duration_text(talk_seconds)
        if _call_is_two_way(direction=contact.INBOUND, answered_by_person=True, talk_seconds=talk_seconds,
                            min_talk_seconds=min_talk_seconds):
            body = f"Answered by {rang}, talked {talk}: two-way contact."
        else:
            body = f"Answered by {rang}, talked {talk}: under the store's {min_talk_seconds} s minimum."
        return Verdict(CallOutcome.CONNECTED, body, talk_seconds, True)
    if not dial_status:
        return Verdict(CallOutcome.NO_ANSWER, "Missed: nobody was available to take the call. Call back.")
    outcome = {TwilioStatus.BUSY: CallOutcome.BUSY, TwilioStatus.FAILED: CallOutcome.FAILED}.get(
        dial_status, CallOutcome.NO_ANSWER
    )
    return Verdict(outcome, f"Missed: {rang} did not answer ({dial_status}). Call back.")


def voicemail_text(script: str, values: dict[str, str]) -> str:
    """The store's script with its {placeholders} filled. Only the known names are replaced
    (str.format on an admin-edited string could reach attributes of the values)."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), script)


def national(number: phonenumbers.PhoneNumber | str | None) -> str:
    """'(312) 555-0151' for a +1 number; whatever was stored if it does not parse."""
    if not number:
        return ""
    try:
        parsed = number if isinstance(number, phonenumbers.PhoneNumber) else phonenumbers.parse(str(number), None)
    except phonenumbers.NumberParseException:
        return str(number)
    return format_number(parsed, PhoneNumberFormat.NATIONAL)


def fetch_backoff(attempts: int) -> dt.timedelta:
    """How long a failed recording download waits before the next attempt: 1, 2, 4, ... 60 min."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))
