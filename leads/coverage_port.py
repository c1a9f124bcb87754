"""A port between two siblings that never import each other: distribution asks, coverage answers.

Distribution keeps each open lead's coverage-lapse deadline as a column (LeadRouting.coverage_lapse_at)
and its sweeper acts on it; only coverage knows how to judge coverage (its engine, the store's
policy versions, the owner's schedule). So coverage registers a judge here when its app is ready
(dealcoverage.apps), and distribution calls `owner_coverage` when a contact event is recorded and,
again, under the lead's lock before it takes a lead away. The dependency runs one way each:
coverage -> leads and distribution -> leads; neither knows the other. Without coverage installed
(or with no policy for the owner's role) the answer is None and nothing lapses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from leads.models import Lead


@dataclass(frozen=True)
class OwnerCoverage:
    """The lead's owner's coverage on the lead's customer, judged at `moment`."""

    covered: bool
    covered_until: dt.datetime | None  # None: no contact that counts yet, so nothing to lapse
    policy_label: str  # "'Internet 72h' v3"
    last_contact: str  # "last two-way contact Thu 10:12"

    @property
    def lapse_reason(self) -> str:
        return f"Coverage lapsed under {self.policy_label}: {self.last_contact}"


Judge = Callable[[Lead, dt.datetime], OwnerCoverage | None]
_judge: Judge | None = None


def judge_register(judge: Judge) -> None:
    global _judge
    _judge = judge


def owner_coverage(lead: Lead, moment: dt.datetime) -> OwnerCoverage | None:
    if _judge is None or lead.owner_id is None:
        return None
    return _judge(lead, moment)
