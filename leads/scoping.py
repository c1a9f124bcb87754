"""Who sees which leads, customers, contact events, tasks and appointments (the rule of
org.scoping's module docstring, for leads' rows). Registered with org.scoping.scoped in
leads.apps, so the admin and generic views ask one registry.

A salesperson sees the claim-pool leads of the pools they are in: which pools those are is
distribution's to say, through the hook below (claim_pool_register), so leads imports nothing
of the layer above it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.models import OPEN_STATUSES, Appointment, ContactEvent, Customer, Lead, RejectedIntake, Task
from org.models import Staff
from org.scoping import Viewer, store_q, stores_for, viewer_for

# (staff, prefix) -> the Q a claim-pool lead must also meet for that salesperson to see it.
_claim_pool_rule: Callable[[Staff, str], Q] | None = None
# () -> the Q of the leads a claim-pool rule put in a pool (claimed since or not).
_pooled_rule: Callable[[], Q] | None = None


def claim_pool_register(*, visible: Callable[[Staff, str], Q], pooled: Callable[[], Q]) -> None:
    """Distribution says which claim-pool leads a salesperson may see (the pools they are in),
    and which leads were ever put in a pool (a claim may name those: claim_targets_for)."""
    global _claim_pool_rule, _pooled_rule
    _claim_pool_rule, _pooled_rule = visible, pooled


def _claim_pool_q(staff: Staff, prefix: str) -> Q:
    # With no distribution installed a lead is in no rule's pool: every pool lead of the store.
    return _claim_pool_rule(staff, prefix) if _claim_pool_rule is not None else Q()


def lead_q(viewer: Viewer, prefix: str = "") -> Q:
    """The Q selecting the leads a viewer may see; prefix lets customers/events reuse it."""
    branches = _lead_branches(viewer, prefix)
    q = branches[0]
    for branch in branches[1:]:
        q |= branch
    return q


def _lead_branches(viewer: Viewer, prefix: str = "") -> list[Q]:
    """The leads a viewer may see, as disjoint branches whose OR is the whole rule (lead_q).
    Each branch alone can walk an index in the list's order; their OR cannot (a salesperson's own
    leads OR the claim pool joins every lead to its routing row), so the lead lists page each
    branch and merge them (leads_for_branches, common.pagination.paginate_branches)."""
    in_stores = store_q(viewer, f"{prefix}store")
    if viewer.staff is None and not viewer.everything:
        return [Q(pk__in=[])]
    if viewer.is_store_wide:
        return [in_stores]
    if viewer.is_manager:
        # Their teams' people's leads (by owner id, an index each; not through a join to staff),
        # and the unassigned leads they hand out.
        members = Staff.objects.filter(team_id__in=viewer.managed_team_ids()).values("pk")
        return [
            in_stores & Q(**{f"{prefix}owner_id__in": members}),
            in_stores & Q(**{f"{prefix}owner__isnull": True}),
        ]
    if viewer.is_receptionist:
        since = timezone.now() - timedelta(hours=24)
        return [in_stores & (Q(**{f"{prefix}owner__isnull": True}) | Q(**{f"{prefix}received_at__gte": since}))]
    # Salespeople: their own leads and the claim-pool leads whose rule's pool they are in.
    return [
        in_stores & Q(**{f"{prefix}owner_id": viewer.staff.pk}),
        in_stores & Q(**{f"{prefix}in_claim_pool": True, f"{prefix}owner__isnull": True}) & _claim_pool_q(viewer.staff, prefix),
    ]


def leads_for(user):
    return Lead.objects.filter(lead_q(viewer_for(user)))


def claim_targets_for(user):
    """The leads a claim may name: those the caller sees, and, for a salesperson, every lead of
    their store that a claim-pool rule put in a pool. So a late claim hears who has the lead
    (409) and someone outside its pool why they cannot have it (400), not a bare 404."""
    viewer = viewer_for(user)
    visible = lead_q(viewer)
    if (viewer.staff is None or viewer.is_store_wide or viewer.is_manager or viewer.is_receptionist
            or _pooled_rule is None):
        return Lead.objects.filter(visible)
    return Lead.objects.filter(visible | (store_q(viewer) & _pooled_rule()))


def leads_for_branches(user) -> list:
    """leads_for as disjoint querysets whose union is exactly leads_for (see _lead_branches):
    for a list that pages them in one order (common.pagination.paginate_branches). The lead model
    comes from leads_for's queryset, not from one more import of leads, the layer above org."""
    lead_model = leads_for(user).model
    return [lead_model.objects.filter(branch) for branch in _lead_branches(viewer_for(user))]


def check_in_leads_for(user):
    """The leads a user may check a customer in on: what they see, and for the receptionist
    every open lead of her store (a customer whose internet lead came days ago walks in)."""
    viewer = viewer_for(user)
    if viewer.is_receptionist and viewer.staff is not None:
        return Lead.objects.filter(Q(lead_q(viewer)) | Q(store_id=viewer.staff.store_id, status__in=OPEN_STATUSES))
    return leads_for(user)


