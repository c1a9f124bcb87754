"""Who owns a lead is written by distribution alone (distribution.services: the routing
decision, a person's assignment, a claim, a release, a hand-over all end in one writer that
records the history, moves the response clocks, hands over the follow-up and tells the new
owner).

Apps depend one way (org <- leads <- distribution), so leads never imports distribution. Leads
code that needs an owner changed (its pages and API actions) asks through this hook, which
distribution fills in when its app is ready; a lead created with an owner is announced with the
`lead_created` signal, sent inside the creating transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

if TYPE_CHECKING:
    from leads.models import Lead
    from org.models import Staff

# Sent by leads.services.lead_create inside its transaction, for every lead it inserts:
# sender=Lead, lead=<the new lead>, owner=<Staff or None: who met the customer>,
# original=<the customer's open lead it duplicates, or None>, by=<Staff or None>.
lead_created = Signal()
# Sent by the writer inside its transaction whenever a lead gets an owner (routed, claimed,
# assigned, handed over): sender=Lead, lead=<the lead>, owner_id=<the new owner's id or None>.
# Follow-up starts the lead's cadence or moves its open tasks (followup.apps).
lead_owner_changed = Signal()


class LeadTaken(Exception):
    """A claim lost the race (or came late): someone else holds the lead."""

    def __init__(self, holder: Staff | None):
        self.holder = holder
        super().__init__(f"{holder.display_name if holder else 'Someone else'} already has this lead.")


class OwnershipWriter(Protocol):
    def lead_owner_set(self, *, lead: Lead, to_staff: Staff, by: Staff | None, reason: str = "") -> Lead: ...

    def lead_reassign(self, *, lead: Lead, to_staff: Staff | None, by: Staff | None, reason: str = "") -> Lead: ...

    def lead_release(self, *, lead: Lead, by: Staff) -> Lead: ...

    def lead_claim(self, *, lead: Lead, staff: Staff) -> Lead: ...


_writer: OwnershipWriter | None = None


def writer_register(writer: OwnershipWriter) -> None:
    global _writer
    _writer = writer


def writer() -> OwnershipWriter:
    if _writer is None:
        raise ImproperlyConfigured("No writer of lead ownership is registered (is the distribution app installed?).")
    return _writer
