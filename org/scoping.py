"""Who may see what: the one place every view, API endpoint and admin list asks.

- a salesperson (internet agent, retail, fleet): their own leads and the store's claim pool;
- a sales manager: their teams' leads plus the store's unassigned leads (they assign them);
- an internet director: the whole store;
- a receptionist: only what her board needs: the store's unassigned leads and today's leads;
- an admin / dealer principal: every store of the group; a Django superuser: everything.

Anything outside the scope is simply absent from the queryset, so a lookup by id answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from org.models import Role, Staff, Store, Team

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Viewer:
    user_id: int
    staff: Staff | None
    everything: bool = False

    @property
    def role(self) -> str | None:
        return self.staff.role if self.staff else None

    @property
    def is_group_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_store_wide(self) -> bool:
        return self.role in (Role.INTERNET_DIRECTOR, Role.ADMIN) or self.everything

    @property
    def is_manager(self) -> bool:
        return self.role == Role.SALES_MANAGER

    @property
    def is_receptionist(self) -> bool:
        return self.role == Role.RECEPTIONIST

    def managed_team_ids(self) -> list[int]:
        if not self.staff:
            return []
        return list(Team.objects.filter(manager=self.staff).values_list("id", flat=True))


def viewer_for(user) -> Viewer:
    """The viewer for a request's user, cached on the user object for the request."""
    cached = getattr(user, "_dealercrm_viewer", None)
    if cached is not None:
        return cached
    if not user or not user.is_authenticated:
        viewer = Viewer(user_id=0, staff=None)
    else:
        # The class's descriptor: a SimpleLazyObject (a session's request.user) has none.
        descriptor = getattr(type(user), "staff", None)
        related = getattr(descriptor, "related", None)
        if related is not None and related.is_cached(user):
            # Read with the API token (org.authentication), store included; None: not staff.
            staff = related.get_cached_value(user)
            staff = staff if staff is not None and staff.is_active else None
        else:
            # order_by("pk"): the model's default ordering would join the user table just to sort one row.
            staff = Staff.objects.select_related("store").filter(user_id=user.pk, is_active=True).order_by("pk").first()
        if staff is not None:
            staff.user = user  # already loaded by authentication
        viewer = Viewer(user_id=user.pk, staff=staff, everything=bool(user.is_superuser and staff is None))
    user._dealercrm_viewer = viewer
    return viewer


def stores_for(user) -> QuerySet[Store]:
    viewer = viewer_for(user)
    if viewer.everything:
        return Store.objects.all()
    if viewer.staff is None:
        return Store.objects.none()
    if viewer.is_group_admin:
        return Store.objects.filter(group_id=viewer.staff.store.group_id)
    return Store.objects.filter(pk=viewer.staff.store_id)


def _store_filter(viewer: Viewer, path: str = "store") -> Q:
    if viewer.everything:
        return Q()
    if viewer.staff is None:
        return Q(pk__in=[])
    if viewer.is_group_admin:
        return Q(**{f"{path}__group_id": viewer.staff.store.group_id})
    return Q(**{f"{path}_id": viewer.staff.store_id})


def _lead_filter(viewer: Viewer, prefix: str = "") -> Q:
    """The Q selecting the leads a viewer may see; prefix lets customers/events reuse it."""
    branches = _lead_branches(viewer, prefix)
    q = branches[0]
    for branch in branches[1:]:
        q |= branch
    return q


