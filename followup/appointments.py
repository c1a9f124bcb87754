"""Appointments: set, confirm, shown (the receptionist's check-in), no-show, canceled; with a
reminder text and a no-show deadline as columns the sweeper reads."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import dateformat, timezone

from distribution.services import notify
from leads import permissions
from leads.events import contact_event_record
from leads.models import (
    ALLOWED_TRANSITIONS,
    Appointment,
    AppointmentStatus,
    Channel,
    ContactEvent,
    EvidenceLevel,
    Lead,
    LeadStatus,
    Outcome,
    Task,
    TaskKind,
)
from leads.services import lead_transition
from org import hours
from org.models import Staff
from telephony.sms import TextRefused, text_send

log = logging.getLogger(__name__)

REMINDER_BEFORE = dt.timedelta(hours=24)
SHORT_REMINDER_BEFORE = dt.timedelta(hours=2)
NO_SHOW_AFTER = dt.timedelta(hours=2)
OPEN = [AppointmentStatus.SET, AppointmentStatus.CONFIRMED]
BATCH = 200


def _advance(lead: Lead, to_status: str, by: Staff | None) -> None:
    """Move the lead forward along new -> contacted -> appointment set -> shown, as far as `to_status`."""
    path = [LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.APPOINTMENT_SET, LeadStatus.SHOWN]
    lead.refresh_from_db(fields=["status"])
    if lead.status not in path or to_status not in path:
        return
    for step in path[path.index(lead.status) + 1: path.index(to_status) + 1]:
        if step in ALLOWED_TRANSITIONS[lead.status]:
            lead_transition(lead=lead, to_status=step, by=by)
            lead.status = step


def when_text(appointment: Appointment) -> str:
    local = timezone.localtime(appointment.starts_at, appointment.store.tz)
    return dateformat.format(local, "D M j \\a\\t g:i A")


def appointment_set(*, lead: Lead, starts_at: dt.datetime, by: Staff, note: str = "", outside_hours_ok: bool = False,
                    now: dt.datetime | None = None) -> Appointment:
    now = now or timezone.now()
    store = lead.store
    if by.store_id != lead.store_id:
        raise ValidationError({"lead": "That lead belongs to another store."})
    permissions.require(permissions.can_create_appointment(by.user, lead), permissions.APPOINTMENT_SET_REFUSED)
    if not lead.is_open:
        raise ValidationError({"lead": f"This lead is {lead.get_status_display().lower()}; no appointment can be set."})
    if starts_at <= now:
        raise ValidationError({"starts_at": "That time is in the past; pick a time from now on."})
    if not hours.store_is_open(store.business_hours, store.tz, starts_at) and not outside_hours_ok:
        local = timezone.localtime(starts_at, store.tz)
        raise ValidationError({"starts_at": f"{dateformat.format(local, 'D M j, g:i A')} is outside store hours; "
                                            "confirm to set it anyway."})
    staff = lead.owner or by
    reminder = starts_at - REMINDER_BEFORE
    if reminder <= now:
        reminder = starts_at - SHORT_REMINDER_BEFORE
    with transaction.atomic():
        appointment = Appointment.objects.create(
            store=store, lead=lead, customer_id=lead.customer_id, staff=staff, starts_at=starts_at,
            note=note.strip()[:300], outside_hours=not hours.store_is_open(store.business_hours, store.tz, starts_at),
            created_by=by, created_at=now, reminder_due_at=reminder if reminder > now else None,
            no_show_due_at=starts_at + NO_SHOW_AFTER,
        )
        _advance(lead, LeadStatus.APPOINTMENT_SET, by)
    return appointment


def _locked(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().select_related("store", "lead", "customer", "staff__user").get(pk=appointment.pk)


def _check(allowed, by: Staff | None, appointment: Appointment, message: str) -> None:
    """by=None is the system (the sweeper); a person must pass the action's predicate."""
    if by is not None:
        permissions.require(allowed(by.user, appointment), message)


def appointment_confirm(*, appointment: Appointment, by: Staff | None) -> Appointment:
    with transaction.atomic():
        current = _locked(appointment)
        _check(permissions.can_confirm_appointment, by, current, permissions.APPOINTMENT_CONFIRM_REFUSED)
        if current.status != AppointmentStatus.SET:
            raise ValidationError({"status": f"This appointment is {current.get_status_display().lower()}; only a set one is confirmed."})
        current.status, current.confirmed_at = AppointmentStatus.CONFIRMED, timezone.now()
        current.save(update_fields=["status", "confirmed_at"])
    return current


