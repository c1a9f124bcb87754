"""Who sees distribution's rows: routing rules, notifications, the manager queue, the leads a
claim may name are leads.scoping's; which claim-pool leads a salesperson sees (registered with leads.scoping).
Registered with org.scoping.scoped in distribution.apps."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from distribution.models import Notification, RoutingRule, RoutingState, Strategy
from leads.models import OPEN_STATUSES
from leads.scoping import leads_for
from org.models import SALES_ROLES, Role
from org.scoping import Viewer, store_q, stores_for, viewer_for

# Who works the receptionist board: the store's receptionist and its managers.
BOARD_ROLES = {Role.RECEPTIONIST, Role.SALES_MANAGER, Role.INTERNET_DIRECTOR, Role.ADMIN}


def may_use_board(viewer: Viewer) -> bool:
    return viewer.staff is not None and viewer.staff.role in BOARD_ROLES


def may_use_queue(viewer: Viewer) -> bool:
    """The manager queue is for sales managers, the internet director and admins."""
    return viewer.everything or viewer.is_store_wide or viewer.is_manager


def routing_audience(user) -> set[int] | None:
    """The stores whose board or manager queue this viewer works (None: every store): their open
    pages are told when a lead enters or leaves either (live.events, topic "routing")."""
    viewer = viewer_for(user)
    if viewer.everything:
        return None
    stores: set[int] = set()
    if viewer.staff is not None and may_use_board(viewer):
        stores.add(viewer.staff.store_id)
    if may_use_queue(viewer):
        stores.update(stores_for(user).values_list("pk", flat=True))
    return stores


def claim_pool_q(staff, prefix: str) -> Q:
    """The claim-pool leads a salesperson may see: those of rules whose pool names them, their
    role or their team (and pool leads of no rule). Registered with leads.scoping."""
    member = Q(pool_staff=staff.pk) | Q(pool_role=staff.role)
    if staff.team_id and staff.role in SALES_ROLES:
        member |= Q(pool_teams=staff.team_id)
    in_pool = RoutingRule.objects.filter(member, pk=OuterRef(f"{prefix}routing__rule_id"))
    return Q(**{f"{prefix}routing__rule__isnull": True}) | Q(Exists(in_pool))


def claim_pool_leads_q() -> Q:
    """The leads a claim-pool rule put in a pool, claimed since or not (leads.scoping.claim_targets_for)."""
    return Q(routing__strategy=Strategy.CLAIM_POOL)


def routing_rules_for(user):
    """Sales managers read their store's routing rules; directors and admins (who edit them) too."""
    viewer = viewer_for(user)
    if not (viewer.everything or viewer.is_store_wide or viewer.is_manager):
        return RoutingRule.objects.none()
    return RoutingRule.objects.filter(store_q(viewer))


def notifications_for(user):
    """Everyone sees only their own notifications."""
    viewer = viewer_for(user)
    if viewer.staff is None:
        return Notification.objects.none()
    return Notification.objects.filter(staff_id=viewer.staff.pk)


def manager_queue_for(user):
    """Open, ownerless leads waiting for a manager (or for a shift). Directors and admins see the
    store's; a sales manager those no rule took and those of rules whose queue is theirs, as
    distribution.pools.managers_of decides: the rule names them, or names no manager and pools
    one of their teams, or names no manager and pools no managed team (then every manager)."""
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