def _lead_branches(viewer: Viewer, prefix: str = "") -> list[Q]:
    """The leads a viewer may see, as disjoint branches whose OR is the whole rule (_lead_filter).
    Each branch alone can walk an index in the list's order; their OR cannot (a salesperson's own
    leads OR the claim pool joins every lead to its routing row), so the lead lists page each
    branch and merge them (leads_for_branches, org.pagination.paginate_branches)."""
    store_q = _store_filter(viewer, f"{prefix}store")
    if viewer.staff is None and not viewer.everything:
        return [Q(pk__in=[])]
    if viewer.is_store_wide:
        return [store_q]
    if viewer.is_manager:
        # Their teams' people's leads (by owner id, an index each; not through a join to staff),
        # and the unassigned leads they hand out.
        members = Staff.objects.filter(team_id__in=viewer.managed_team_ids()).values("pk")
        return [
            store_q & Q(**{f"{prefix}owner_id__in": members}),
            store_q & Q(**{f"{prefix}owner__isnull": True}),
        ]
    if viewer.is_receptionist:
        since = timezone.now() - timedelta(hours=24)
        return [store_q & (Q(**{f"{prefix}owner__isnull": True}) | Q(**{f"{prefix}received_at__gte": since}))]
    # Salespeople: their own leads and the claim-pool leads whose rule's pool they are in.
    return [
        store_q & Q(**{f"{prefix}owner_id": viewer.staff.pk}),
        store_q & Q(**{f"{prefix}in_claim_pool": True, f"{prefix}owner__isnull": True}) & _claim_pool_q(viewer.staff, prefix),
    ]


def _claim_pool_q(staff, prefix: str) -> Q:
    from distribution.models import RoutingRule
    from org.models import SALES_ROLES

    member = Q(pool_staff=staff.pk) | Q(pool_role=staff.role)
    if staff.team_id and staff.role in SALES_ROLES:
        member |= Q(pool_teams=staff.team_id)
    in_pool = RoutingRule.objects.filter(member, pk=OuterRef(f"{prefix}routing__rule_id"))
    return Q(**{f"{prefix}routing__rule__isnull": True}) | Q(Exists(in_pool))


def leads_for(user):
    from leads.models import Lead

    return Lead.objects.filter(_lead_filter(viewer_for(user)))


def leads_for_branches(user) -> list:
    """leads_for as disjoint querysets whose union is exactly leads_for (see _lead_branches):
    for a list that pages them in one order (org.pagination.paginate_branches). The lead model
    comes from leads_for's queryset, not from one more import of leads, the layer above org."""
    lead_model = leads_for(user).model
    return [lead_model.objects.filter(branch) for branch in _lead_branches(viewer_for(user))]


def claim_targets_for(user):
    """The leads a claim may name: those the caller sees, and, for a salesperson, every lead of
    their store that a claim-pool rule put in a pool. So a late claim hears who has the lead
    (409) and someone outside its pool why they cannot have it (400), not a bare 404."""
    from distribution.models import Strategy
    from leads.models import Lead

    viewer = viewer_for(user)
    visible = _lead_filter(viewer)
    if viewer.staff is None or viewer.is_store_wide or viewer.is_manager or viewer.is_receptionist:
        return Lead.objects.filter(visible)
    return Lead.objects.filter(visible | (_store_filter(viewer) & Q(routing__strategy=Strategy.CLAIM_POOL)))


def check_in_leads_for(user):
    """The leads a user may check a customer in on: what they see, and for the receptionist
    every open lead of her store (a customer whose internet lead came days ago walks in)."""
    from leads.models import OPEN_STATUSES, Lead

    viewer = viewer_for(user)
    if viewer.is_receptionist and viewer.staff is not None:
        return Lead.objects.filter(Q(_lead_filter(viewer)) | Q(store_id=viewer.staff.store_id, status__in=OPEN_STATUSES))
    return leads_for(user)


def customers_for(user):
    from leads.models import Customer, Lead

    viewer = viewer_for(user)
    customers = Customer.objects.filter(_store_filter(viewer))
    if viewer.is_store_wide:
        return customers
    # A customer merged into one they see (leads.merge) has no leads left, and stays theirs: its
    # contact history is part of the survivor's. One subquery either way (coverage reads it per event).
    visible_leads = Lead.objects.filter(_lead_filter(viewer), customer_id=Coalesce(OuterRef("merged_into_id"), OuterRef("pk")))
    return customers.filter(Exists(visible_leads))


