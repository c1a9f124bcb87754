"""Merging two customers into one, and splitting them apart again exactly (issue 15).

A merge moves the merged customer's leads (with their status history, assignments and routing,
which hang off the lead), tasks, appointments, phones and emails to the survivor, and records the
id of every row it moved (CustomerMerge.moved). Apps above leads move their own rows by answering
the `customer_merged` signal (coverage: the deals) and put them back on `customer_split`; a deal's
frozen decision is never re-judged. Contact events are append-only and are not moved: the merged
customer points at the survivor (Customer.merged_into) and every read of a customer's history
follows it (leads.aliases).

A split restores both customers as they were: the rows the merge moved go back, and nothing else
(a lead that arrived for the survivor since stays with it). A merge is split while its survivor
has not been merged itself since (split that merge first).

Both take intake's advisory locks on the two customers' phones and emails (leads.locks), so a
lead arriving for either while they merge is matched before or after, never in between, and row
locks on the two customers in id order, so two merges of one pair run one after the other.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from leads.locks import identities_lock
from leads.models import (
    Appointment,
    Customer,
    CustomerEmail,
    CustomerMerge,
    CustomerPhone,
    DuplicateStatus,
    Lead,
    PossibleDuplicate,
    Task,
)
from leads.permissions import DUPLICATES_REFUSED, can_review_duplicates, require
from org.scoping import viewer_for

# Sent inside the merge's transaction (merge, survivor, merged); a receiver moves its app's rows
# of `merged` to `survivor` and returns {kind: [ids moved]}, kept for the split.
customer_merged = Signal()
# Sent inside the split's transaction (merge); a receiver moves back the rows it listed.
customer_split = Signal()

# The rows of leads' own tables that belong to a customer, by kind.
OWN_ROWS = {"lead": Lead, "task": Task, "appointment": Appointment}


def _lock(survivor: Customer, merged: Customer) -> tuple[Customer, Customer]:
    keys = [f"tel:{n}" for n in CustomerPhone.objects.filter(customer__in=[survivor, merged]).values_list("number", flat=True)]
    keys += [f"mail:{e}" for e in CustomerEmail.objects.filter(customer__in=[survivor, merged]).values_list("email", flat=True)]
    identities_lock(survivor.store, [str(k) for k in keys])
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk]).order_by("pk")}
    return locked[survivor.pk], locked[merged.pk]


def customers_merge(*, survivor: Customer, merged: Customer, user, reason: str = "",
                    pair: PossibleDuplicate | None = None) -> CustomerMerge:
    """Merge `merged` into `survivor`: a ValidationError naming the reason, or the merge record.
    `user` None is the system: intake's automatic merge, inside the store's limits (leads.identity)."""
    if user is not None:
        require(can_review_duplicates(user), DUPLICATES_REFUSED)
    if survivor.pk == merged.pk:
        raise ValidationError({"merged": "A customer cannot be merged into itself."})
    if survivor.store_id != merged.store_id:
        raise ValidationError({"merged": "Customers of two stores cannot be merged."})
    with transaction.atomic():
        survivor, merged = _lock(survivor, merged)
        for customer in (survivor, merged):
            if customer.merged_into_id is not None:
                raise ValidationError({"merged": f"{customer} (#{customer.pk}) was already merged into customer "
                                                 f"#{customer.merged_into_id}."})
        moved: dict[str, list[int]] = {}
        # A lead stored before leads kept their own name keeps the merged customer's, so its page
        # still says who it came from ("This lead came as ..."); the split empties it again.
        moved["named"] = list(Lead.objects.filter(customer=merged, first_name="", last_name="").values_list("pk", flat=True))
        Lead.objects.filter(pk__in=moved["named"]).update(first_name=merged.first_name, last_name=merged.last_name)
        for kind, model in OWN_ROWS.items():
            ids = list(model.objects.filter(customer=merged).values_list("pk", flat=True))
            model.objects.filter(pk__in=ids).update(customer=survivor)
            moved[kind] = ids
        # A number or address the survivor already has stays on the merged record (no duplicate row).
        have = set(CustomerPhone.objects.filter(customer=survivor).values_list("number", flat=True))
        moved["phone"] = [pk for pk, number in CustomerPhone.objects.filter(customer=merged).values_list("pk", "number")
                          if number not in have]
        CustomerPhone.objects.filter(pk__in=moved["phone"]).update(customer=survivor)
        have = set(CustomerEmail.objects.filter(customer=survivor).values_list("email", flat=True))
        moved["email"] = [pk for pk, email in CustomerEmail.objects.filter(customer=merged).values_list("pk", "email")
                          if email not in have]
        CustomerEmail.objects.filter(pk__in=moved["email"]).update(customer=survivor)
        # Customers merged into `merged` before now follow the survivor: one hop for every read.
        moved["customer"] = list(Customer.objects.filter(merged_into=merged).values_list("pk", flat=True))
        Customer.objects.filter(pk__in=moved["customer"]).update(merged_into=survivor)
        Customer.objects.filter(pk=merged.pk).update(merged_into=survivor)
        merged.merged_into = survivor
        if pair is None:
            pair = PossibleDuplicate.objects.filter(customer__in=[survivor, merged], other__in=[survivor, merged]).first()
        now = timezone.now()
        staff = viewer_for(user).staff if user is not None else None
        record = CustomerMerge(store_id=survivor.store_id, survivor=survivor, merged=merged, pair=pair,
                               pair_status=pair.status if pair else "", reason=reason[:300], by=staff, at=now)
        if pair is not None:
            PossibleDuplicate.objects.filter(pk=pair.pk).update(status=DuplicateStatus.MERGED, decided_by=staff,
                                                                decided_at=now)
        for _receiver, answer in customer_merged.send(sender=CustomerMerge, merge=record, survivor=survivor,
                                                      merged=merged):
            moved.update(answer or {})
        record.moved = moved
        record.save()
    return record


def merge_split(*, merge: CustomerMerge, user) -> CustomerMerge:
    """Undo `merge` exactly: both customers as they were before it."""
    require(can_review_duplicates(user), DUPLICATES_REFUSED)
    with transaction.atomic():
        merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.split_at is not None:
            raise ValidationError({"merge": "This merge was already split."})
        survivor, merged = _lock(merge.survivor, merge.merged)
        if survivor.merged_into_id is not None:
            raise ValidationError({"merge": f"{survivor} (#{survivor.pk}) was merged into customer "
                                            f"#{survivor.merged_into_id} since: split that merge first."})
        moved = merge.moved
        customer_split.send(sender=CustomerMerge, merge=merge)
        Customer.objects.filter(pk__in=moved.get("customer", []), merged_into=survivor).update(merged_into=merged)
        CustomerEmail.objects.filter(pk__in=moved.get("email", []), customer=survivor).update(customer=merged)
        CustomerPhone.objects.filter(pk__in=moved.get("phone", []), customer=survivor).update(customer=merged)
        for kind, model in OWN_ROWS.items():
            model.objects.filter(pk__in=moved.get(kind, []), customer=survivor).update(customer=merged)
        Lead.objects.filter(pk__in=moved.get("named", [])).update(first_name="", last_name="")
        Customer.objects.filter(pk=merged.pk).update(merged_into=None)
        if merge.pair_id is not None:
            status = merge.pair_status or DuplicateStatus.PENDING
            restore = {"decided_by": None, "decided_at": None} if status == DuplicateStatus.PENDING else {}
            PossibleDuplicate.objects.filter(pk=merge.pair_id).update(status=status, **restore)
        merge.split_at = timezone.now()
        merge.split_by = viewer_for(user).staff
        merge.save(update_fields=["split_at", "split_by"])
    return merge
