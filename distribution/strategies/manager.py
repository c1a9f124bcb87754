"""Manager assigns: the lead waits on the queue of the pool's manager, who picks the person."""

from __future__ import annotations

from distribution.strategies.base import Decision, RouteContext


def route(ctx: RouteContext) -> Decision:
    return Decision(state="manager", reason="Waiting for the manager to assign it.")


def can_receive(ctx: RouteContext, staff_id: int) -> bool:
    """A manager may give the lead to any active member of the pool, on shift or not."""
    return any(m.staff_id == staff_id and m.active for m in ctx.members)