def contact_events_for(user):
    """The contact events a user may read: exactly those whose lead they see (the lead detail's
    rule, leads_for); an event on no lead follows its customer's leads (customers_for). So an
    agent does not read another agent's texts on a shared customer: their lead is not theirs."""
    from leads.models import ContactEvent, Lead

    viewer = viewer_for(user)
    events = ContactEvent.objects.filter(_store_filter(viewer))
    if viewer.is_store_wide:
        return events
    visible_lead = Lead.objects.filter(_lead_filter(viewer), pk=OuterRef("lead_id"))
    visible_customer_lead = Lead.objects.filter(_lead_filter(viewer), customer_id=OuterRef("customer_id"))
    return events.filter(
        (Q(lead__isnull=False) & Q(Exists(visible_lead))) | (Q(lead__isnull=True) & Q(Exists(visible_customer_lead)))
    )


def contact_events_for_coverage(user):
    """Every event on the customers a user sees, whoever's lead it is on: only to judge coverage
    (who is covered until when), never to show an event. Reading an event is contact_events_for."""
    from leads.models import ContactEvent

    viewer = viewer_for(user)
    events = ContactEvent.objects.filter(_store_filter(viewer))
    if viewer.is_store_wide:
        return events
    return events.filter(customer__in=customers_for(user))


def staff_for(user) -> QuerySet[Staff]:
    return Staff.objects.filter(_store_filter(viewer_for(user)))


def teams_for(user) -> QuerySet[Team]:
    return Team.objects.filter(_store_filter(viewer_for(user)))


def rejected_intakes_for(user):
    from leads.models import RejectedIntake

    viewer = viewer_for(user)
    if not viewer.is_store_wide:
        return RejectedIntake.objects.none()
    if viewer.everything:
        return RejectedIntake.objects.all()
    return RejectedIntake.objects.filter(store__in=stores_for(user))


def routing_rules_for(user):
    """Sales managers read their store's routing rules; directors and admins (who edit them) too."""
    from distribution.models import RoutingRule

    viewer = viewer_for(user)
    if not (viewer.everything or viewer.is_store_wide or viewer.is_manager):
        return RoutingRule.objects.none()
    return RoutingRule.objects.filter(_store_filter(viewer))


def notifications_for(user):
    """Everyone sees only their own notifications."""
    from distribution.models import Notification

    viewer = viewer_for(user)
    if viewer.staff is None:
        return Notification.objects.none()
    return Notification.objects.filter(staff_id=viewer.staff.pk)


def manager_queue_for(user):
    """Open, ownerless leads waiting for a manager (or for a shift). Directors and admins see the
    store's; a sales manager those no rule took and those of rules whose queue is theirs, as
    distribution.pools.managers_of decides: the rule names them, or names no manager and pools
    one of their teams, or names no manager and pools no managed team (then every manager)."""
    from distribution.models import RoutingRule, RoutingState
    from leads.models import OPEN_STATUSES

    viewer = viewer_for(user)
    leads = leads_for(user).filter(
        routing__state__in=[RoutingState.MANAGER, RoutingState.WAITING], owner__isnull=True, status__in=OPEN_STATUSES
    )
    if viewer.everything or viewer.is_store_wide:
        return leads
    if not viewer.is_manager:
        return leads.none()
    pooled = RoutingRule.pool_teams.through.objects.filter(routingrule_id=OuterRef("pk"))
    rules = RoutingRule.objects.filter(pk=OuterRef("routing__rule_id")).filter(
        Q(manager_id=viewer.staff.pk)
        | (Q(manager__isnull=True) & Q(Exists(pooled.filter(team_id__in=viewer.managed_team_ids()))))
        | (Q(manager__isnull=True) & ~Q(Exists(pooled.filter(team__manager__isnull=False))))
    )
    return leads.filter(Q(routing__rule__isnull=True) | Q(Exists(rules)))