def customers_for(user):
    viewer = viewer_for(user)
    customers = Customer.objects.filter(store_q(viewer))
    if viewer.is_store_wide:
        return customers
    # A customer merged into one they see (leads.merge) has no leads left, and stays theirs: its
    # contact history is part of the survivor's. One subquery either way (coverage reads it per event).
    visible_leads = Lead.objects.filter(lead_q(viewer), customer_id=Coalesce(OuterRef("merged_into_id"), OuterRef("pk")))
    return customers.filter(Exists(visible_leads))


def contact_events_for(user):
    """The contact events a user may read: exactly those whose lead they see (the lead detail's
    rule, leads_for); an event on no lead follows its customer's leads (customers_for). So an
    agent does not read another agent's texts on a shared customer: their lead is not theirs."""
    viewer = viewer_for(user)
    events = ContactEvent.objects.filter(store_q(viewer))
    if viewer.is_store_wide:
        return events
    visible_lead = Lead.objects.filter(lead_q(viewer), pk=OuterRef("lead_id"))
    visible_customer_lead = Lead.objects.filter(lead_q(viewer), customer_id=OuterRef("customer_id"))
    return events.filter(
        (Q(lead__isnull=False) & Q(Exists(visible_lead))) | (Q(lead__isnull=True) & Q(Exists(visible_customer_lead)))
    )


def contact_events_for_coverage(user):
    """Every event on the customers a user sees, whoever's lead it is on: only to judge coverage
    (who is covered until when), never to show an event. Reading an event is contact_events_for."""
    viewer = viewer_for(user)
    events = ContactEvent.objects.filter(store_q(viewer))
    if viewer.is_store_wide:
        return events
    return events.filter(customer__in=customers_for(user))


def rejected_intakes_for(user):
    viewer = viewer_for(user)
    if not viewer.is_store_wide:
        return RejectedIntake.objects.none()
    if viewer.everything:
        return RejectedIntake.objects.all()
    return RejectedIntake.objects.filter(store__in=stores_for(user))


def tasks_for(user):
    """Follow-up tasks: a salesperson's (and a receptionist's) own; a sales manager's own, their
    teams' and the store's unowned ones; directors and admins the store's (the group's)."""
    viewer = viewer_for(user)
    tasks = Task.objects.filter(store_q(viewer))
    if viewer.everything or viewer.is_store_wide:
        return tasks
    if viewer.staff is None:
        return tasks.none()
    if viewer.is_manager:
        return tasks.filter(
            Q(staff_id=viewer.staff.pk) | Q(staff__team_id__in=viewer.managed_team_ids()) | Q(staff__isnull=True)
        )
    return tasks.filter(staff_id=viewer.staff.pk)


def appointments_for(user):
    """Appointments: directors, admins and the receptionist (who checks customers in) see the
    store's; others those on leads they see and those that are theirs."""
    viewer = viewer_for(user)
    appointments = Appointment.objects.filter(store_q(viewer))
    if viewer.everything or viewer.is_store_wide or viewer.is_receptionist:
        return appointments
    if viewer.staff is None:
        return appointments.none()
    # EXISTS per appointment (a primary-key probe), not IN (every lead the viewer sees): a manager
    # sees a third of a store's million leads, and today has a few dozen appointments.
    return appointments.filter(Q(staff_id=viewer.staff.pk) | Exists(leads_for(user).filter(pk=OuterRef("lead_id"))))


def can_work_lead(user, lead) -> bool:
    """Who may change a lead's status (seeing it is not enough): its owner, the owner's sales
    manager (or any manager for an unassigned lead), and the store's director and admins.
    A salesperson claims a pool lead before working it; the receptionist hands leads out."""
    viewer = viewer_for(user)
    if viewer.everything:
        return True
    if viewer.staff is None or not leads_for(user).filter(pk=lead.pk).exists():
        return False
    if viewer.is_store_wide:
        return True
    if viewer.is_manager:
        return lead.owner_id is None or lead.owner.team_id in viewer.managed_team_ids()
    return lead.owner_id == viewer.staff.pk


def leads_recordable_for(user):
    """The leads a sale may be recorded on, and the record-sale search lists: every lead of the
    stores the user works in (the retail manager records a sale on the customer an internet
    agent worked, whose lead they do not otherwise see). Who may record which sale is
    dealcoverage.permissions.can_record_deal; the receptionist records none."""
    viewer = viewer_for(user)
    if viewer.is_receptionist:
        return Lead.objects.none()
    return Lead.objects.filter(store_q(viewer))


def customers_recordable_for(user):
    """The customers a sale may name: those of the stores the user records sales for."""
    viewer = viewer_for(user)
    if viewer.is_receptionist:
        return Customer.objects.none()
    return Customer.objects.filter(store_q(viewer))
