"""The lead page: what leads knows of a lead (customer, timeline, status, tasks, possible
duplicates) and the panels the apps above add to it (distribution: where the lead is in routing
and who may be given it; follow-up: its appointments). Leads imports none of them: each
registers a panel when its app is ready (panel_register), as the hook's owner asks.

Every view that answers with the lead page (the page itself, or a form on it that was refused)
renders it here, so no app imports another app's views.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from leads import duplicates
from leads.forms import LogContactForm
from leads.models import Lead, LeadStatus
from leads.scoping import can_work_lead, leads_for
from leads.selectors import lead_timeline
from org.models import SALES_ROLES
from org.scoping import viewer_for

# (request, lead, the page's context so far) -> what the panel adds to the context.
Panel = Callable[[HttpRequest, Lead, dict], dict]
_panels: list[Panel] = []


def panel_register(panel: Panel) -> None:
    """An app above leads adds its part of the lead page (once: registering again is a no-op)."""
    if panel not in _panels:
        _panels.append(panel)


def render_lead_page(request: HttpRequest, pk: int, log_form: LogContactForm | None = None,
                     status: int = 200) -> HttpResponse:
    """The lead page for a lead the user sees (404 otherwise); `status` 400 when a form on it
    was refused, with that form's errors on the page."""
    viewer = viewer_for(request.user)
    lead = get_object_or_404(
        leads_for(request.user).select_related("customer", "owner__user", "store", "duplicate_of", "routing__rule"),
        pk=pk,
    )
    context = {
        "lead": lead,
        "vehicles": lead.vehicles.all(),
        "phones": lead.customer.phones.all(),
        "emails": lead.customer.emails.all(),
        "timeline": lead_timeline(lead, request.user),
        "status_changes": lead.status_changes.select_related("changed_by__user"),
        "log_form": log_form or LogContactForm(),
        "open_tasks": lead.customer.tasks.filter(completed_at__isnull=True, canceled_at__isnull=True)
        .select_related("staff__user")[:10],
        "now": timezone.now(),
        "next_statuses": [(s, LeadStatus(s).label) for s in lead.allowed_next_statuses()],
        "can_work": can_work_lead(request.user, lead),
        "can_claim": lead.owner_id is None and lead.in_claim_pool and viewer.staff is not None
        and viewer.staff.role in SALES_ROLES and lead.is_open,
        "possible_duplicates": duplicates.pending_for_customers(request.user, [lead.customer_id]),
        "as_received": lead.as_received_differs,
    }
    for panel in _panels:
        context.update(panel(request, lead, context))
    return render(request, "leads/lead_detail.html", context, status=status)