def check_in(*, lead: Lead, by: Staff, appointment: Appointment | None = None, now: dt.datetime | None = None) -> ContactEvent:
    """The receptionist checks a customer in: a verified visit, the appointment (if any) shown,
    the lead moved to shown, and its owner told at once (on their day off too)."""
    now = now or timezone.now()
    if by.store_id != lead.store_id:
        raise ValidationError({"lead": "That customer belongs to another store."})
    permissions.require(permissions.can_check_in(by.user, lead), permissions.CHECK_IN_REFUSED)
    with transaction.atomic():
        if appointment is None:
            appointment = (
                Appointment.objects.filter(lead=lead, status__in=OPEN).order_by("starts_at").first()
            )
        if appointment is not None:
            appointment = _locked(appointment)
            if appointment.status not in OPEN:
                raise ValidationError({"appointment": f"This appointment is already {appointment.get_status_display().lower()}."})
        owner_id = appointment.staff_id if appointment else lead.owner_id
        event = contact_event_record(
            store=lead.store, customer_id=lead.customer_id, lead_id=lead.pk, staff_id=owner_id, channel=Channel.VISIT,
            direction="", outcome=Outcome.VISITED, occurred_at=now, recorded_at=now,
            evidence_level=EvidenceLevel.VERIFIED, body=f"Checked in by {by.display_name}.",
        )
        if appointment is not None:
            appointment.status, appointment.shown_at = AppointmentStatus.SHOWN, now
            appointment.checked_in_by, appointment.visit_event = by, event
            appointment.reminder_due_at = appointment.no_show_due_at = None
            appointment.save(update_fields=["status", "shown_at", "checked_in_by", "visit_event", "reminder_due_at", "no_show_due_at"])
        if lead.is_open:
            _advance(lead, LeadStatus.SHOWN, by)
        if owner_id is not None:
            what = f"for the {when_text(appointment).split(' at ')[1]} appointment" if appointment else "(no appointment)"
            notify(staff_id=owner_id, store=lead.store, lead=lead, kind="check_in",
                   text=f"{lead.customer} is here {what}: checked in by {by.display_name}.",
                   sms=lead.store.notify_owner_by_sms)
    return event


def appointment_no_show(*, appointment: Appointment, by: Staff | None, now: dt.datetime | None = None) -> Appointment:
    now = now or timezone.now()
    with transaction.atomic():
        current = _locked(appointment)
        _check(permissions.can_no_show_appointment, by, current, permissions.APPOINTMENT_CHANGE_REFUSED)
        if current.status not in OPEN:
            raise ValidationError({"status": f"This appointment is already {current.get_status_display().lower()}."})
        if current.starts_at > now:
            raise ValidationError({"status": "The appointment has not started yet."})
        current.status, current.closed_at = AppointmentStatus.NO_SHOW, now
        current.reminder_due_at = current.no_show_due_at = None
        current.save(update_fields=["status", "closed_at", "reminder_due_at", "no_show_due_at"])
        Task.objects.create(
            store=current.store, customer=current.customer, lead=current.lead, staff=current.staff,
            kind=TaskKind.FOLLOW_UP, channel=Channel.CALL, due_at=now,
            reason=f"Missed the appointment of {when_text(current)}: call to set a new one.",
        )
    return current


def appointment_cancel(*, appointment: Appointment, by: Staff | None) -> Appointment:
    with transaction.atomic():
        current = _locked(appointment)
        _check(permissions.can_cancel_appointment, by, current, permissions.APPOINTMENT_CANCEL_REFUSED)
        if current.status not in OPEN:
            raise ValidationError({"status": f"This appointment is already {current.get_status_display().lower()}."})
        current.status, current.closed_at = AppointmentStatus.CANCELED, timezone.now()
        current.reminder_due_at = current.no_show_due_at = None
        current.save(update_fields=["status", "closed_at", "reminder_due_at", "no_show_due_at"])
    return current


def reminders_due(*, now: dt.datetime) -> int:
    """Text each customer a reminder from their salesperson's line, at most once: the row is
    claimed by a conditional UPDATE, then the text is sent outside any transaction."""
    sent = 0
    due = list(Appointment.objects.filter(reminder_due_at__lte=now).order_by("reminder_due_at").values_list("pk", flat=True)[:BATCH])
    for pk in due:
        if not Appointment.objects.filter(pk=pk, reminder_due_at__lte=now).update(reminder_due_at=None):
            continue  # another sweeper took it
        appointment = Appointment.objects.select_related("store", "lead", "customer", "staff__user").get(pk=pk)
        if appointment.status not in OPEN:
            continue
        phone = appointment.customer.phones.order_by("pk").first()
        body = (f"Hi {appointment.customer.first_name or 'there'}, this is {appointment.staff.display_name} with "
                f"{appointment.store.name}: a reminder of your visit on {when_text(appointment)}. See you then!")
        try:
            if phone is None:
                raise TextRefused("The customer has no phone number on file.")
            text_send(staff=appointment.staff, lead=appointment.lead, to=str(phone.number), body=body)
        except TextRefused as refused:
            Appointment.objects.filter(pk=pk).update(reminder_error=str(refused)[:300])
            continue
        Appointment.objects.filter(pk=pk).update(reminder_sent_at=now)
        sent += 1
    return sent


def no_shows_due(*, now: dt.datetime) -> int:
    """An appointment nobody checked in two hours after it started is a no-show (with a call task)."""
    done = 0
    due = list(Appointment.objects.filter(no_show_due_at__lte=now).order_by("no_show_due_at").values_list("pk", flat=True)[:BATCH])
    for pk in due:
        appointment = Appointment.objects.filter(pk=pk, no_show_due_at__lte=now, status__in=OPEN).first()
        if appointment is None:
            Appointment.objects.filter(pk=pk).update(no_show_due_at=None)
            continue
        try:
            appointment_no_show(appointment=appointment, by=None, now=now)
            done += 1
        except ValidationError:
            continue
    return done
