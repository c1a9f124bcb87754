"""Distribution: routing a lead by the store's rules, handing, reassigning and releasing it,
its response clocks, and telling people. Views, the API, tasks and the sweeper call these.

The one writer of lead ownership. Every change of Lead.owner (routing, the sweeper's moves, a
person's assignment from any page, the API or leads' pages through leads.ownership, a claim, a
hand-over, a release, a lead created by its owner, a duplicate following its original) is
written by `_apply` below (a duplicate following its original at creation, and a lead's
followers, by `lead_created_owned` and `_followers_give`, which carry no clocks of their own):
under the lead's row lock, with a LeadAssignment row and its reason, the response clocks reset
for the new owner (so the sweeper cannot move the lead on by a deadline meant for someone else),
the follow-up cadence handed over, and the new owner told. tests/distribution/test_one_writer.py fails if a
module outside distribution writes Lead.owner.

Who may be named: an active member of the store; where the lead's routing has a rule, a member
of that rule's pool (pools.in_pool), for managers too: the manager-assigns strategy itself lets
a manager pick any active pool member, on shift or not, and a lead no rule took (the manager
queue's "no rule matched") may go to any active salesperson of the store. To give a lead to
someone outside its pool, add them to the rule's pool."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from distribution import pools
from distribution.models import (
    LeadRouting,
    Notification,
    NotificationKind,
    OnCoverageLapse,
    RoutingRule,
    RoutingState,
    Strategy,
    is_breach,
)
from distribution.strategies import BY_NAME, Decision, reassign, round_robin
from distribution.strategies.base import Router
from leads import coverage_port
from leads.events import first_two_way_since
from leads.models import OPEN_STATUSES, ContactEvent, Customer, Lead, LeadAssignment, SourceType
from leads.nudges import nudge
from leads.ownership import LeadTaken, lead_owner_changed
from live import events as live
from org import alerts, hours, rawsql
from org.models import SALES_ROLES, Role, Staff, Store

log = logging.getLogger(__name__)

WARN_BEFORE_MINUTES = 5
LAPSE_AFTER_END = dt.timedelta(seconds=1)


# --- clocks -----------------------------------------------------------------------------------

def business_deadline(store: Store, start: dt.datetime, minutes: float) -> dt.datetime:
    return hours.add_business_minutes(store.business_hours, store.tz, start, minutes)


def _start_owner_clock(routing: LeadRouting, store: Store, *, now: dt.datetime, minutes: int | None) -> None:
    """An owner was set: the reassignment clock (if the strategy has one) starts now, in business minutes."""
    routing.assigned_at = now
    if minutes:
        routing.response_due_at = business_deadline(store, now, minutes)
        routing.warn_at = business_deadline(store, now, max(minutes - WARN_BEFORE_MINUTES, minutes / 2))
    else:
        routing.response_due_at = routing.warn_at = None


def _two_way_since_arrival(lead: Lead) -> dt.datetime | None:
    """The customer's first current two-way contact (a connected call, a reply, a visit) at or
    after the lead arrived, by anyone: once there is one, the lead's clocks have stopped."""
    return first_two_way_since(customer_id=lead.customer_id, since=lead.received_at)


def _start_breach_clock(routing: LeadRouting, lead: Lead, store: Store, *, start: dt.datetime,
                        minutes: int | None = None) -> None:
    """The first person who gets the lead answers for its first response within the limit: the
    rule's own response limit where it has one, else the store's (one limit per lead, the one the
    page states)."""
    if routing.clock_started_at is None:
        routing.clock_started_at = start
        routing.breach_at = business_deadline(store, start, minutes or store.response_limit_minutes)


# --- routing ----------------------------------------------------------------------------------

def lead_route(*, lead_id: int, now: dt.datetime | None = None) -> bool:
    """Route one due lead by its store's rules. False when another worker has it or did it.

    Runs with the lead row locked (skip_locked: a second worker moves on) and the rule's
    rotation locked; everything is written in one transaction.
    """
    with transaction.atomic():
        lead = _lead_to_route(lead_id)
        if lead is None:
            return False
        now = now or timezone.now()
        store = lead.store
        if lead.duplicate_of_id is not None and lead.is_open:
            if lead.owner_id is not None:
                _returning_customer(lead, now=now)
            else:  # follows its original lead wherever that goes (_followers_give)
                lead.routed_at = now
                lead.save(update_fields=["routed_at"])
            return True
        if lead.owner_id is not None or not lead.is_open:
            # Given to someone by hand before the router got to it.
            lead.routed_at = now
            lead.save(update_fields=["routed_at"])
            return True
        routing = routing_of(lead) or LeadRouting(lead=lead, store=store, state=RoutingState.WAITING)
        rule, why = pools.rule_for(store, lambda: pools.LeadFacts.of(lead))
        if rule is None:
            decision = Decision(state=RoutingState.MANAGER, reason=why[0].upper() + why[1:] + "; it waits for a manager.")
            routing.warning = "No routing rule matched this lead: add a rule or a fallback rule."
        else:
            ctx = pools.context(rule, now=now, lock=True)
            decision = BY_NAME[rule.strategy].route(ctx)
            decision.reason = f"{why[0].upper()}{why[1:]}; {rule.get_strategy_display().lower()}. {decision.reason}"
            routing.warning = ""
        _apply(lead, routing, rule, decision, now=now, by=None)
    return True


