"""Distribution's part of the lead page (leads.lead_page): the lead's assignment history, where it
is in routing with its response times, and whom this viewer may give it to."""

from __future__ import annotations

from common.formatting import span_text
from distribution import services
from distribution.models import Strategy
from distribution.views_queue import lead_choices, skipped_text
from org.scoping import can_assign_leads, viewer_for


def lead_panel(request, lead, context: dict) -> dict:
    viewer = viewer_for(request.user)
    return {
        "assignments": routing_history(lead),
        "assignable": lead_choices(lead) if can_assign_leads(request.user) and lead.is_open else None,
        **routing_context(request, viewer, lead),
    }


def routing_history(lead):
    """The lead's assignment history, oldest first, with the strategy's label and who was skipped."""
    rows = list(lead.assignments.select_related("to_staff__user", "from_staff__user", "assigned_by__user"))
    labels = dict(Strategy.choices)
    for row in rows:
        row.strategy_label = labels.get(row.strategy, row.strategy)
        row.skipped_text = skipped_text(row.skipped)
    return rows


def routing_context(request, viewer, lead) -> dict:
    """Where the lead is in distribution, its response times and the buttons this viewer gets."""

    routing = getattr(lead, "routing", None)
    times = services.response_times(lead, routing)
    may_queue = viewer.everything or viewer.is_store_wide or viewer.is_manager
    return {
        "routing": routing,
        "times": times,
        "first_attempt_text": span_text(times.first_attempt),
        "first_two_way_text": span_text(times.first_two_way),
        "may_queue": may_queue,
        "can_release": viewer.staff is not None and lead.owner_id == viewer.staff.pk and lead.is_open,
        "can_next": may_queue and lead.is_open and routing is not None and routing.rule_id is not None,
    }
