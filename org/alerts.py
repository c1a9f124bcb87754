"""Alerting a staff member on their phone (a new lead, a lead on the board): the apps that raise
alerts (distribution) call alert_send; the app that can reach a phone (telephony) registers the
sender when it is ready. Neither imports the other: both know org.
"""

from __future__ import annotations

from collections.abc import Callable

from org.models import Staff, Store


class AlertRefused(Exception):
    """Nothing was sent; the message says why, in words for a person."""


# (store, staff, body) -> the message id; raises AlertRefused.
_sender: Callable[..., str] | None = None


def sender_register(sender: Callable[..., str]) -> None:
    global _sender
    _sender = sender


def alert_send(*, store: Store, staff: Staff, body: str) -> str:
    """Text `body` to the staff member; the message id, or AlertRefused saying why not."""
    if _sender is None:
        raise AlertRefused("No way to reach a phone is set up (the telephony app is not installed).")
    return _sender(store=store, staff=staff, body=body)