def _lead_to_route(lead_id: int) -> Lead | None:
    """The unrouted lead, row locked (skip_locked: None when another worker has it), with its
    store, customer and routing row read in the same statement: what
    `select_for_update(skip_locked=True, of=("self",)).select_related("store", "customer", "routing")`
    reads, in a fixed SQL text, as it runs for every lead."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {rawsql.columns(Lead, "l")}, {rawsql.columns(Store, "s")}, {rawsql.columns(Customer, "c")},
                   {rawsql.columns(LeadRouting, "r")}
              FROM {Lead._meta.db_table} l
              JOIN {Store._meta.db_table} s ON s.id = l.store_id
              JOIN {Customer._meta.db_table} c ON c.id = l.customer_id
              LEFT JOIN {LeadRouting._meta.db_table} r ON r.lead_id = l.id
             WHERE l.id = %s AND l.routed_at IS NULL
               FOR UPDATE OF l SKIP LOCKED
            """,
            [lead_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    lead_values, store_values, customer_values, routing_values = rawsql.split(row, Lead, Store, Customer, LeadRouting)
    lead = rawsql.instance(Lead, lead_values)
    Lead.store.field.set_cached_value(lead, rawsql.instance(Store, store_values))
    Lead.customer.field.set_cached_value(lead, rawsql.instance(Customer, customer_values))
    routing = None
    if routing_values[0] is not None:
        routing = rawsql.instance(LeadRouting, routing_values)
        LeadRouting.lead.field.set_cached_value(routing, lead)
    # None cached too, as select_related does: lead.routing then raises DoesNotExist without a query.
    Lead.routing.related.set_cached_value(lead, routing)
    return lead


def routing_of(lead: Lead) -> LeadRouting | None:
    """The lead's routing row, or None (read through select_related when the caller asked for it)."""
    try:
        return lead.routing
    except LeadRouting.DoesNotExist:
        return None


def _returning_customer(lead: Lead, *, now: dt.datetime) -> None:
    """A customer with an open lead came back (another site, a call, a form): the lead is the
    owner's, and the owner is told at once, with the store's response clock running, so the
    customer is not left to talk to five other people (seed 003)."""
    assert lead.owner_id is not None  # lead_route calls this only for a lead with an owner
    lead.routed_at = now
    lead.save(update_fields=["routed_at"])
    routing = LeadRouting(
        lead=lead, store=lead.store, state=RoutingState.ASSIGNED, rule_name="", strategy="", queued_at=now,
    )
    _start_breach_clock(routing, lead, lead.store, start=lead.received_at)
    _start_owner_clock(routing, lead.store, now=now, minutes=None)
    routing.save()
    label = f"{lead.customer} ({lead.get_source_type_display()}{', ' + lead.provider if lead.provider else ''})"
    notify(staff_id=lead.owner_id, store=lead.store, lead=lead, kind=NotificationKind.NEW_LEAD,
           text=f"Your customer is back: {label}, again. Call them now.", sms=lead.store.notify_owner_by_sms)


def _apply(lead: Lead, routing: LeadRouting, rule: RoutingRule | None, decision: Decision, *,
           now: dt.datetime, by: Staff | None) -> None:
    """Write one decision: the lead's owner and flags, its routing row and clocks, the history
    row with the explanation, the rotation, and the notifications."""
    store = lead.store
    previous = lead.owner_id
    was_waiting = not routing._state.adding and routing.state == RoutingState.WAITING
    # A lead that sat unowned (waiting for a shift, on the board, in the pool, with a manager): its
    # first owner's clock starts when they get it, not when it arrived (a trial: a board lead from
    # Saturday evening was "1 d 8 h past the limit" for the salesperson handed it on Monday).
    was_queued = not routing._state.adding and routing.state in (
        RoutingState.WAITING, RoutingState.BOARD, RoutingState.POOL, RoutingState.MANAGER)
    if rule is not None:
        routing.rule, routing.rule_name, routing.strategy = rule, rule.name, rule.strategy
        if decision.credits is not None:
            pools.credits_save(rule, decision.credits, decision.owner_id, now=now)
    if decision.moved and decision.owner_id is not None:
        routing.moves += 1
    routing.state = decision.state
    routing.queued_at = now
    routing.claim_due_at = None
    if decision.state == RoutingState.WAITING:
        lead.owner, lead.in_claim_pool, lead.routed_at = None, False, None
        lead.routing_due_at = decision.retry_at
        routing.response_due_at = routing.warn_at = None
    else:
        lead.owner_id = decision.owner_id
        lead.in_claim_pool = decision.state == RoutingState.POOL
        if lead.routed_at is None:
            # A lead created with its owner has neither a routing due time nor needs one.
            lead.routed_at = now
            lead.routing_due_at = lead.routing_due_at or now
        if routing.first_two_way_at is None:
            routing.first_two_way_at = _two_way_since_arrival(lead)
        if decision.owner_id is not None:
            # The response clock runs from arrival for a lead routed to a person at once; from now
            # for one that sat unowned in a queue.
            _start_breach_clock(routing, lead, store, start=now if was_queued else lead.received_at,
                                minutes=decision.response_minutes)
            # Contact stops the clocks: a customer someone has talked to or met is not moved on
            # by the response timer.
            minutes = None if routing.first_two_way_at is not None else decision.response_minutes
            _start_owner_clock(routing, store, now=now, minutes=minutes)
        else:
            routing.assigned_at = None
            routing.response_due_at = routing.warn_at = None
        if decision.state == RoutingState.POOL and decision.claim_minutes:
            routing.claim_due_at = business_deadline(store, now, decision.claim_minutes)
    if previous != lead.owner_id:
        # Coverage lapse is the owner's: a new owner (or none) starts with no lapse deadline.
        routing.coverage_lapse_at = routing.lapse_warn_at = None
    lead.save(update_fields=["owner", "in_claim_pool", "routed_at", "routing_due_at"])
    routing.save(force_insert=routing._state.adding)
    if previous != lead.owner_id and lead.owner_id is not None:
        coverage_lapse_refresh(lead, routing, now=now)
    if not (decision.state == RoutingState.WAITING and was_waiting):
        LeadAssignment.objects.create(
            lead=lead, from_staff_id=previous, to_staff_id=decision.owner_id, assigned_by=by,
            reason=decision.reason[:300], rule_name=rule.name if rule else "",
            strategy=rule.strategy if rule else "", skipped=decision.skipped, assigned_at=now,
        )
    if decision.owner_id is not None:
        _followers_give(lead, to_staff_id=decision.owner_id, by=by)
    _announce(lead, routing, rule, decision, previous=previous, by=by)
    _publish_moved(lead, previous=previous, state=decision.state, queued=was_queued, now=now)


def _publish_moved(lead: Lead, *, previous: int | None, state: str, queued: bool, now: dt.datetime) -> None:
    """Open pages learn of a routing decision: the store's board and manager queues when the lead
    entered or left one of them, and the Today queues of the owner it left and the one it reached."""
    if queued or state != RoutingState.ASSIGNED:
        live.publish(store_id=lead.store_id, topic=live.ROUTING, lead_id=lead.pk, data={"state": state}, now=now)
    for staff_id in {previous, lead.owner_id} - {None}:
        live.publish(store_id=lead.store_id, topic=live.TODAY, staff_id=staff_id, lead_id=lead.pk, now=now)


def _followers_give(lead: Lead, *, to_staff_id: int | None, by: Staff | None) -> None:
    """Open, ownerless duplicates of a lead go wherever the lead goes (one statement, which
    locks and moves them), and the lead's follow-up cadence starts or follows its new owner."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Lead._meta.db_table} SET owner_id = %s, in_claim_pool = false
             WHERE duplicate_of_id = %s AND owner_id IS NULL AND status = ANY(%s)
            RETURNING id
            """,
            [to_staff_id, lead.pk, [str(status) for status in OPEN_STATUSES]],
        )
        followers = sorted(pk for (pk,) in cursor.fetchall())
    if followers:
        LeadAssignment.objects.bulk_create(
            [LeadAssignment(lead_id=f, to_staff_id=to_staff_id, assigned_by=by, reason=f"Follows lead #{lead.pk}.")
             for f in followers]
        )
    # The lead has a (new) owner: its follow-up cadence starts, or its open tasks move along.
    lead_owner_changed.send(sender=Lead, lead=lead, owner_id=to_staff_id)


