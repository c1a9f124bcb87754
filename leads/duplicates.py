"""Possible duplicate customers: what a reviewer sees and decides (issue 15).

Intake records a pair when a lead shared a phone or an email with a customer under a clearly
different name (leads.identity, leads.services.customer_match_or_create). The store's managers,
its director and admins review them: "different people" is remembered, so the pair is never asked
again. Browser, API and admin go through these functions and leads.permissions.can_review_duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from leads import aliases
from leads.models import (
    ContactEvent,
    Customer,
    CustomerEmail,
    CustomerMerge,
    CustomerPhone,
    DuplicateStatus,
    Lead,
    PossibleDuplicate,
)
from leads.permissions import DUPLICATES_REFUSED, can_review_duplicates, require
from leads.scoping import leads_for
from org.scoping import stores_for, viewer_for


def duplicates_for(user):
    """The pairs of the user's stores, for a reviewer; nothing for anyone else."""
    if not can_review_duplicates(user):
        return PossibleDuplicate.objects.none()
    return PossibleDuplicate.objects.filter(store__in=stores_for(user))


def merges_for(user):
    """The merges of the user's stores, for a reviewer; nothing for anyone else."""
    if not can_review_duplicates(user):
        return CustomerMerge.objects.none()
    return CustomerMerge.objects.filter(store__in=stores_for(user))


def pending_for_customers(user, customer_ids: list[int]) -> list[PossibleDuplicate]:
    """The pending pairs naming any of these customers (a lead page's banner), for a reviewer."""
    return list(
        duplicates_for(user).filter(Q(customer_id__in=customer_ids) | Q(other_id__in=customer_ids),
                                    status=DuplicateStatus.PENDING)
        .select_related("customer", "other").order_by("-created_at", "-pk")
    )


@dataclass
class Side:
    """One customer of a pair as the reviewer compares them."""

    customer: Customer
    phones: list
    emails: list[str]
    leads: list[Lead]
    events: int
    last_contact: object  # datetime | None


def sides(pairs: list[PossibleDuplicate], user) -> dict[int, Side]:
    """Both customers of every pair, with phones, emails, leads (owner, status; `lead.visible`: the
    user may open it) and their contact history's size and latest moment, with the customers merged
    into them (leads.aliases): seven queries for any number of pairs."""
    ids = {p.customer_id for p in pairs} | {p.other_id for p in pairs}
    if not ids:
        return {}
    customers = Customer.objects.in_bulk(ids)
    phones: dict[int, list] = {i: [] for i in ids}  # PhoneNumber: the pages show numbers as_national
    emails: dict[int, list[str]] = {i: [] for i in ids}
    for customer_id, number in CustomerPhone.objects.filter(customer_id__in=ids).order_by("pk").values_list("customer_id", "number"):
        phones[customer_id].append(number)
    for customer_id, email in CustomerEmail.objects.filter(customer_id__in=ids).order_by("pk").values_list("customer_id", "email"):
        emails[customer_id].append(email)
    leads: dict[int, list[Lead]] = {i: [] for i in ids}
    all_leads = list(Lead.objects.filter(customer_id__in=ids).select_related("owner__user").defer(
        "original_document", "comments").order_by("-received_at", "-pk"))
    visible = set(leads_for(user).filter(pk__in=[lead.pk for lead in all_leads]).values_list("pk", flat=True))
    for lead in all_leads:
        lead.visible = lead.pk in visible  # a manager reviews the store's pairs, and opens their teams' leads
        leads[lead.customer_id].append(lead)
    family = aliases.families(ids)
    history: dict[int, dict] = {}
    for row in (ContactEvent.objects.filter(customer_id__in=list(family)).values("customer_id")
                .annotate(n=Count("id"), last=Max("occurred_at")).order_by()):
        seen = history.setdefault(family[row["customer_id"]], {"n": 0, "last": None})
        seen["n"] += row["n"]
        seen["last"] = max(filter(None, [seen["last"], row["last"]]), default=None)
    return {
        i: Side(customer=customers[i], phones=phones[i], emails=emails[i], leads=leads[i],
                events=history.get(i, {}).get("n", 0), last_contact=history.get(i, {}).get("last"))
        for i in ids if i in customers
    }


def duplicate_mark_different(*, pair: PossibleDuplicate, user) -> PossibleDuplicate:
    """"Different people": remembered for the pair, which intake never raises again."""
    require(can_review_duplicates(user), DUPLICATES_REFUSED)
    with transaction.atomic():
        locked = PossibleDuplicate.objects.select_for_update().get(pk=pair.pk)
        if locked.status != DuplicateStatus.PENDING:
            raise ValidationError({"status": f"This pair was already decided: {locked.get_status_display().lower()}."})
        locked.status = DuplicateStatus.DIFFERENT
        locked.decided_by = viewer_for(user).staff
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked
