"""Round robin ("next in line"): fair across the pool, optionally weighted.

The rotation is a smooth weighted round robin: every eligible member's credit grows by their
weight, the highest credit gets the lead and pays back the total. With equal weights it is a
plain rotation; with weights 2 and 1 the first gets two of every three leads, interleaved.
Members who are skipped (off shift, day off, unavailable, at cap) earn nothing while away, so
coming back does not bring a flood. The credits are persisted per rule (RotationSlot).
"""

from __future__ import annotations

import datetime as dt

from distribution.strategies.base import Decision, RouteContext, next_shift, split_pool

BUSY_RETRY_MINUTES = 5


def pick(credits: dict[int, int], weights: dict[int, int]) -> tuple[int, dict[int, int]]:
    """One step of the rotation among `weights` (staff id -> weight >= 1); ties go to the lower id."""
    if not weights:
        raise ValueError("nobody to pick from")
    total = sum(weights.values())
    grown = {staff_id: credits.get(staff_id, 0) + weight for staff_id, weight in weights.items()}
    chosen = max(sorted(grown), key=lambda staff_id: grown[staff_id])
    grown[chosen] -= total
    return chosen, {**credits, **grown}


def upcoming(credits: dict[int, int], weights: dict[int, int], count: int) -> list[int]:
    """Who would get the next `count` leads if nobody's eligibility changed."""
    order = []
    for _ in range(count if weights else 0):
        chosen, credits = pick(credits, weights)
        order.append(chosen)
    return order


def route(ctx: RouteContext, *, verb: str = "Next in line") -> Decision:
    eligible, skipped = split_pool(ctx)
    if eligible:
        weights = {m.staff_id: (max(m.weight, 1) if ctx.weighted else 1) for m in eligible}
        chosen, credits = pick(ctx.credits, weights)
        name = next(m.name for m in eligible if m.staff_id == chosen)
        return Decision(
            state="assigned", owner_id=chosen, reason=f"{verb}: {name}.", skipped=skipped, credits=credits,
        )
    if ctx.after_hours_staff_id is not None:
        return Decision(
            state="assigned", owner_id=ctx.after_hours_staff_id, skipped=skipped,
            reason=f"Nobody in the pool can take it now; the rule's after-hours person, {ctx.after_hours_name}, gets it.",
        )
    busy = [s for s in skipped if s["reason"] == "unavailable" or s["reason"].startswith("at cap")]
    if busy:
        return Decision(
            state="waiting", skipped=skipped, retry_at=ctx.now + dt.timedelta(minutes=BUSY_RETRY_MINUTES),
            reason=f"Everyone on shift is at their cap or unavailable; it waits (tried again every {BUSY_RETRY_MINUTES} minutes).",
        )
    retry_at = next_shift(ctx)
    if retry_at is None:
        return Decision(state="manager", skipped=skipped, reason="Nobody in the pool can take it now or has a shift coming; it goes to the manager.")
    return Decision(state="waiting", skipped=skipped, retry_at=retry_at, reason="Nobody in the pool is on shift now; it waits for the next shift.")