def _announce(lead: Lead, routing: LeadRouting, rule: RoutingRule | None, decision: Decision, *, previous: int | None,
              by: Staff | None = None) -> None:
    store = lead.store
    label = f"{lead.customer} ({lead.get_source_type_display()}{', ' + lead.provider if lead.provider else ''})"
    if decision.owner_id is not None and not (by is not None and by.pk == decision.owner_id):
        # Nobody is told of what they did themselves (a claim, their own walk-in).
        kind = NotificationKind.REASSIGNED if decision.moved else NotificationKind.NEW_LEAD
        if decision.moved:
            text = f"Lead moved to you: {label}."
        elif by is not None:
            text = f"{by.display_name} gave you a lead: {label}."
        else:
            text = f"New lead: {label}."
        notify(staff_id=decision.owner_id, store=store, lead=lead, kind=kind, text=text, sms=store.notify_owner_by_sms)
    if previous is not None and previous != decision.owner_id and (decision.moved or decision.state == RoutingState.POOL):
        notify(staff_id=previous, store=store, lead=lead, kind=NotificationKind.REASSIGNED,
               text=f"{label} was moved away from you: {decision.lost_text}.", sms=False)
    if decision.state == RoutingState.MANAGER:
        for manager in pools.managers_of(rule, store):
            notify(staff_id=manager.pk, store=store, lead=lead, kind=NotificationKind.MANAGER,
                   text=f"Needs a manager: {label}. {decision.reason}"[:300], sms=False)
    if decision.state == RoutingState.POOL and rule is not None:
        from distribution.strategies.base import split_pool

        eligible, _ = split_pool(pools.context(rule, now=routing.queued_at))
        for member in eligible:
            notify(staff_id=member.staff_id, store=store, lead=lead, kind=NotificationKind.NEW_LEAD,
                   text=f"In the claim pool: {label}. First to claim it gets it.", sms=False)
    if decision.state == RoutingState.BOARD:
        for receptionist in Staff.objects.filter(store=store, role=Role.RECEPTIONIST, is_active=True):
            notify(staff_id=receptionist.pk, store=store, lead=lead, kind=NotificationKind.BOARD,
                   text=f"New lead on the board: {label}. Page the floor.", sms=store.ring_receptionist_by_sms)


