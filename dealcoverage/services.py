"""Writes for coverage: policy versions, deals with their frozen credit, overrides, disputes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from dealcoverage import engine, permissions, selectors
from dealcoverage.formatting import percent_number
from dealcoverage.models import CoveragePolicy, Deal, DealCredit, Dispute, DisputeStatus
from leads import notices
from leads.models import OPEN_STATUSES, Customer, CustomerMerge, Lead, LeadStatus
from leads.services import lead_transition
from org.models import Role, Staff, Store

# Open leads only: sold and lost are final (a lost customer who comes back arrives as a new lead).
SALE_CLOSES = OPEN_STATUSES

POLICY_FIELDS = [
    "name", "initial_two_way_required", "keeps_alive", "window_hours", "min_evidence",
    "share_when_other_closes", "pause_on_days_off", "min_talk_seconds",
]


def policy_version_create(
    *, store: Store, role: str, effective_from: dt.datetime, created_by: Staff | None, note: str = "", **params: Any
) -> CoveragePolicy:
    """A new version of a store's role policy (an edit never changes an existing version)."""
    with transaction.atomic():
        # Serialize versions of one store's role policy so two edits can't take one number.
        list(CoveragePolicy.objects.select_for_update().filter(store=store, role=role).values_list("pk", flat=True))
        if CoveragePolicy.objects.filter(store=store, role=role, effective_from=effective_from).exists():
            raise ValidationError(
                {"effective_from": "This store already has a version of this role's policy from that moment."}
            )
        latest = CoveragePolicy.objects.filter(store=store, role=role).aggregate(v=Max("version"))["v"] or 0
        policy = CoveragePolicy(
            store=store, role=role, effective_from=effective_from, version=latest + 1, created_by=created_by,
            note=note, **{k: v for k, v in params.items() if k in POLICY_FIELDS},
        )
        policy.full_clean()
        policy.save()
    return policy


def deal_judge(
    *, store: Store, customer: Customer, closer: Staff, sold_at: dt.datetime
) -> tuple[engine.CreditDecision, dict[str, CoveragePolicy]]:
    """The engine's credit decision for a sale, and the policy versions it used."""
    in_force = selectors.policies_in_force(store, sold_at)
    events = selectors.customer_events(customer, sold_at)
    staff_ids = sorted({closer.pk, *events})
    roles, teams, _ = selectors.staff_roles_and_teams(staff_ids)
    # The engine keys staff by int | str and only reads these; Mapping's key type is invariant.
    decision = engine.credit(
        {role: selectors.to_engine_policy(p) for role, p in in_force.items()},
        cast("Mapping[engine.StaffId, str]", roles),
        cast("Mapping[engine.StaffId, Sequence[engine.Event]]", events),
        cast("Mapping[engine.StaffId, engine.Schedule]", selectors.schedules_for(staff_ids, store, sold_at)),
        closer.pk, sold_at,
        staff_teams=cast("Mapping[engine.StaffId, int | None]", teams), time_zone=store.time_zone,
    )
    return decision, in_force


def deal_record(
    *, store: Store, customer: Customer, closer: Staff, sold_at: dt.datetime, vehicle: str = "",
    stock_number: str = "", lead: Lead | None = None, source: str, recorded_by: Staff | None = None,
    external_id: str = "",
) -> Deal:
    """Record a sale and freeze its credit at once: shares add up to 1, each credited person's
    sales manager gets team credit, and the decision is kept with the policy versions."""
    if recorded_by is not None:  # a person; imports and the demo record as the system
        permissions.require(
            permissions.can_record_deal(recorded_by.user, store, closer=closer, lead=lead), permissions.RECORD_REFUSED
        )
    errors = {}
    if customer.store_id != store.pk:
        errors["customer"] = "That customer belongs to another store."
    if closer.store_id != store.pk or not closer.is_active:
        errors["closer"] = "The closer must be active staff of this store."
    if sold_at > timezone.now() + dt.timedelta(minutes=1):
        errors["sold_at"] = "A deal cannot be sold in the future."
    if lead is not None and lead.customer_id != customer.pk:
        errors["lead"] = "That lead is another customer's."
    if errors:
        raise ValidationError(errors)
    if external_id:
        existing = Deal.objects.filter(store=store, external_id=external_id).first()
        if existing:
            return existing
    decision, in_force = deal_judge(store=store, customer=customer, closer=closer, sold_at=sold_at)
    _, _, managers_by_id = selectors.staff_roles_and_teams([s.staff_id for s in decision.shares])
    managers = cast("Mapping[engine.StaffId, int | None]", managers_by_id)  # read by the engine's staff ids
    with transaction.atomic():
        if lead is not None:
            # One sale per inquiry: the lead's row lock makes two people recording it at once see each other.
            Lead.objects.select_for_update().filter(pk=lead.pk).first()
            earlier = Deal.objects.filter(lead_id=lead.pk).order_by("pk").first()
            if earlier is not None:
                when = timezone.localtime(earlier.sold_at, store.tz)
                raise ValidationError({"lead": f"This lead is already sold: deal #{earlier.pk} on "
                                               f"{when:%a %b} {when.day}. A second car for this customer is "
                                               "recorded without this lead."})
        deal = Deal.objects.create(
            store=store, customer=customer, lead=lead, vehicle=vehicle[:200], stock_number=stock_number[:40],
            closer=closer, sold_at=sold_at, source=source, external_id=external_id, recorded_by=recorded_by,
            decision=decision.to_dict(),
        )
        deal.policy_versions.set(in_force.values())
        by_name: dict[tuple[str | None, int | None], CoveragePolicy] = {(p.name, p.version): p for p in in_force.values()}
        DealCredit.objects.bulk_create([
            DealCredit(
                deal=deal, staff_id=share.staff_id, share=Decimal(share.share), reason=share.reason[:300],
                policy=by_name.get((share.policy_name, share.policy_version)),
                team_manager_id=managers.get(share.staff_id), created_by=recorded_by,
            )
            for share in decision.shares
        ])
        _leads_sold(deal, by=recorded_by)
        _tell_deal_recorded(deal, recorded_by=recorded_by)
    return deal


