"""Follow-up's part of the lead page (leads.lead_page): the appointments card (set, confirm,
no-show, cancel), registered in followup.apps. The card's buttons post to
followup.views_appointments."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from followup.forms import AppointmentSetForm
from leads import permissions
from leads.models import AppointmentStatus, Lead
from org import hours
from org.scoping import viewer_for

CARD_LIMIT = 10
OPEN = {AppointmentStatus.SET, AppointmentStatus.CONFIRMED}
FORM_PREFIX = "appt"


def lead_panel(request, lead: Lead, context: dict) -> dict:
    return card_context(request, lead, context["can_work"])


def card_context(request, lead: Lead, can_work: bool) -> dict:
    """What templates/leads/_appointments_card.html needs; lead_detail adds it to its context."""
    viewer = viewer_for(request.user)
    now = timezone.now()
    tz = lead.store.tz
    today = hours.local_date(tz, now)
    # Each row carries what its buttons need for the template (is_open, can_confirm, ...).
    rows: list[Any] = list(
        lead.appointments.select_related("staff__user", "created_by__user", "checked_in_by__user")
        .order_by("-starts_at", "-id")[:CARD_LIMIT]
    )
    for row in rows:
        row.is_open = row.status in OPEN
        row.started = row.starts_at <= now
        row.is_today = hours.local_date(tz, row.starts_at) == today
        row.lead = lead
        row.can_confirm = row.is_open and permissions.can_confirm_appointment(request.user, row)
        row.can_no_show = row.is_open and permissions.can_no_show_appointment(request.user, row)
        row.can_cancel = row.is_open and permissions.can_cancel_appointment(request.user, row)
    form = getattr(request, "appointment_form", None)
    if form is None:
        form = AppointmentSetForm(prefix=FORM_PREFIX)
    form.fields["starts_at"].widget.attrs["min"] = timezone.localtime(now, tz).strftime("%Y-%m-%dT%H:%M")
    return {
        "appointments": rows,
        "has_open_appointment": any(row.is_open for row in rows),
        "appointment_form": form,
        "appointment_tz": tz,
        "can_set_appointment": lead.is_open and permissions.can_create_appointment(request.user, lead),
        "can_work_appointments": can_work and viewer.staff is not None,
        "can_check_in": viewer.staff is not None and (can_work or permissions.may_use_arrivals(viewer)),
    }