# --- people acting on a lead --------------------------------------------------------------

class AlreadyHanded(Exception):
    def __init__(self, holder: Staff | None):
        self.holder = holder
        super().__init__(f"{holder.display_name if holder else 'Someone'} already has this lead.")


def _routing_for(lead: Lead) -> LeadRouting:
    return LeadRouting.objects.select_related("rule").filter(lead=lead).first() or LeadRouting(
        lead=lead, store=lead.store, state=RoutingState.ASSIGNED
    )


def _check_receiver(lead: Lead, to_staff: Staff) -> None:
    if to_staff.store_id != lead.store_id:
        raise ValidationError({"to": "That person is not staff of this lead's store."})
    if not to_staff.is_active:
        raise ValidationError({"to": f"{to_staff.display_name} is no longer active."})
    if not pools.in_pool(lead, to_staff):
        raise ValidationError({"to": f"{to_staff.display_name} is not in this lead's pool"
                               + (f" (rule “{lead.routing.rule_name}”)." if hasattr(lead, "routing") and lead.routing.rule_name else ".")})


def lead_hand(*, lead: Lead, to_staff: Staff, by: Staff | None) -> Lead:
    """The receptionist hands a board lead to the salesperson who called in first. A second
    click (or a second receptionist) gets AlreadyHanded: one assignment, never two."""
    _check_receiver(lead, to_staff)
    now = timezone.now()
    with transaction.atomic():
        # The gate: a conditional UPDATE that only an unowned open lead passes; a second click
        # waits on the row lock, then finds it owned and passes nothing.
        won = Lead.objects.filter(pk=lead.pk, owner__isnull=True, status__in=OPEN_STATUSES).update(routed_at=now)
        if not won:
            raise AlreadyHanded(Lead.objects.select_related("owner__user").get(pk=lead.pk).owner)
        locked = Lead.objects.select_for_update(of=("self",)).select_related("store", "customer").get(pk=lead.pk)
        routing = _routing_for(locked)
        decision = Decision(state=RoutingState.ASSIGNED, owner_id=to_staff.pk,
                            reason=f"Handed to {to_staff.display_name}, first to call in" + (f", by {by.display_name}." if by else "."))
        _apply(locked, routing, routing.rule, decision, now=now, by=by)
        Notification.objects.filter(lead=locked, kind=NotificationKind.BOARD, read_at__isnull=True).update(read_at=now)
    return locked


