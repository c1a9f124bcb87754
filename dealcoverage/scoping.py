"""Who sees coverage's rows: policy versions, deals and disputes (browser and API alike).
Registered with org.scoping.scoped in dealcoverage.apps."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from dealcoverage.models import CoveragePolicy, Deal, DealCredit, Dispute
from leads.models import ContactEvent
from org.models import Staff
from org.scoping import Viewer, store_q, viewer_for


def coverage_policies_for(user):
    """Every staff member sees their store's coverage policy versions (the rule they work under)."""
    return CoveragePolicy.objects.filter(store_q(viewer_for(user)))


def deal_people(viewer: Viewer) -> list[int]:
    """The people whose deals a viewer sees as theirs: themselves, and for a sales manager the
    members of the teams they manage."""
    people = [viewer.staff.pk]
    if viewer.is_manager:
        people += list(Staff.objects.filter(team_id__in=viewer.managed_team_ids()).values_list("pk", flat=True))
    return people


def deal_concerns_q(viewer: Viewer) -> Q:
    """Deals that concern a non-store-wide viewer (or, for a sales manager, one of their teams'
    people): closed by them, credited to them (any credit, an overridden original included),
    judged by the frozen decision (covered or not: its `decisions`, or `skipped` for want of a
    policy), or on a customer they worked before the sale (a call typed in late is exactly what
    a dispute is for). A manager also sees the deals whose team credit is theirs."""
    people = deal_people(viewer)
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
    viewer = viewer_for(user)
    deals = Deal.objects.filter(store_q(viewer))
    if viewer.is_store_wide or viewer.staff is None:
        return deals
    return deals.filter(deal_concerns_q(viewer))


def deals_disputable_by(user):
    """The deals a dispute may name (beyond this, 404): exactly the ones the caller sees
    (deals_for). Whether they may dispute is dealcoverage.permissions.can_raise_dispute."""
    return deals_for(user)


def disputes_for(user):
    """Disputes on deals the caller sees, and the ones they raised; a manager also sees those
    their team members raised (their review queue)."""
    viewer = viewer_for(user)
    disputes = Dispute.objects.filter(store_q(viewer, "deal__store"))
    if viewer.is_store_wide or viewer.staff is None:
        return disputes
    # EXISTS per dispute, not IN: a store has a handful of disputes and a hundred thousand deals.
    mine = Q(Exists(deals_for(user).filter(pk=OuterRef("deal_id")))) | Q(raised_by_id=viewer.staff.pk)
    if viewer.is_manager:
        mine |= Q(raised_by__team_id__in=viewer.managed_team_ids())
    return disputes.filter(mine)
