"""Telling a staff member something on their bell, for apps that may not import the bell.

The bell (distribution's Notification) sits beside coverage in the layers, so neither may import
the other. Distribution registers its sender here when it starts (distribution/apps.py); coverage
tells people about deals and disputes through `tell`. Without a sender nothing is told."""

from __future__ import annotations

from collections.abc import Callable, Iterable

Sender = Callable[..., object]
_sender: Sender | None = None

DEAL, DISPUTE = "deal", "dispute"


def sender_register(sender: Sender) -> None:
    global _sender
    _sender = sender


def tell(*, staff_ids: Iterable[int | None], store, lead, kind: str, text: str) -> int:
    """Put `text` on each person's bell (once each; None and repeats skipped). Returns how many."""
    people = list(dict.fromkeys(pk for pk in staff_ids if pk is not None))
    if _sender is None:
        return 0
    for staff_id in people:
        _sender(staff_id=staff_id, store=store, lead=lead, kind=kind, text=text[:300], sms=False)
    return len(people)
