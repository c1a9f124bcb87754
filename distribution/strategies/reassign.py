"""Round robin with reassignment: next in line, and a clock.

If the owner makes no first outbound attempt within `response_minutes` business minutes, the
lead moves to the next in line (nobody gets it twice in one chain); after `max_moves` moves,
or when nobody is left, it goes to the manager's queue.
"""

from __future__ import annotations

from dataclasses import replace

from distribution.strategies import round_robin
from distribution.strategies.base import Decision, RouteContext


def route(ctx: RouteContext) -> Decision:
    decision = round_robin.route(ctx)
    if decision.state == "assigned":
        decision.response_minutes = ctx.response_minutes
    return decision


def on_deadline(ctx: RouteContext, *, owner_name: str) -> Decision:
    """The owner missed the clock: the next in line, or the manager after max_moves moves."""
    missed = f"{owner_name} made no first attempt within {ctx.response_minutes} business minutes"
    if ctx.moves >= ctx.max_moves:
        return Decision(state="manager", moved=True, reason=f"{missed}; moved {ctx.moves} times already, so it goes to the manager.")
    decision = round_robin.route(replace(ctx, after_hours_staff_id=None))
    if decision.state != "assigned":
        return Decision(state="manager", moved=True, skipped=decision.skipped, reason=f"{missed}; nobody else in the pool can take it now, so it goes to the manager.")
    decision.reason = f"{missed}; {decision.reason[0].lower()}{decision.reason[1:]}"
    decision.response_minutes = ctx.response_minutes
    decision.moved = True
    return decision
