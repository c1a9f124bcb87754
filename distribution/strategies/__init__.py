"""Distribution strategies: each a plain module that decides where one lead goes.

A strategy gets a `RouteContext` (the rule, the lead, the time and the pool's members with
what decides their eligibility) and returns a `Decision`; it reads and writes nothing.
distribution.services applies the decision in one transaction.
"""

from distribution.strategies import claim_pool, manager, reassign, receptionist, round_robin
from distribution.strategies.base import Decision, Member, RouteContext, Router

BY_NAME: dict[str, Router] = {
    "round_robin": round_robin,
    "round_robin_reassign": reassign,
    "claim_pool": claim_pool,
    "manager": manager,
    "receptionist": receptionist,
}

__all__ = ["BY_NAME", "Decision", "Member", "RouteContext"]