def lead_owner_set(*, lead: Lead, to_staff: Staff, by: Staff | None, reason: str = "",
                   now: dt.datetime | None = None) -> Lead:
    """A person gives the lead to a named member of its store (a manager, the director, an
    admin, the receptionist; from any page or the API). Checked under the lead's lock (same
    store, active, in the rule's pool where the lead has a rule); the new owner's clocks start
    afresh, with no reassignment timer: a person chosen by name is not moved on by the sweeper
    (the store's breach clock still runs from arrival)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Lead.objects.select_for_update(of=("self",)).select_related("store", "customer").get(pk=lead.pk)
        if not locked.is_open:
            raise ValidationError({"lead": f"This lead is {locked.get_status_display().lower()}; it cannot be reassigned."})
        routing = _routing_for(locked)
        locked.routing = routing  # in_pool reads the rule from here
        _check_receiver(locked, to_staff)
        who = f" by {by.display_name}" if by else ""
        decision = Decision(state=RoutingState.ASSIGNED, owner_id=to_staff.pk, response_minutes=None,
                            reason=(reason.strip() or f"Assigned to {to_staff.display_name}{who}.")[:300])
        _apply(locked, routing, routing.rule, decision, now=now, by=by)
    return locked


def lead_reassign(*, lead: Lead, to_staff: Staff | None, by: Staff | None, reason: str = "") -> Lead:
    """A manager gives the lead to a named pool member, or (to_staff None) to the next in line."""
    if to_staff is not None:
        return lead_owner_set(lead=lead, to_staff=to_staff, by=by, reason=reason)
    now = timezone.now()
    with transaction.atomic():
        locked = Lead.objects.select_for_update(of=("self",)).select_related("store", "customer").get(pk=lead.pk)
        if not locked.is_open:
            raise ValidationError({"lead": f"This lead is {locked.get_status_display().lower()}; it cannot be reassigned."})
        routing = _routing_for(locked)
        rule = routing.rule
        who = f" by {by.display_name}" if by else ""
        if rule is None:
            raise ValidationError({"to": "This lead has no routing rule, so there is no line to take the next from: name a person."})
        exclude = {locked.owner_id} if locked.owner_id else set()
        decision = reassign.route(pools.context(rule, now=now, exclude=exclude, lock=True)) if rule.strategy == Strategy.ROUND_ROBIN_REASSIGN \
            else round_robin.route(pools.context(rule, now=now, exclude=exclude, lock=True))
        if decision.owner_id is None:
            raise ValidationError({"to": "Nobody else in the pool can take it now: name a person."})
        decision.reason = f"Reassigned{who}: {decision.reason[0].lower()}{decision.reason[1:]}"
        _apply(locked, routing, rule, decision, now=now, by=by)
    return locked


def lead_release(*, lead: Lead, by: Staff) -> Lead:
    """The owner (or their manager) gives a lead up: it goes where its rule sends new leads,
    without going back to whoever released it."""
    now = timezone.now()
    with transaction.atomic():
        locked = Lead.objects.select_for_update(of=("self",)).select_related("store", "customer").get(pk=lead.pk)
        if locked.owner_id is None:
            raise ValidationError({"lead": "Nobody owns this lead; there is nothing to release."})
        if not locked.is_open:
            raise ValidationError({"lead": f"This lead is {locked.get_status_display().lower()}; it stays with its owner."})
        routing = _routing_for(locked)
        rule = routing.rule
        released_by = locked.owner
        assert released_by is not None  # owner_id was checked above
        if rule is None:
            decision = Decision(state=RoutingState.MANAGER, reason="Released; it has no routing rule, so it waits for a manager.")
        else:
            ctx = pools.context(rule, now=now, exclude={released_by.pk}, lock=True)
            # Released from a claim-pool rule it goes to the next in line, not back to the pool
            # (claim-and-release must not keep a lead away from everyone).
            strategy: Router = round_robin if rule.strategy == Strategy.CLAIM_POOL else BY_NAME[rule.strategy]
            decision = strategy.route(ctx)
        decision.reason = f"Released by {by.display_name}. {decision.reason}"
        _apply(locked, routing, rule, decision, now=now, by=by)
    return locked


def lead_claim(*, lead: Lead, staff: Staff) -> Lead:
    """Take a lead from the claim pool. A conditional UPDATE makes exactly one claim win; the
    winner's ownership, history, clocks and cadence are then written by `_apply`."""
    if staff.role not in SALES_ROLES:
        raise ValidationError({"lead": "Only salespeople claim leads from the pool."})
    if staff.store_id != lead.store_id:
        raise ValidationError({"lead": "That lead belongs to another store."})
    if not claim_allowed(lead, staff):
        raise ValidationError({"lead": "You are not in this lead's pool; ask your manager."})
    now = timezone.now()
    with transaction.atomic():
        # The gate takes the lead out of the pool; a concurrent claim waits on the row lock and
        # then no longer matches (in_claim_pool is false): it loses, naming the winner.
        won = Lead.objects.filter(
            pk=lead.pk, owner__isnull=True, in_claim_pool=True, status__in=OPEN_STATUSES
        ).update(in_claim_pool=False, routed_at=now)
        if not won:
            holder = Lead.objects.select_related("owner__user").get(pk=lead.pk).owner
            raise LeadTaken(holder)
        claimed = Lead.objects.select_for_update(of=("self",)).select_related("store", "customer").get(pk=lead.pk)
        routing = _routing_for(claimed)
        decision = Decision(state=RoutingState.ASSIGNED, owner_id=staff.pk, response_minutes=None,
                            reason="Claimed from the pool.")
        _apply(claimed, routing, routing.rule, decision, now=now, by=staff)
    return claimed


