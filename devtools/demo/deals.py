"""Deals and the coverage policies that judge them: the demo store's starting policies (seeds
000/001) and a deal for every sold lead, recorded through the coverage engine so the deal list,
the dashboard, disputes and the what-if replay have the store's own history."""

from __future__ import annotations

import datetime as dt
import random

from dealcoverage.presets import preset
from dealcoverage.services import POLICY_FIELDS, deal_record, policy_version_create
from leads.models import Lead, LeadStatusChange
from org.models import Role, Staff, Store


def record_demo_deals(store_id: int, rng: random.Random) -> int:
    """Every sold lead of the demo store becomes a deal judged by the coverage engine, so the
    deal list, the dashboard, disputes and the what-if replay have the store's own history.
    Most are closed by the lead's owner; some by a retail salesperson who took the customer on
    the floor, which is where coverage decides a half deal."""
    store = Store.objects.get(pk=store_id)
    retail = list(Staff.objects.filter(store=store, role=Role.RETAIL).order_by("pk"))
    sold_at = dict(
        LeadStatusChange.objects.filter(lead__store=store, to_status="sold").values_list("lead_id", "changed_at")
    )
    count = 0
    for lead in Lead.objects.filter(store=store, status="sold", owner__isnull=False).select_related("customer", "owner"):
        closer = rng.choice(retail) if retail and rng.random() < 0.3 else lead.owner
        vehicle = lead.vehicles.filter(interest="buy").first()
        deal_record(
            store=store, customer=lead.customer, lead=lead, closer=closer, source="dms_csv",
            sold_at=sold_at.get(lead.pk, lead.received_at), vehicle=str(vehicle) if vehicle else "",
            stock_number=vehicle.stock_number if vehicle else "", external_id=f"DEMO-{lead.pk}",
        )
        count += 1
    return count


def install_coverage_policies(store_id: int, since: dt.datetime) -> None:
    """The seeds' store: internet agents covered 72 h by two-way contact (seed 001's latest
    policy), retail 3 days by any logged activity (seed 000). Directors change them later."""
    store = Store.objects.get(pk=store_id)
    for role, name in ((Role.INTERNET_AGENT, "internet-72h"), (Role.RETAIL, "retail-3d"), (Role.FLEET, "retail-3d")):
        params = preset(name).to_dict()
        policy_version_create(
            store=store, role=role, effective_from=since - dt.timedelta(days=1), created_by=None,
            note="Demo store's starting policy", **{k: params[k] for k in POLICY_FIELDS},
        )
