"""Reads for lead pages and the API."""

from __future__ import annotations

from collections.abc import Callable

from leads import aliases
from leads.models import ContactEvent, Lead
from org.scoping import viewer_for

TIMELINE_LIMIT = 200

# (lead, events) -> None: sets attributes on the events (telephony.apps: `event.call`), in one
# query for the whole timeline.
_timeline_annotators: list[Callable[[Lead, list[ContactEvent]], None]] = []


def timeline_annotator_register(annotate: Callable[[Lead, list[ContactEvent]], None]) -> None:
    if annotate not in _timeline_annotators:
        _timeline_annotators.append(annotate)


def lead_timeline(lead: Lead, user=None) -> list[ContactEvent]:
    """The customer's contact events in this store, newest first (all their leads, not just this
    one, and those of customers merged into theirs), as far as `user` may read them (leads.scoping.contact_events_for: the events of leads
    they see, so not another agent's texts on a shared customer; no user: all). An event a later one supersedes (a call's attempt, once its outcome is known) is left
    out. Apps above add what they know of the events (telephony: each call event's Call, for the
    recording) through timeline_annotator_register."""
    from leads.scoping import contact_events_for

    readable = ContactEvent.objects.all() if user is None else contact_events_for(user)
    events = list(
        readable.filter(store_id=lead.store_id, customer_id__in=aliases.family(lead.customer_id),
                        superseded_by__isnull=True)
        .select_related("staff__user")
        .order_by("-occurred_at", "-id")[:TIMELINE_LIMIT]
    )
    for annotate in _timeline_annotators:
        annotate(lead, events)
    return events


def own_contact_events(user):
    """The user's own contact events (their staff record's, in their store): what their coverage
    is judged on (dealcoverage.live.coverage_ending). Every one of them is theirs to weigh, so no
    per-event check of the customer, which cost the Today page a subquery per event."""
    viewer = viewer_for(user)
    if viewer.staff is None:
        return ContactEvent.objects.none()
    return ContactEvent.objects.filter(store_id=viewer.staff.store_id, staff_id=viewer.staff.pk)


def with_relations(queryset):
    """Leads with what the API's LeadSerializer reads, in three queries for the whole page."""
    return queryset.select_related("customer").prefetch_related("vehicles", "customer__phones", "customer__emails")