def lead_created_owned(*, lead: Lead, owner: Staff | None, original: Lead | None, by: Staff | None) -> None:
    """leads.ownership.lead_created, inside the creating transaction. A lead typed by the
    salesperson who met the customer is theirs from its first moment: its routing row, clocks
    (no reassignment timer), history, cadence and notice are written now, and it is never
    routed. A duplicate follows its original's owner (the router then tells them their
    customer is back)."""
    now = timezone.now()
    if original is not None:
        lead.owner_id = original.owner_id
        lead.in_claim_pool = original.owner_id is None and original.in_claim_pool
        Lead.objects.filter(pk=lead.pk).update(owner_id=lead.owner_id, in_claim_pool=lead.in_claim_pool)
        LeadAssignment.objects.create(
            lead=lead,
            to_staff_id=original.owner_id,
            reason=f"Duplicate of lead #{original.pk} (same customer within {lead.store.duplicate_window_days} days): "
            + ("goes to its owner." if original.owner_id else "follows it; that lead has no owner yet."),
        )
        return
    if owner is None:
        return
    routing = LeadRouting(lead=lead, store=lead.store, state=RoutingState.ASSIGNED)
    # The salesperson met the customer (the walk-in on the floor, the phone-up they took): that
    # meeting is the lead's two-way contact, so it has no breach clock and no reassignment timer.
    if lead.source_type in (SourceType.WALK_IN, SourceType.PHONE_UP):
        routing.first_two_way_at = lead.received_at
    reason = "Entered by its owner." if by is not None and by.pk == owner.pk else \
        f"Entered by {by.display_name if by else 'staff'} for {owner.display_name}, who met the customer."
    decision = Decision(state=RoutingState.ASSIGNED, owner_id=owner.pk, response_minutes=None, reason=reason)
    _apply(lead, routing, None, decision, now=now, by=by)


def claim_allowed(lead: Lead, staff: Staff) -> bool:
    return pools.in_pool(lead, staff)


# --- response times ----------------------------------------------------------------------------

def contact_event_recorded(event: ContactEvent) -> None:
    """Stamp the first attempt and the first two-way contact on the customer's open leads, and
    stop the owner's reassignment clock. The event's classification is its own (leads.contact).
    Conditional UPDATEs: safe to repeat, safe in races.

    An event that supersedes an attempt and is not one itself (a click-to-call that failed on
    the agent's phone, so the customer was never dialled) takes that attempt back: the stamps
    are recomputed from the events still current."""
    if event.supersedes_id is not None and not event.is_attempt \
            and ContactEvent.objects.filter(pk=event.supersedes_id, is_attempt=True).exists():
        first_attempt_recompute(customer_id=event.customer_id)
    routings = LeadRouting.objects.filter(lead__customer_id=event.customer_id, lead__status__in=OPEN_STATUSES)
    if event.staff_id is not None:
        # Any event may move the owner's coverage (a retail policy counts notes): the lapse
        # deadline is recomputed (leads.coverage_port; coverage judges).
        for routing in routings.filter(lead__owner_id=event.staff_id).exclude(
            rule__on_coverage_lapse=OnCoverageLapse.KEEP
        ).exclude(rule__isnull=True).select_related("lead__store", "lead__customer", "rule"):
            coverage_lapse_refresh(routing.lead, routing, now=timezone.now())
    if not (event.is_attempt or event.is_two_way):
        return
    if event.is_attempt:
        routings.filter(first_attempt_at__isnull=True, lead__received_at__lte=event.occurred_at).update(
            first_attempt_at=event.occurred_at
        )
        routings.filter(lead__owner_id=event.staff_id, response_due_at__isnull=False).update(
            response_due_at=None, warn_at=None
        )
    if event.is_two_way:
        since_arrival = routings.filter(lead__received_at__lte=event.occurred_at)
        since_arrival.filter(first_two_way_at__isnull=True).update(first_two_way_at=event.occurred_at)
        # Contact stops the clocks: whoever talked to or met the customer, the owner is not moved
        # on by the response timer any more (seed 003: a customer who was shown stays with the
        # salesperson who met them).
        since_arrival.filter(response_due_at__isnull=False).update(response_due_at=None, warn_at=None)


def lead_status_changed(*, lead: Lead, to_status: str) -> None:
    """A sold or lost lead (final statuses) leaves the manager queue's open breaches for good: its
    routing row says so (LeadRouting.lead_closed), in the transaction that closed it."""
    if to_status not in OPEN_STATUSES:
        if LeadRouting.objects.filter(lead_id=lead.pk, lead_closed=False).update(lead_closed=True):
            # A sold or lost lead leaves the board and the queues.
            live.publish(store_id=lead.store_id, topic=live.ROUTING, lead_id=lead.pk, data={"state": to_status})