def _judged(deal: Deal) -> list[int]:
    return [int(key) for key in ((deal.decision or {}).get("decisions") or {}) if str(key).isdigit()]


def _tell_deal_recorded(deal: Deal, *, recorded_by: Staff | None) -> None:
    """Everyone the deal concerns hears of it on their bell (not the person who recorded it):
    a sale recorded on someone else's lead is never silent."""
    shares = {c.staff_id: c.share for c in DealCredit.objects.filter(deal=deal, active=True)}
    owner_id = deal.lead.owner_id if deal.lead is not None else None
    concerned = [owner_id, deal.closer_id, *shares, *_judged(deal)]
    when = timezone.localtime(deal.sold_at, deal.store.tz)
    head = f"Deal #{deal.pk}: {deal.customer} bought from {deal.closer.display_name} ({when:%a %b} {when.day})"
    for staff_id in dict.fromkeys(pk for pk in concerned if pk is not None):
        if recorded_by is not None and staff_id == recorded_by.pk:
            continue
        share = shares.get(staff_id)
        yours = f"your share {percent_number(share)} %" if share else "no share for you: see why on the deal"
        notices.tell(staff_ids=[staff_id], store=deal.store, lead=deal.lead, kind=notices.DEAL, text=f"{head}; {yours}.")


def _managers_of(deal: Deal, people: list[int]) -> list[int]:
    """Who settles a dispute: the people's team managers, else the store's directors."""
    managers = [m for m in Staff.objects.filter(pk__in=people, team__isnull=False)
                .values_list("team__manager_id", flat=True) if m]
    if managers:
        return managers
    return list(Staff.objects.filter(store_id=deal.store_id, role=Role.INTERNET_DIRECTOR, is_active=True)
                .values_list("pk", flat=True))


def _tell_dispute_settled(dispute: Dispute, *, by: Staff, changed: bool) -> None:
    if dispute.raised_by_id == by.pk:
        return
    verb = "changed the split" if changed else "kept the split"
    notices.tell(staff_ids=[dispute.raised_by_id], store=dispute.deal.store, lead=dispute.deal.lead,
                 kind=notices.DISPUTE,
                 text=f"Your dispute of deal #{dispute.deal_id}: {by.display_name} {verb}: {dispute.resolution}")


def _leads_sold(deal: Deal, *, by: Staff | None) -> None:
    """A recorded sale is the fact: the deal's lead and its open duplicates become sold from whatever
    open status they were in, which ends their cadence and keep-in-touch tasks
    (followup.services.lead_closed). A deal without a lead closes the customer's open leads."""
    if deal.lead_id is not None:
        leads = Lead.objects.filter(Q(pk=deal.lead_id) | Q(duplicate_of_id=deal.lead_id))
    else:
        leads = Lead.objects.filter(customer_id=deal.customer_id)
    for lead in leads.filter(store_id=deal.store_id, status__in=SALE_CLOSES).order_by("pk"):
        lead_transition(lead=lead, to_status=LeadStatus.SOLD, by=by, sale_recorded=True)


