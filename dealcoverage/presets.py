"""The coverage policies the seeds describe (DESIGN.md's table), as presets with stable names.

A store starts from one of these and versions its own copy; the names never change meaning,
so a test, a fixture or a migration can refer to "internet-72h" and mean seed 001's rule.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from dealcoverage.engine import Policy

INTERNET_ROLE = "internet_agent"  # org.models.Role.INTERNET_AGENT, spelled out to stay Django-free
RETAIL_ROLE = "retail"  # org.models.Role.RETAIL

HALF_DEAL = Decimal("0.5")


def _internet(name: str, *, keeps_alive: str, days: int | None = None, hours: int | None = None) -> Policy:
    return Policy(
        name=name,
        version=1,
        role=INTERNET_ROLE,
        initial_two_way_required=True,  # every internet policy in the seeds needs proven contact first
        keeps_alive=keeps_alive,  # type: ignore[arg-type]
        window_hours=hours if hours is not None else 24 * (days or 0),
        min_evidence="verified",  # "prove contact by phone recording, email reply or text reply"
        share_when_other_closes=HALF_DEAL,
    )


PRESETS: dict[str, Policy] = {
    policy.name: policy
    for policy in (
        # Seed 000, the old rule: proven contact once, then any follow-up within 7 days keeps it.
        _internet("internet-old-7d", keeps_alive="any_attempt", days=7),
        # Seed 000, the new rule (and seed 001's first): back-and-forth every 7 days.
        _internet("internet-new-7d", keeps_alive="two_way", days=7),
        # Seed 001, six months later.
        _internet("internet-5d", keeps_alive="two_way", days=5),
        # Seed 001, now: "keep in contact every 72 hours".
        _internet("internet-72h", keeps_alive="two_way", hours=72),
        # Seed 000's retail rule: no proof of contact, any logged activity (a DMS note such as
        # "left message" counts), 3 days, self-reported evidence allowed.
        Policy(
            name="retail-3d",
            version=1,
            role=RETAIL_ROLE,
            initial_two_way_required=False,
            keeps_alive="any_attempt",
            window_hours=72,
            min_evidence="self_reported",
            share_when_other_closes=HALF_DEAL,
        ),
    )
}


def preset(name: str, *, pause_on_days_off: bool = False, version: int | None = None) -> Policy:
    """A preset by name, optionally the variant whose window pauses on the staff member's days
    off (seed 001: the customer came on the agent's day off), or under another version number."""
    try:
        policy = PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown coverage preset {name!r}; known: {', '.join(PRESETS)}") from None
    return dataclasses.replace(
        policy,
        pause_on_days_off=pause_on_days_off,
        version=policy.version if version is None else version,
    )