def coverage_lapse_refresh(lead: Lead, routing: LeadRouting, *, now: dt.datetime) -> None:
    """Recompute the lead's coverage-lapse deadline (and the owner's warning) from coverage's
    judgement through leads.coverage_port. Only coverage the owner holds now counts and only
    where the lead's rule acts on a lapse; a lapse the sweeper must act on at once is stored as
    due now. Written with a plain UPDATE of the two columns: safe to repeat."""
    rule = routing.rule
    lapse_at = warn_at = None
    if rule is not None and rule.on_coverage_lapse != OnCoverageLapse.KEEP and lead.owner_id and lead.is_open:
        judged = coverage_port.owner_coverage(lead, now)
        since = routing.assigned_at or lead.received_at
        if judged is not None and judged.covered_until is not None and judged.covered_until >= since:
            # The window's end is covered (DESIGN.md: a sale exactly at the end is covered): the
            # lapse is the first second after it.
            lapse_at = judged.covered_until + LAPSE_AFTER_END
            warn = lapse_at - dt.timedelta(hours=rule.lapse_warn_hours)
            warn_at = max(warn, now) if lapse_at > now and rule.lapse_warn_hours else None
    if (routing.coverage_lapse_at, routing.lapse_warn_at) != (lapse_at, warn_at):
        routing.coverage_lapse_at, routing.lapse_warn_at = lapse_at, warn_at
        LeadRouting.objects.filter(pk=routing.pk).update(coverage_lapse_at=lapse_at, lapse_warn_at=warn_at)


def first_attempt_recompute(*, customer_id: int) -> int:
    """Set first_attempt_at on the customer's open leads from the current (not superseded)
    attempts made since each lead arrived; None if there are none. Returns the rows changed."""
    changed = 0
    routings = LeadRouting.objects.filter(
        lead__customer_id=customer_id, lead__status__in=OPEN_STATUSES, first_attempt_at__isnull=False
    ).select_related("lead")
    attempts = ContactEvent.objects.filter(customer_id=customer_id, is_attempt=True, superseded_by__isnull=True)
    for routing in routings:
        first = (
            attempts.filter(occurred_at__gte=routing.lead.received_at)
            .order_by("occurred_at")
            .values_list("occurred_at", flat=True)
            .first()
        )
        if first != routing.first_attempt_at:
            # Conditional on the value read: a concurrent stamp is not overwritten with a stale one.
            changed += LeadRouting.objects.filter(pk=routing.pk, first_attempt_at=routing.first_attempt_at).update(
                first_attempt_at=first
            )
    return changed


@dataclass
class ResponseTimes:
    first_attempt: dt.timedelta | None
    first_two_way: dt.timedelta | None
    first_attempt_business_minutes: float | None
    breach: bool
    breach_at: dt.datetime | None
    # The lead page's clock, all in business minutes (the unit of every limit stated beside it).
    limit_minutes: int | None = None  # the limit that set breach_at (not today's setting)
    waited_business_minutes: int | None = None  # running: no attempt and no contact yet
    open_now: bool = True
    opens_at: dt.datetime | None = None  # closed now: when the clock runs again
    contacted: bool = False  # two-way contact or a visit since arrival: the clocks stopped
    reassign_limit_minutes: int | None = None  # the rule's limit that set response_due_at
    reassign_left_minutes: int | None = None
    reassign_ticks: bool = False  # business minutes left == wall minutes left: a live countdown is true


def _business(store: Store, start: dt.datetime, end: dt.datetime) -> int:
    return round(hours.business_minutes_between(store.business_hours, store.tz, start, end))


def response_times(lead: Lead, routing: LeadRouting | None, now: dt.datetime | None = None) -> ResponseTimes:
    if routing is None:
        return ResponseTimes(None, None, None, False, None)
    now = now or timezone.now()
    store = lead.store
    start = routing.clock_started_at or lead.received_at
    attempt = routing.first_attempt_at
    contacted = routing.first_two_way_at is not None
    open_now = hours.store_is_open(store.business_hours, store.tz, now)
    times = ResponseTimes(
        first_attempt=attempt - lead.received_at if attempt else None,
        first_two_way=routing.first_two_way_at - lead.received_at if routing.first_two_way_at else None,
        first_attempt_business_minutes=(
            round(hours.business_minutes_between(store.business_hours, store.tz, start, attempt), 1) if attempt else None
        ),
        breach=is_breach(routing, now),
        breach_at=routing.breach_at,
        open_now=open_now,
        opens_at=None if open_now else hours.next_open(store.business_hours, store.tz, now),
        contacted=contacted,
    )
    if routing.breach_at is not None and routing.clock_started_at is not None:
        times.limit_minutes = _business(store, routing.clock_started_at, routing.breach_at)
    if attempt is None and not contacted and routing.clock_started_at is not None:
        times.waited_business_minutes = _business(store, start, max(now, start))
    if routing.response_due_at is not None and lead.owner_id is not None:
        times.reassign_limit_minutes = (
            _business(store, routing.assigned_at, routing.response_due_at) if routing.assigned_at
            else (routing.rule.response_minutes if routing.rule else None)
        )
        times.reassign_left_minutes = _business(store, now, routing.response_due_at) if now < routing.response_due_at else 0
        wall_left = max(0.0, (routing.response_due_at - now).total_seconds() / 60)
        times.reassign_ticks = open_now and abs(wall_left - times.reassign_left_minutes) < 1
    return times


