"""Who may do what with deals and their credit: one predicate per action.

dealcoverage.services enforces these (PermissionDenied with the message below), and the browser
views and the REST API ask the same functions before they parse a form, so both channels give
the same answer. Seeing a deal or a dispute is org.scoping's business (outside it: 404).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from dealcoverage.models import Deal, DealCredit, Dispute
from leads import aliases
from leads.models import ContactEvent
from org.models import Role, Staff, Store
from org.scoping import stores_for, viewer_for

RECORD_REFUSED = (
    "Only the closer, the closer's sales manager, the sales manager of the lead's owner, the director and "
    "admins record a sale (the receptionist does not)."
)
OVERRIDE_REFUSED = "Only sales managers, the director and admins override credit."
DISPUTE_RAISE_REFUSED = (
    "Only someone this deal concerns (its closer, whom its decision judged, who holds or held a credit on it, "
    "or who worked its customer before the sale) disputes it."
)
DISPUTE_RESOLVE_REFUSED = "Only the sales managers of the people on this deal, the director and admins settle its dispute."


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _in_stores(user, store_id: int) -> bool:
    viewer = viewer_for(user)
    if viewer.everything:
        return True
    if viewer.staff is None:
        return False
    return viewer.staff.store_id == store_id or stores_for(user).filter(pk=store_id).exists()


# --- record a sale -------------------------------------------------------------------------------

def can_record_deal(user, store: Store | None = None, *, closer: Staff | None = None, lead=None) -> bool:
    """Who records a sale: the closer, the closer's sales manager, the sales manager of the
    lead's owner, and the store's director and admins. Without a closer (may this user open the
    record-sale page at all?): staff of the store other than the receptionist."""
    viewer = viewer_for(user)
    if viewer.everything:
        return True
    if viewer.staff is None or viewer.role == Role.RECEPTIONIST:
        return False
    if store is not None and not _in_stores(user, store.pk):
        return False
    if closer is None or viewer.is_store_wide or closer.pk == viewer.staff.pk:
        return True
    if not viewer.is_manager:
        return False
    managed = set(viewer.managed_team_ids())
    if closer.team_id is not None and closer.team_id in managed:
        return True
    owner = getattr(lead, "owner", None) if lead is not None else None
    return owner is not None and owner.team_id is not None and owner.team_id in managed


# --- override credit -----------------------------------------------------------------------------

def may_review(user) -> bool:
    """Sales managers, directors and admins settle credit (the deal list's review dashboard)."""
    viewer = viewer_for(user)
    return viewer.everything or viewer.is_manager or viewer.is_store_wide


def can_override_credit(user, deal: Deal) -> bool:
    """A sales manager, director or admin of the deal's store (which deals a manager can reach
    is their scope, dealcoverage.scoping.deals_for, which both channels look the deal up in: 404)."""
    return may_review(user) and _in_stores(user, deal.store_id)


# --- disputes ------------------------------------------------------------------------------------

def concerned_staff_ids(deal: Deal) -> set[int]:
    """The people a deal concerns: its closer, everyone its credit decision judged, and everyone
    who holds or held a credit on it (an overridden original included)."""
    ids = {deal.closer_id}
    for key in ((deal.decision or {}).get("decisions") or {}):
        try:
            ids.add(int(key))
        except (TypeError, ValueError):
            continue
    for skipped in ((deal.decision or {}).get("skipped") or []):
        try:
            ids.add(int(skipped["staff_id"]))
        except (KeyError, TypeError, ValueError):
            continue
    ids |= set(DealCredit.objects.filter(deal_id=deal.pk).values_list("staff_id", flat=True))
    return ids


def worked_before_the_sale(staff_id: int, deal: Deal) -> bool:
    """A contact event of theirs on the deal's customer from before the sale: a call typed in
    late was not in the decision, and is exactly what a dispute is for."""
    return ContactEvent.objects.filter(
        store_id=deal.store_id, customer_id__in=aliases.family(deal.customer_id), staff_id=staff_id,
        occurred_at__lte=deal.sold_at,
    ).exists()


def can_raise_dispute(user, deal: Deal) -> bool:
    """Someone the deal concerns, of its store: its closer, whom its decision judged, who holds or
    held a credit on it, or who worked its customer before the sale. One open dispute per deal
    is the service's rule (a ValidationError, not a refusal)."""
    viewer = viewer_for(user)
    if viewer.staff is None or viewer.staff.store_id != deal.store_id:
        return False
    return viewer.staff.pk in concerned_staff_ids(deal) or worked_before_the_sale(viewer.staff.pk, deal)


def can_resolve_dispute(user, dispute: Dispute) -> bool:
    """The sales managers of the people involved (whom the deal concerns, and who raised it), the
    director and admins of the store."""
    viewer = viewer_for(user)
    deal = dispute.deal
    if not _in_stores(user, deal.store_id):
        return False
    if viewer.everything or viewer.is_store_wide:
        return True
    if not viewer.is_manager:
        return False
    people = concerned_staff_ids(deal) | {dispute.raised_by_id}
    if Staff.objects.filter(pk__in=people, team__manager_id=viewer.staff.pk).exists():
        return True
    return DealCredit.objects.filter(deal_id=deal.pk, team_manager_id=viewer.staff.pk).exists()
