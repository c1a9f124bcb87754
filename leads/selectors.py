"""Reads for lead pages and the API."""

from __future__ import annotations

from leads.models import ContactEvent, Lead

TIMELINE_LIMIT = 200


def lead_timeline(lead: Lead) -> list[ContactEvent]:
    """The customer's contact events in this store, newest first (all their leads, not just this one)."""
    return list(
        ContactEvent.objects.filter(store_id=lead.store_id, customer_id=lead.customer_id)
        .select_related("staff__user")
        .order_by("-occurred_at", "-id")[:TIMELINE_LIMIT]
    )