# --- notifications -----------------------------------------------------------------------------

def notify(*, staff_id: int, store: Store, lead: Lead | None, kind: str, text: str, sms: bool) -> Notification:
    now = timezone.now()
    note = Notification.objects.create(
        store=store, staff_id=staff_id, lead=lead, kind=kind, text=text[:300], created_at=now,
        sms_due_at=now if sms else None,
    )
    live.publish(store_id=store.pk, topic=live.NOTIFICATION, staff_id=staff_id, lead_id=lead.pk if lead else None,
                 data={"kind": kind, "text": note.text, "note": note.pk}, now=now)
    if sms:
        from distribution.tasks import notification_sms_task

        transaction.on_commit(lambda: nudge(notification_sms_task, note.pk))
    return note


def notification_sms_send(*, notification_id: int) -> bool:
    """Text a notification to the staff member's cell, at most once: the row is claimed by a
    conditional UPDATE, then Twilio is called outside any transaction (no lock held meanwhile)."""
    if not Notification.objects.filter(pk=notification_id, sms_due_at__isnull=False).update(sms_due_at=None):
        return False  # sent already, or another worker has it
    note = Notification.objects.select_related("staff__user", "store").get(pk=notification_id)
    try:
        sid, error = alerts.alert_send(store=note.store, staff=note.staff, body=f"DealerCRM: {note.text}"), ""
    except alerts.AlertRefused as exc:
        sid, error = "", str(exc)[:300]
    Notification.objects.filter(pk=notification_id).update(sms_sid=sid, sms_error=error)
    return True


def notifications_read(*, staff: Staff, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(staff=staff, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    count = unread.update(read_at=timezone.now())
    if count:
        live.publish(store_id=staff.store_id, topic=live.BELL, staff_id=staff.pk)  # the bell in their other tabs
    return count


# --- preview ----------------------------------------------------------------------------------

@dataclass
class Preview:
    rule: RoutingRule | None
    why: str
    strategy: str
    decision: Decision
    upcoming: list[str]


def rule_preview(*, store: Store, facts: pools.LeadFacts, at: dt.datetime | None = None) -> Preview:
    """Where a sample lead would go now (or at `at`), and why; writes nothing."""
    from distribution.strategies import round_robin

    at = at or timezone.now()
    rule, why = pools.rule_for(store, facts)
    if rule is None:
        return Preview(None, why, "", Decision(state=RoutingState.MANAGER, reason="It would wait on the manager queue, with a warning."), [])
    ctx = pools.context(rule, now=at)
    decision = BY_NAME[rule.strategy].route(ctx)
    upcoming: list[str] = []
    if rule.strategy in (Strategy.ROUND_ROBIN, Strategy.ROUND_ROBIN_REASSIGN):
        from distribution.strategies.base import split_pool

        eligible, _ = split_pool(ctx)
        weights = {m.staff_id: (max(m.weight, 1) if ctx.weighted else 1) for m in eligible}
        names = {m.staff_id: m.name for m in ctx.members}
        upcoming = [names[i] for i in round_robin.upcoming(ctx.credits, weights, 5)]
    return Preview(rule, why, rule.get_strategy_display(), decision, upcoming)


# --- availability ------------------------------------------------------------------------------

def staff_available_set(staff: Staff, available: bool) -> None:
    """The "available now" switch. Turning it on nudges the store's waiting leads: the sweeper
    routes them on its next pass (someone may be able to take them now)."""
    Staff.objects.filter(pk=staff.pk).update(available=available)
    staff.available = available
    live.publish(store_id=staff.store_id, topic=live.ROUTING, data={"floor": staff.pk})  # the board's floor
    if available:
        waiting_leads_retry(store_id=staff.store_id)


def waiting_leads_retry(*, store_id: int) -> int:
    """The store's leads waiting for someone on shift are tried on the sweeper's next pass
    (someone became available, a schedule changed)."""
    return Lead.objects.filter(store_id=store_id, routed_at__isnull=True, routing__state=RoutingState.WAITING).update(
        routing_due_at=timezone.now()
    )


# --- coverage lapse, as the Today page says it ---------------------------------------------------

LAPSE_OUTCOME: dict[str, str] = {
    OnCoverageLapse.POOL: "then it goes back to the claim pool",
    OnCoverageLapse.NEXT_IN_LINE: "then it goes to the next in line",
}


def lapse_outcomes(lead_ids: list[int]) -> dict[int, str]:
    """For leads whose owner's coverage is ending: what their routing rule does at the lapse
    ("then it goes back to the claim pool"), where the lead has a lapse deadline. One query."""
    if not lead_ids:
        return {}
    rows = LeadRouting.objects.filter(lead_id__in=lead_ids, coverage_lapse_at__isnull=False).values_list(
        "lead_id", "rule__on_coverage_lapse"
    )
    return {lead_id: LAPSE_OUTCOME[setting] for lead_id, setting in rows if setting in LAPSE_OUTCOME}
