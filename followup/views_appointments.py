"""Appointments in the browser: the card on the lead page (set, confirm, no-show, cancel, check
in) and the receptionist's Arrivals page (today's appointments of the store with a big
"Checked in" button, and a search to check in a walk-in who has an open lead).

Thin: scope through org.scoping, validate the form, call followup.appointments. A ValidationError
from a service becomes a message or a form error with a 4xx status, never a 500.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_GET, require_POST

from followup import appointments as service
from followup.forms import AppointmentSetForm, WalkInSearchForm
from followup.lead_panel import FORM_PREFIX, OPEN
from leads import lead_page, permissions
from leads.models import (
    OPEN_STATUSES,
    Appointment,
    AppointmentStatus,
    Channel,
    ContactEvent,
    EvidenceLevel,
    Lead,
    LeadVehicle,
    Outcome,
)
from leads.scoping import appointments_for, check_in_leads_for, leads_for
from leads.services import lead_search_q
from org import hours
from org.models import Store
from org.scoping import page_store, stores_for, viewer_for

ARRIVALS_LIMIT = 300
WALK_IN_LIMIT = 20
# A second check-in of the same lead within this window is the same visit (a double click).
SAME_VISIT = dt.timedelta(hours=2)


# --- who may do what: leads.permissions (the API and the services ask the same) -----------------

may_use_arrivals = permissions.may_use_arrivals
may_check_in = permissions.can_check_in


def _lead_page(request, lead_pk: int, status: int):
    request.method = "GET"
    return lead_page.render_lead_page(request, lead_pk, status=status)


def _to_lead(lead_pk: int):
    return redirect(reverse("leads:detail", args=[lead_pk]) + "#appointments")


def _form_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
@require_POST
def appointment_set(request, lead_pk: int):
    lead = get_object_or_404(leads_for(request.user).select_related("store", "customer", "owner"), pk=lead_pk)
    staff = viewer_for(request.user).staff
    if staff is None or not permissions.can_create_appointment(request.user, lead):
        messages.error(request, permissions.APPOINTMENT_SET_REFUSED)
        return _lead_page(request, lead.pk, 403)
    form = AppointmentSetForm(request.POST, prefix=FORM_PREFIX)
    with timezone.override(lead.store.tz):
        valid = form.is_valid()
    if valid:
        data = form.cleaned_data
        try:
            appointment = service.appointment_set(
                lead=lead, starts_at=data["starts_at"], by=staff, note=data["note"],
                outside_hours_ok=data["outside_hours_ok"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request, f"Appointment set for {service.when_text(appointment)} with {appointment.staff.display_name}."
            )
            return _to_lead(lead.pk)
    request.appointment_form = form
    return _lead_page(request, lead.pk, 422)


def _change(request, pk: int, action, allowed, refused: str, done: str):
    """Confirm, no-show or cancel one appointment the user sees, if the action's predicate
    (leads.permissions, which the service enforces too) lets them. The answer shows the lead page
    when the user sees the lead; the receptionist (who sees the store's appointments, not every
    lead) gets a bare 403 or goes back to Arrivals."""
    appointment = get_object_or_404(
        appointments_for(request.user).select_related("lead__owner", "staff", "store"), pk=pk
    )
    staff = viewer_for(request.user).staff
    sees_lead = leads_for(request.user).filter(pk=appointment.lead_id).exists()

    def refuse(message: str, status: int):
        if not sees_lead:
            if status == 403:
                raise PermissionDenied(message)
            messages.error(request, message)
            return redirect("leads_appointments:arrivals")
        messages.error(request, message)
        return _lead_page(request, appointment.lead_id, status)

    if staff is None or not allowed(request.user, appointment):
        return refuse(refused, 403)
    try:
        action(appointment=appointment, by=staff)
    except PermissionDenied as exc:
        return refuse(str(exc), 403)
    except ValidationError as exc:
        return refuse(" ".join(exc.messages), 409)
    messages.success(request, done.format(when=service.when_text(appointment)))
    if not sees_lead:
        return redirect("leads_appointments:arrivals")
    return _to_lead(appointment.lead_id)


@login_required
@require_POST
def appointment_confirm(request, pk: int):
    return _change(request, pk, service.appointment_confirm, permissions.can_confirm_appointment,
                   permissions.APPOINTMENT_CONFIRM_REFUSED, "The appointment of {when} is confirmed.")


@login_required
@require_POST
def appointment_no_show(request, pk: int):
    return _change(request, pk, service.appointment_no_show, permissions.can_no_show_appointment,
                   permissions.APPOINTMENT_CHANGE_REFUSED,
                   "Marked a no-show ({when}); a call task to set a new one is on the list.")


@login_required
@require_POST
def appointment_cancel(request, pk: int):
    return _change(request, pk, service.appointment_cancel, permissions.can_cancel_appointment,
                   permissions.APPOINTMENT_CANCEL_REFUSED, "The appointment of {when} is canceled.")


# --- Arrivals ------------------------------------------------------------------------------------



def _local_day(store: Store, now: dt.datetime) -> tuple[dt.date, dt.datetime, dt.datetime]:
    day = hours.local_date(store.tz, now)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=store.tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=store.tz)
    return day, start, end


def _vehicle_text(lead: Lead) -> str:
    wanted = [v for v in lead.vehicles.all() if v.interest != "trade-in"]
    if not wanted:
        return ""
    first = wanted[0]
    return f"{first.get_condition_display()} {first}".strip() if first.condition else str(first)


def _today(request, store: Store, now: dt.datetime) -> dict:
    """Today's appointments of the store that the viewer sees (leads.scoping.appointments_for: the
    whole store for the receptionist and the director, their teams' for a sales manager) in time
    order, with what each row shows: a fixed number of queries whatever the count."""
    day, start, end = _local_day(store, now)
    rows = list(
        appointments_for(request.user).filter(store=store, starts_at__gte=start, starts_at__lt=end)
        .select_related("customer", "staff__user", "checked_in_by__user", "lead")
        .defer("lead__original_document", "lead__comments")  # a row shows neither
        .prefetch_related(
            Prefetch("lead__vehicles", queryset=LeadVehicle.objects.order_by("id")),
            "customer__phones",
        )
        .order_by("starts_at", "id")[:ARRIVALS_LIMIT]
    )
    visible = set(
        leads_for(request.user).filter(pk__in={row.lead_id for row in rows}).values_list("pk", flat=True)
    ) if rows else set()
    for row in rows:
        row.is_open = row.status in OPEN
        row.late_minutes = int((now - row.starts_at).total_seconds() // 60) if row.is_open and row.starts_at < now else 0
        row.vehicle = _vehicle_text(row.lead)
        phones = list(row.customer.phones.all())
        row.phone = phones[0].number if phones else None
        row.lead_visible = row.lead_id in visible
    counts = {
        "total": sum(1 for r in rows if r.status != AppointmentStatus.CANCELED),
        "here": sum(1 for r in rows if r.status == AppointmentStatus.SHOWN),
        "expected": sum(1 for r in rows if r.is_open),
        "late": sum(1 for r in rows if r.late_minutes > 15),
    }
    return {"store": store, "day": day, "rows": rows, "counts": counts, "tz": store.tz}


def _walk_ins(request, form: WalkInSearchForm, now: dt.datetime) -> list[Lead] | None:
    if not form.is_bound or not form.is_valid():
        return None
    since = now - SAME_VISIT
    leads = list(
        check_in_leads_for(request.user)
        .filter(status__in=OPEN_STATUSES)
        .filter(lead_search_q(form.cleaned_data["q"]))
        .select_related("customer", "owner__user")
        .prefetch_related(
            Prefetch("vehicles", queryset=LeadVehicle.objects.order_by("id")),
            "customer__phones",
            Prefetch(
                "contact_events",
                queryset=ContactEvent.objects.filter(
                    channel=Channel.VISIT, outcome=Outcome.VISITED, evidence_level=EvidenceLevel.VERIFIED,
                    occurred_at__gte=since,
                ).order_by("-occurred_at"),
                to_attr="recent_visits",
            ),
        )
        .order_by("-received_at", "-id")[:WALK_IN_LIMIT]
    )
    for lead in leads:
        lead.vehicle = _vehicle_text(lead)
        phones = list(lead.customer.phones.all())
        lead.phone = phones[0].number if phones else None
        lead.here_since = lead.recent_visits[0].occurred_at if lead.recent_visits else None
    return leads


def _arrivals_page(request, status: int = 200, walk_in_form: WalkInSearchForm | None = None):
    viewer = viewer_for(request.user)
    if not may_use_arrivals(viewer):
        raise PermissionDenied("Arrivals is for the receptionist, the sales managers and the director.")
    now = timezone.now()
    store = page_store(request, viewer)
    if walk_in_form is None:
        walk_in_form = WalkInSearchForm(request.GET) if "q" in request.GET else WalkInSearchForm()
    many = viewer.everything or viewer.is_group_admin
    context = {
        **_today(request, store, now),
        "walk_in_form": walk_in_form,
        "walk_ins": _walk_ins(request, walk_in_form, now),
        "stores": list(stores_for(request.user).order_by("name")[:200]) if many else [],
        "store_query": f"?store={store.pk}" if request.GET.get("store") else "",
    }
    if request.htmx and request.htmx.target == "arrivals-list":
        context["partial"] = True  # the page's own message area is not swapped: the list shows them
        return render(request, "leads/appointments_list.html", context, status=status)
    return render(request, "leads/appointments_arrivals.html", context, status=status)


@login_required
@require_GET
def arrivals(request):
    return _arrivals_page(request)


def _already_text(at: dt.datetime, by_name: str | None, customer) -> str:
    when = dateformat.format(timezone.localtime(at), "g:i A")
    who = f" by {by_name}" if by_name else ""
    return f"{customer} was already checked in at {when}{who}: nothing recorded twice."


def _answer(request, back: str, lead_pk: int, status: int):
    """After a check-in: Arrivals (its list alone for htmx) or the lead page; 2xx redirect, 4xx shown.
    htmx swaps only 2xx and 422 answers (base.html), so its errors come back as 422 with the message."""
    if back == "lead":
        if status >= 400:
            return _lead_page(request, lead_pk, status)
        return _to_lead(lead_pk)
    if request.htmx:
        request.method = "GET"
        return _arrivals_page(request, status=422 if status >= 400 else status)
    if status >= 400:
        request.method = "GET"
        return _arrivals_page(request, status=status)
    return redirect(reverse("leads_appointments:arrivals") + _store_suffix(request))


def _store_suffix(request) -> str:
    store = request.GET.get("store", "")
    return f"?store={store}" if store.isdigit() else ""


def _told(lead: Lead, owner_name: str | None) -> str:
    return f" {owner_name} has been told." if owner_name else " Nobody owns this lead yet: give it to a salesperson."


@login_required
@require_POST
def check_in(request, pk: int):
    """"Checked in" for one appointment. Idempotent: an appointment already shown answers with
    when and by whom, and records nothing (the service locks the row against a double click)."""
    appointment = get_object_or_404(
        appointments_for(request.user).select_related(
            "lead__store", "lead__owner__user", "customer", "staff__user", "checked_in_by__user"
        ),
        pk=pk,
    )
    back = "lead" if request.POST.get("back") == "lead" else "arrivals"
    lead = appointment.lead
    if not may_check_in(request.user, lead):
        messages.error(request, permissions.CHECK_IN_REFUSED)
        return _answer(request, back, lead.pk, 403)
    if appointment.status == AppointmentStatus.SHOWN:
        return _already(request, back, appointment)
    try:
        service.check_in(lead=lead, by=viewer_for(request.user).staff, appointment=appointment)
    except ValidationError as exc:
        appointment.refresh_from_db()
        if appointment.status == AppointmentStatus.SHOWN:
            return _already(request, back, appointment)
        messages.error(request, " ".join(exc.messages))
        return _answer(request, back, lead.pk, 409)
    messages.success(request, f"{appointment.customer} is checked in.{_told(lead, appointment.staff.display_name)}")
    return _answer(request, back, lead.pk, 200)


def _already(request, back: str, appointment: Appointment):
    appointment = Appointment.objects.select_related("checked_in_by__user", "customer").get(pk=appointment.pk)
    by = appointment.checked_in_by.display_name if appointment.checked_in_by else None
    messages.info(request, _already_text(appointment.shown_at or timezone.now(), by, appointment.customer))
    return _answer(request, back, appointment.lead_id, 200)


@login_required
@require_POST
def walk_in(request, lead_pk: int):
    """Check in a customer who came without an appointment (their open lead's first open
    appointment, if any, is marked shown by the service). Idempotent: the lead row is locked and a
    verified visit in the last two hours answers "already checked in"."""
    lead = get_object_or_404(check_in_leads_for(request.user).select_related("store", "customer", "owner__user"), pk=lead_pk)
    back = "lead" if request.POST.get("back") == "lead" else "arrivals"
    if not may_check_in(request.user, lead):
        messages.error(request, permissions.CHECK_IN_REFUSED)
        return _answer(request, back, lead.pk, 403)
    staff = viewer_for(request.user).staff
    try:
        with transaction.atomic():
            Lead.objects.select_for_update().filter(pk=lead.pk).values_list("pk", flat=True).first()
            recent = (
                ContactEvent.objects.filter(
                    lead=lead, channel=Channel.VISIT, outcome=Outcome.VISITED, evidence_level=EvidenceLevel.VERIFIED,
                    occurred_at__gte=timezone.now() - SAME_VISIT,
                ).order_by("-occurred_at").first()
            )
            if recent is None:
                service.check_in(lead=lead, by=staff)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _answer(request, back, lead.pk, 409)
    if recent is not None:
        messages.info(request, _already_text(recent.occurred_at, None, lead.customer))
        return _answer(request, back, lead.pk, 200)
    owner = lead.owner.display_name if lead.owner_id else None
    messages.success(request, f"{lead.customer} is checked in.{_told(lead, owner)}")
    return _answer(request, back, lead.pk, 200)