def tasks_for(user):
    """Follow-up tasks: a salesperson's (and a receptionist's) own; a sales manager's own, their
    teams' and the store's unowned ones; directors and admins the store's (the group's)."""
    from leads.models import Task

    viewer = viewer_for(user)
    tasks = Task.objects.filter(_store_filter(viewer))
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
    from leads.models import Appointment

    viewer = viewer_for(user)
    appointments = Appointment.objects.filter(_store_filter(viewer))
    if viewer.everything or viewer.is_store_wide or viewer.is_receptionist:
        return appointments
    if viewer.staff is None:
        return appointments.none()
    # EXISTS per appointment (a primary-key probe), not IN (every lead the viewer sees): a manager
    # sees a third of a store's million leads, and today has a few dozen appointments.
    return appointments.filter(Q(staff_id=viewer.staff.pk) | Exists(leads_for(user).filter(pk=OuterRef("lead_id"))))


def scoped(user, model: type[M]) -> QuerySet[M]:
    """The viewer's queryset for any scoped model; the admin and generic views use this."""
    from dealcoverage import models as cm
    from distribution import models as dm
    from leads import models as lm

    registry = {
        cm.CoveragePolicy: coverage_policies_for,
        cm.Deal: deals_for,
        cm.Dispute: disputes_for,
        Store: stores_for,
        Staff: staff_for,
        Team: teams_for,
        lm.Lead: leads_for,
        lm.Customer: customers_for,
        lm.ContactEvent: contact_events_for,
        lm.RejectedIntake: rejected_intakes_for,
        lm.Task: tasks_for,
        lm.Appointment: appointments_for,
        dm.RoutingRule: routing_rules_for,
        dm.Notification: notifications_for,
    }
    if model in registry:
        return registry[model](user)
    raise LookupError(f"{model.__name__} has no scope rule; add one to org.scoping.scoped")


def page_store(request, viewer: Viewer) -> Store:
    """The store a store-level page is about: ?store= (or a posted store) among the stores the
    user may see, else their own store, else (a superuser) the first. Anything else is a 404."""
    from django.http import Http404

    stores = stores_for(request.user)
    wanted = request.POST.get("store") or request.GET.get("store")
    if wanted:
        if not str(wanted).isdigit():
            raise Http404("No such store.")
        store = stores.filter(pk=int(wanted)).first()
        if store is None:
            raise Http404("No such store.")
        return store
    if viewer.staff is not None:
        return viewer.staff.store
    store = stores.order_by("name").first()
    if store is None:
        raise Http404("No store.")
    return store


def can_manage_store(user, store: Store) -> bool:
    """Directors and admins configure a store; others only work in it."""
    viewer = viewer_for(user)
    return viewer.is_store_wide and stores_for(user).filter(pk=store.pk).exists()


def schedules_editable(user, people) -> set[int]:
    """Whose schedules (of `people`) the user may change: directors and admins anyone's in their
    stores; a sales manager the people of the teams they manage."""
    viewer = viewer_for(user)
    visible = set(stores_for(user).filter(pk__in={p.store_id for p in people}).values_list("pk", flat=True))
    managed = set(viewer.managed_team_ids()) if viewer.is_manager else set()
    return {
        p.pk for p in people
        if p.store_id in visible and (viewer.everything or viewer.is_store_wide or (p.team_id is not None and p.team_id in managed))
    }


def can_edit_schedule(user, staff: Staff) -> bool:
    return staff.pk in schedules_editable(user, [staff])


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


def can_assign_leads(user) -> bool:
    viewer = viewer_for(user)
    return viewer.everything or viewer.is_store_wide or viewer.is_manager or viewer.is_receptionist


def coverage_policies_for(user):
    """Every staff member sees their store's coverage policy versions (the rule they work under)."""
    from dealcoverage.models import CoveragePolicy

    return CoveragePolicy.objects.filter(_store_filter(viewer_for(user)))