def credit_override(*, deal: Deal, shares: dict[int, Decimal], reason: str, by: Staff) -> list[DealCredit]:
    """A manager's override: new credit rows beside the originals, with the written reason."""
    permissions.require(permissions.can_override_credit(by.user, deal), permissions.OVERRIDE_REFUSED)
    if not reason.strip():
        raise ValidationError({"reason": "An override needs a written reason."})
    if sum(shares.values(), Decimal(0)) != Decimal(1):
        raise ValidationError({"shares": "The shares of a deal must add up to 1."})
    staff = {s.pk: s for s in Staff.objects.filter(pk__in=shares, store_id=deal.store_id).select_related("team")}
    unknown = sorted(set(shares) - set(staff))
    if unknown:
        raise ValidationError({"shares": f"Not staff of this store: {', '.join(map(str, unknown))}."})
    with transaction.atomic():
        previous = list(DealCredit.objects.select_for_update().filter(deal=deal, active=True))
        DealCredit.objects.filter(pk__in=[c.pk for c in previous]).update(active=False)
        first = previous[0] if previous else None
        credits = DealCredit.objects.bulk_create([
            DealCredit(
                deal=deal, staff_id=staff_id, share=share, reason=f"Override by {by.display_name}",
                team_manager_id=team.manager_id if (team := staff[staff_id].team) is not None else None,
                overrides=first, override_reason=reason.strip(), created_by=by,
            )
            for staff_id, share in shares.items() if share > 0
        ])
        settled = list(Dispute.objects.filter(deal=deal, status=DisputeStatus.OPEN))
        Dispute.objects.filter(pk__in=[d.pk for d in settled]).update(
            status=DisputeStatus.CHANGED, resolved_by=by, resolved_at=timezone.now(), resolution=reason.strip()
        )
        for dispute in settled:
            dispute.resolution = reason.strip()
            _tell_dispute_settled(dispute, by=by, changed=True)
    return credits


def dispute_raise(*, deal: Deal, by: Staff, comment: str) -> Dispute:
    """Someone the deal concerns disputes its credit (dealcoverage.permissions.can_raise_dispute);
    one open dispute per deal: a second waits for the manager to settle the first; and a split
    is disputed once by each person: after it was kept, only a changed split may be disputed."""
    permissions.require(permissions.can_raise_dispute(by.user, deal), permissions.DISPUTE_RAISE_REFUSED)
    if not comment.strip():
        raise ValidationError({"comment": "Say what you dispute."})
    with transaction.atomic():
        Deal.objects.select_for_update().filter(pk=deal.pk).values_list("pk", flat=True).first()
        open_one = Dispute.objects.filter(deal=deal, status=DisputeStatus.OPEN).select_related("raised_by__user").first()
        if open_one is not None:
            raise ValidationError({"deal": (
                f"This deal's credit is already disputed by {open_one.raised_by.display_name}; "
                "the manager settles that dispute first."
            )})
        kept = (
            Dispute.objects.filter(deal=deal, raised_by=by, status=DisputeStatus.UPHELD)
            .select_related("resolved_by__user").order_by("-resolved_at", "-pk").first()
        )
        if kept is not None and not DealCredit.objects.filter(
            deal=deal, active=True, created_at__gt=kept.resolved_at
        ).exists():
            who = f" by {kept.resolved_by.display_name}" if kept.resolved_by else ""
            raise ValidationError({"deal": (
                f"You already disputed this split and it was kept{who}: {kept.resolution} "
                "A split is disputed once; a changed split may be disputed again."
            )})
        dispute = Dispute.objects.create(deal=deal, raised_by=by, comment=comment.strip())
        notices.tell(
            staff_ids=[pk for pk in _managers_of(deal, [by.pk, deal.closer_id]) if pk != by.pk], store=deal.store,
            lead=deal.lead, kind=notices.DISPUTE,
            text=f"{by.display_name} disputes deal #{deal.pk} ({deal.customer}): “{comment.strip()[:150]}”",
        )
        return dispute


def dispute_uphold(*, dispute: Dispute, by: Staff, resolution: str) -> Dispute:
    """The decision stands (dealcoverage.permissions.can_resolve_dispute): only an open dispute."""
    permissions.require(permissions.can_resolve_dispute(by.user, dispute), permissions.DISPUTE_RESOLVE_REFUSED)
    if not resolution.strip():
        raise ValidationError({"resolution": "Say why the decision stands."})
    with transaction.atomic():
        current = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if current.status != DisputeStatus.OPEN:
            raise ValidationError({"status": f"This dispute is already {current.get_status_display().lower()}."})
        dispute.status, dispute.resolved_by, dispute.resolved_at = DisputeStatus.UPHELD, by, timezone.now()
        dispute.resolution = resolution.strip()
        dispute.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
        _tell_dispute_settled(dispute, by=by, changed=False)
    return dispute


def deals_follow_merge(
    sender: type[CustomerMerge], *, merge: CustomerMerge, survivor: Customer, merged: Customer, **kwargs: Any
) -> dict[str, list[int]]:
    """leads.merge.customer_merged: the merged customer's deals go to the survivor, their frozen
    decisions untouched (the deal page says the customer was merged since)."""
    ids = list(Deal.objects.filter(customer=merged).values_list("pk", flat=True))
    Deal.objects.filter(pk__in=ids).update(customer=survivor)
    return {"deal": ids}


def deals_follow_split(sender: type[CustomerMerge], *, merge: CustomerMerge, **kwargs: Any) -> None:
    """leads.merge.customer_split: the deals the merge moved go back."""
    Deal.objects.filter(pk__in=merge.moved.get("deal", []), customer_id=merge.survivor_id).update(customer_id=merge.merged_id)
