"""Telephony's part of a lead's timeline (leads.selectors.lead_timeline): each call event gets its
Call (`event.call`, for the recording player), in one query for the whole timeline."""

from __future__ import annotations

from leads.models import ContactEvent, Lead
from telephony.models import Call


def calls_attach(lead: Lead, events: list[ContactEvent]) -> None:
    sids = {e.call_sid for e in events if e.call_sid}
    calls = (
        {c.call_sid: c for c in Call.objects.filter(store_id=lead.store_id, call_sid__in=sids).select_related("lead")}
        if sids
        else {}
    )  # the recording player asks who owns the lead: no query per event
    for event in events:
        event.call = calls.get(event.call_sid)
