"""Thin Celery wrappers for telephony: they take ids and call services.

Deadlines live in columns (e.g. Call.recording_fetch_due_at); a task is a nudge and the beat
sweepers pick up whatever a lost or failed task left due.
"""

from celery import shared_task
from django.utils import timezone

from telephony import calls, reconcile

# --- Calls -------------------------------------------------------------------------------


@shared_task(acks_late=True)
def call_recording_fetch_task(call_id: int) -> bool:
    return calls.call_recording_fetch(call_id=call_id)


@shared_task
def call_recordings_due_task() -> int:
    """Beat sweeper: nudge a fetch for every call whose recording is due (first try or retry)."""
    due = calls.call_recordings_due()
    for call_id in due:
        call_recording_fetch_task.delay(call_id)
    return len(due)


@shared_task
def calls_reconcile_task() -> dict[str, int]:
    """Beat sweeper: calls whose status callbacks have not settled them by their deadline are
    looked up at Twilio and settled (telephony.reconcile)."""
    return reconcile.calls_reconcile(now=timezone.now())


# --- Telephony sandbox (telephony/sandbox/drivers.py): Twilio's side of a call or text, played out
# against our own webhooks. Each runs a few seconds; a redelivered one replays callbacks,
# which the webhooks' receipts make harmless. -------------------------------------------


@shared_task
def sandbox_call_task(call_sid: str, form: dict) -> str:
    from telephony.sandbox import drivers

    return drivers.call_drive(call_sid, form).summary


@shared_task
def sandbox_message_task(message_sid: str, form: dict) -> str:
    from telephony.sandbox import drivers

    return drivers.message_drive(message_sid, form).summary


@shared_task
def sandbox_inbound_text_task(from_number: str, to_number: str, body: str) -> str:
    from telephony.sandbox import drivers

    return drivers.customer_texts(from_number, to_number, body).summary


@shared_task
def sandbox_inbound_call_task(from_number: str, to_number: str, staff_answers: bool = True,
                              talk_seconds: int | None = None) -> str:
    from telephony.sandbox import drivers

    return drivers.customer_calls(from_number, to_number, staff_answers=staff_answers,
                                  talk_seconds=talk_seconds).summary
