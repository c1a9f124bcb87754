"""Claim pool: no owner until an eligible salesperson claims it (exactly one claim wins, by a
conditional UPDATE in distribution.services.lead_claim). With a time limit, a lead nobody claimed
falls back to round robin."""

from __future__ import annotations

from distribution.strategies import round_robin
from distribution.strategies.base import Decision, RouteContext


def route(ctx: RouteContext) -> Decision:
    limit = f" for {ctx.claim_minutes} business minutes, then round robin" if ctx.claim_minutes else ""
    return Decision(state="pool", claim_minutes=ctx.claim_minutes, reason=f"Placed in the claim pool{limit}.")


def on_deadline(ctx: RouteContext) -> Decision:
    decision = round_robin.route(ctx, verb=f"Nobody claimed it within {ctx.claim_minutes} business minutes; next in line")
    return decision
