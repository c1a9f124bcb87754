"""Who may do what with leads' appointments and contact events: one predicate per action.

The browser views, the REST API and the Django admin ask these same functions, and the services
(followup.appointments) enforce them, so every channel gives the same answer. Seeing an object is
org.scoping's business (outside the scope it is a 404); these decide what a user who sees it may
do (a refusal is a 403 with the message of `require`).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from leads.models import Appointment, ContactEvent, Lead
from leads.scoping import can_work_lead, contact_events_for
from org.scoping import stores_for, viewer_for

APPOINTMENT_SET_REFUSED = "Only the lead's salesperson, their sales manager, the director and admins set its appointments."
APPOINTMENT_CHANGE_REFUSED = (
    "Only the lead's salesperson, the appointment's salesperson, their sales manager, the director and admins "
    "change this appointment."
)
APPOINTMENT_CONFIRM_REFUSED = APPOINTMENT_CHANGE_REFUSED.replace(" change ", ", or the receptionist, confirm ")
APPOINTMENT_CANCEL_REFUSED = (
    "Only the lead's salesperson, the appointment's salesperson, their sales manager, the director and admins "
    "cancel this appointment; the receptionist cancels the ones she booked."
)
CHECK_IN_REFUSED = "Only the receptionist, the managers and the lead's salesperson check customers in."


def require(allowed: bool, message: str) -> None:
    """Raise PermissionDenied(message) unless allowed: what the services call."""
    if not allowed:
        raise PermissionDenied(message)


def _same_store(user, store_id: int) -> bool:
    """The store is the user's (an admin's: one of their group's)."""
    viewer = viewer_for(user)
    if viewer.everything:
        return True
    if viewer.staff is None:
        return False
    if viewer.staff.store_id == store_id:
        return True
    return viewer.is_group_admin and stores_for(user).filter(pk=store_id).exists()


# --- contact events ------------------------------------------------------------------------------

def can_read_contact_event(user, event: ContactEvent) -> bool:
    """Exactly when the user sees the event's lead (an event on no lead: its customer's leads)."""
    return contact_events_for(user).filter(pk=event.pk).exists()


# --- appointments --------------------------------------------------------------------------------

def can_create_appointment(user, lead: Lead) -> bool:
    """Whoever may work the lead: its owner, their sales manager (any manager for an unassigned
    lead), the director and admins. Not the receptionist: she hands the lead to a salesperson,
    who sets the visit (the browser's rule, which the API now follows too)."""
    return can_work_lead(user, lead)


def _works_appointment(user, appointment: Appointment) -> bool:
    """The lead's owner, the appointment's salesperson, either one's sales manager (any manager
    for an unassigned lead), the director and admins of the store."""
    viewer = viewer_for(user)
    if viewer.everything:
        return True
    if viewer.staff is None or not _same_store(user, appointment.store_id):
        return False
    if viewer.is_store_wide:
        return True
    lead = appointment.lead
    me = viewer.staff.pk
    if me in (lead.owner_id, appointment.staff_id):
        return True
    if viewer.is_manager:
        teams = set(viewer.managed_team_ids())
        people_teams = {p.team_id for p in (lead.owner, appointment.staff) if p is not None and p.team_id}
        return lead.owner_id is None or bool(teams & people_teams)
    return False


def can_confirm_appointment(user, appointment: Appointment) -> bool:
    viewer = viewer_for(user)
    if _works_appointment(user, appointment):
        return True
    return viewer.is_receptionist and viewer.staff.store_id == appointment.store_id


def can_no_show_appointment(user, appointment: Appointment) -> bool:
    return _works_appointment(user, appointment)


def can_cancel_appointment(user, appointment: Appointment) -> bool:
    viewer = viewer_for(user)
    if _works_appointment(user, appointment):
        return True
    return (
        viewer.is_receptionist and viewer.staff.store_id == appointment.store_id
        and appointment.created_by_id == viewer.staff.pk
    )


def may_use_arrivals(viewer) -> bool:
    return viewer.everything or viewer.is_store_wide or viewer.is_manager or viewer.is_receptionist


def can_check_in(user, lead: Lead) -> bool:
    """The receptionist (and the managers, director and admins who use Arrivals) of the lead's
    store, and whoever may work the lead (its owner among them)."""
    viewer = viewer_for(user)
    if viewer.staff is None:
        return False
    if may_use_arrivals(viewer) and _same_store(user, lead.store_id):
        return True
    return can_work_lead(user, lead)


# --- customer identity ---------------------------------------------------------------------------

DUPLICATES_REFUSED = "Only the sales managers, the director and admins review possible duplicate customers."


def can_review_duplicates(user) -> bool:
    """The store's possible duplicate customers (leads.duplicates): its managers, the director and admins."""
    viewer = viewer_for(user)
    return viewer.everything or viewer.is_store_wide or viewer.is_manager
