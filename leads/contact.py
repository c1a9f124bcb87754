"""What a contact event counts as: an attempt, a two-way contact, or neither. One rule, here.

Pure Python on purpose (no Django): the coverage engine judges with it, and the ContactEvent
model stores its answer in two generated columns (`is_attempt`, `is_two_way`, see
leads.models.TWO_WAY_SQL) so that every SQL aggregate (response times, the sales board,
metrics, cadence) reads the same answer as Python. tests/leads/test_contact_classification.py
proves the columns, the SQL filters and these functions agree on every combination.

DESIGN.md, "Two-way contact": a connected call answered by a person (not a voicemail) with at
least the store's minimum talk time, an inbound text or email reply from the customer, an
inbound call from the customer that a staff member answered (the same call rule), or a visit.
An outbound attempt is not two-way.

A typed call ("spoke with the customer", evidence self-reported or imported) has no measured
talk time: it is two-way when the person said they spoke with the customer and the duration
they typed, if any, meets the minimum. A recorded call (verified or simulated) must have a
measured talk time.
"""

from __future__ import annotations

from typing import NamedTuple

CALL, TEXT, EMAIL, VISIT, NOTE = "call", "text", "email", "visit", "note"
OUTBOUND, INBOUND = "outbound", "inbound"
CONNECTED, FAILED, REPLY = "connected", "failed", "reply"
ATTEMPT_CHANNELS = frozenset({CALL, TEXT, EMAIL})
# Evidence levels whose talk time was typed by a person (or came from another system), never
# measured here: a missing duration is not held against them.
TYPED_EVIDENCE = frozenset({"self_reported", "imported"})
DEFAULT_MIN_TALK_SECONDS = 30


class Classification(NamedTuple):
    attempt: bool
    two_way: bool


def is_two_way(
    *,
    channel: str,
    direction: str,
    outcome: str,
    evidence_level: str,
    talk_seconds: int | None,
    answered_by_person: bool | None,
    min_talk_seconds: int,
) -> bool:
    if channel == CALL:
        if outcome != CONNECTED or answered_by_person is not True:
            return False
        if talk_seconds is None:
            return evidence_level in TYPED_EVIDENCE
        return talk_seconds >= min_talk_seconds
    if channel in (TEXT, EMAIL):
        return outcome != FAILED and (direction == INBOUND or outcome == REPLY)
    return channel == VISIT


def is_attempt(*, channel: str, direction: str, outcome: str, has_staff: bool) -> bool:
    """A first response the staff member made: an outbound call, text or email that did not
    fail (a call still ringing counts: the agent has dialled). Notes, visits and anything
    inbound are not attempts."""
    return channel in ATTEMPT_CHANNELS and direction == OUTBOUND and has_staff and outcome != FAILED


def classify(
    *,
    channel: str,
    direction: str,
    outcome: str,
    evidence_level: str,
    talk_seconds: int | None,
    answered_by_person: bool | None,
    has_staff: bool,
    min_talk_seconds: int,
) -> Classification:
    return Classification(
        attempt=is_attempt(channel=channel, direction=direction, outcome=outcome, has_staff=has_staff),
        two_way=is_two_way(
            channel=channel, direction=direction, outcome=outcome, evidence_level=evidence_level,
            talk_seconds=talk_seconds, answered_by_person=answered_by_person, min_talk_seconds=min_talk_seconds,
        ),
    )