def _deal_people(viewer: Viewer) -> list[int]:
    """The people whose deals a viewer sees as theirs: themselves, and for a sales manager the
    members of the teams they manage."""
    people = [viewer.staff.pk]
    if viewer.is_manager:
        people += list(Staff.objects.filter(team_id__in=viewer.managed_team_ids()).values_list("pk", flat=True))
    return people


def _deal_concerns_q(viewer: Viewer) -> Q:
    """Deals that concern a non-store-wide viewer (or, for a sales manager, one of their teams'
    people): closed by them, credited to them (any credit, an overridden original included),
    judged by the frozen decision (covered or not: its `decisions`, or `skipped` for want of a
    policy), or on a customer they worked before the sale (a call typed in late is exactly what
    a dispute is for). A manager also sees the deals whose team credit is theirs."""
    from dealcoverage.models import DealCredit
    from leads.models import ContactEvent

    people = _deal_people(viewer)
    credited = Q(staff_id__in=people)
    if viewer.is_manager:
        credited |= Q(team_manager_id=viewer.staff.pk)
    judged = Q(decision__decisions__has_any_keys=[str(pk) for pk in people])
    for pk in people:
        judged |= Q(decision__skipped__contains=[{"staff_id": pk}])
    worked = ContactEvent.objects.filter(
        store_id=OuterRef("store_id"), customer_id=OuterRef("customer_id"), staff_id__in=people,
        occurred_at__lte=OuterRef("sold_at"),
    )
    return (
        Q(closer_id__in=people) | Q(Exists(DealCredit.objects.filter(credited, deal_id=OuterRef("pk"))))
        | judged | Q(Exists(worked))
    )


def deals_for(user):
    """The deals a user sees, in the deal list, on the lead page and by id (browser and API alike):
    a salesperson the deals that concern them (closed, credited, judged, or on a customer they
    worked before the sale); a sales manager those that concern anyone on their teams; directors
    and admins the store (the group for admins)."""
    from dealcoverage.models import Deal

    viewer = viewer_for(user)
    deals = Deal.objects.filter(_store_filter(viewer))
    if viewer.is_store_wide or viewer.staff is None:
        return deals
    return deals.filter(_deal_concerns_q(viewer))


def deals_disputable_by(user):
    """The deals a dispute may name (beyond this, 404): exactly the ones the caller sees
    (deals_for). Whether they may dispute is dealcoverage.permissions.can_raise_dispute."""
    return deals_for(user)


def leads_recordable_for(user):
    """The leads a sale may be recorded on, and the record-sale search lists: every lead of the
    stores the user works in (the retail manager records a sale on the customer an internet
    agent worked, whose lead they do not otherwise see). Who may record which sale is
    dealcoverage.permissions.can_record_deal; the receptionist records none."""
    from leads.models import Lead

    viewer = viewer_for(user)
    if viewer.is_receptionist:
        return Lead.objects.none()
    return Lead.objects.filter(_store_filter(viewer))


def customers_recordable_for(user):
    """The customers a sale may name: those of the stores the user records sales for."""
    from leads.models import Customer

    viewer = viewer_for(user)
    if viewer.is_receptionist:
        return Customer.objects.none()
    return Customer.objects.filter(_store_filter(viewer))


def disputes_for(user):
    """Disputes on deals the caller sees, and the ones they raised; a manager also sees those
    their team members raised (their review queue)."""
    from dealcoverage.models import Dispute

    viewer = viewer_for(user)
    disputes = Dispute.objects.filter(_store_filter(viewer, "deal__store"))
    if viewer.is_store_wide or viewer.staff is None:
        return disputes
    # EXISTS per dispute, not IN: a store has a handful of disputes and a hundred thousand deals.
    mine = Q(Exists(deals_for(user).filter(pk=OuterRef("deal_id")))) | Q(raised_by_id=viewer.staff.pk)
    if viewer.is_manager:
        mine |= Q(raised_by__team_id__in=viewer.managed_team_ids())
    return disputes.filter(mine)
