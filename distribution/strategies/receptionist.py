"""Receptionist board: the lead rings on the board (and the receptionist's phone, where the
store enables it); she pages the floor and hands it, in one click, to whoever called in first.
The floor is the pool's members who can take a lead now."""

from __future__ import annotations

from distribution.strategies.base import Decision, RouteContext, split_pool


def route(ctx: RouteContext) -> Decision:
    return Decision(state="board", reason="On the receptionist's board, for the first salesperson who calls in.")


def floor(ctx: RouteContext) -> list[int]:
    """Who is on the floor now, in the pool's order."""
    eligible, _ = split_pool(ctx)
    return [m.staff_id for m in eligible]
