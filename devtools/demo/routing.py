"""Routing setup: the demo store's routing rules (seed 003's ways of handing out leads) and
the routing record distribution keeps for each lead of the generated history."""

from __future__ import annotations

from django.db import models

from distribution.models import LeadRouting, RoutingRule, RoutingState, Strategy
from distribution.pools import rule_save
from distribution.services import business_deadline
from leads.models import OPEN_STATUSES, ContactEvent, Lead
from org.models import Role, Store


def install_routing_rules(store_id: int) -> None:
    """Seed 003's ways of handing out leads, one per kind of lead: phone-ups and walk-ins ring on
    the receptionist's board for the retail floor ("the receptionist pages the floor, first
    salesperson to call in gets it"), so a walk-in typed at the desk never goes to an internet
    agent on the 20-minute rule; used-car leads go to a claim pool that falls back to round robin
    after 10 minutes; everything else goes round robin with reassignment after 20 minutes among
    the internet agents, then to the manager after two moves."""
    store = Store.objects.get(pk=store_id)
    rule_save(RoutingRule(store=store, name="Phone-ups ring on the board", position=1, source_type="phone_up",
                          strategy=Strategy.RECEPTIONIST, pool_role=Role.RETAIL), teams=[], staff=[])
    rule_save(RoutingRule(store=store, name="Walk-ins: the receptionist pages the floor", position=2,
                          source_type="walk_in", strategy=Strategy.RECEPTIONIST, pool_role=Role.RETAIL),
              teams=[], staff=[])
    rule_save(RoutingRule(store=store, name="Used cars: claim pool", position=3, condition="used",
                          strategy=Strategy.CLAIM_POOL, claim_minutes=10, pool_role=Role.INTERNET_AGENT),
              teams=[], staff=[])
    rule_save(RoutingRule(store=store, name="Internet agents, 20-minute rule", is_fallback=True,
                          strategy=Strategy.ROUND_ROBIN_REASSIGN, response_minutes=20, max_moves=2,
                          pool_role=Role.INTERNET_AGENT), teams=[], staff=[])


def record_routing(store_id: int) -> int:
    """The history's leads get the routing record distribution keeps for every lead (their
    assignment history is already written): the response clock, the first attempt and the first
    two-way contact from the contact events, so response times and breaches show from the start."""
    store = Store.objects.get(pk=store_id)
    events = ContactEvent.objects.filter(store=store, lead__isnull=False)
    first_attempt = dict(events.filter(is_attempt=True).values("lead_id").annotate(t=models.Min("occurred_at")).values_list("lead_id", "t"))
    first_two_way = dict(events.filter(is_two_way=True).values("lead_id").annotate(t=models.Min("occurred_at"))
                         .values_list("lead_id", "t"))
    have = set(LeadRouting.objects.filter(store=store).values_list("lead_id", flat=True))
    rows = []
    for lead_id, received, owner_id, pool, assigned, status in (
        Lead.objects.filter(store=store, duplicate_of__isnull=True).exclude(pk__in=have)
        .values_list("pk", "received_at", "owner_id", "in_claim_pool", "routed_at", "status")
    ):
        state = RoutingState.ASSIGNED if owner_id else (RoutingState.POOL if pool else RoutingState.MANAGER)
        rows.append(LeadRouting(
            lead_id=lead_id, store=store, state=state, rule_name="", strategy="", queued_at=assigned or received,
            assigned_at=assigned if owner_id else None, clock_started_at=received,
            breach_at=business_deadline(store, received, store.response_limit_minutes),
            first_attempt_at=first_attempt.get(lead_id), first_two_way_at=first_two_way.get(lead_id),
            lead_closed=status not in OPEN_STATUSES,
        ))
    LeadRouting.objects.bulk_create(rows, batch_size=2_000)
    return len(rows)
