"""Fetch the coverage engine's inputs from the database; the engine itself never queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Q

from dealcoverage import engine
from dealcoverage.models import CoveragePolicy
from leads import aliases
from leads.models import ContactEvent, Customer, CustomerMerge
from org.models import Shift, Staff, Store, TimeOff


def policies_in_force(store: Store, moment: dt.datetime) -> dict[str, CoveragePolicy]:
    """Each role's version in force at `moment`: the latest effective_from at or before it."""
    in_force: dict[str, CoveragePolicy] = {}
    for policy in CoveragePolicy.objects.filter(store=store, effective_from__lte=moment).order_by("role", "-effective_from"):
        in_force.setdefault(policy.role, policy)
    return in_force


def to_engine_policy(policy: CoveragePolicy) -> engine.Policy:
    return engine.Policy(
        name=policy.name, version=policy.version, role=policy.role,
        initial_two_way_required=policy.initial_two_way_required, keeps_alive=policy.keeps_alive,
        window_hours=policy.window_hours, min_evidence=policy.min_evidence,
        share_when_other_closes=policy.share_when_other_closes, pause_on_days_off=policy.pause_on_days_off,
        min_talk_seconds=policy.min_talk_seconds,
    )


def to_engine_event(event: ContactEvent) -> engine.Event:
    return engine.Event(
        id=event.pk, staff_id=event.staff_id, channel=event.channel, direction=event.direction,
        outcome=event.outcome, occurred_at=event.occurred_at, evidence_level=event.evidence_level,
        talk_seconds=event.talk_seconds, answered_by_person=event.answered_by_person,
        evidence_ref=event.call_sid or event.message_sid or event.email_message_id or "",
        outside_company_channels=event.outside_company_channels, two_way=event.is_two_way,
    )


def customer_events(customer: Customer, moment: dt.datetime) -> dict[int, list[engine.Event]]:
    """The customer's current contact events up to `moment`, per staff member. Events a later
    one supersedes (a call's attempt once its outcome is known) are left out."""
    by_staff: dict[int, list[engine.Event]] = defaultdict(list)
    rows = ContactEvent.objects.filter(  # with the customers merged into it (leads.aliases)
        customer_id__in=aliases.family(customer.pk), staff__isnull=False, occurred_at__lte=moment,
        superseded_by__isnull=True,
    ).order_by("occurred_at", "id")
    for event in rows:
        by_staff[event.staff_id].append(to_engine_event(event))
    return dict(by_staff)


def schedules_for(staff_ids, store: Store, around: dt.datetime, days: int = 60) -> dict[int, engine.Schedule]:
    """Weekly days off (a weekday with no shift) and time-off dates near the moment judged."""
    shifts: dict[int, set[int]] = defaultdict(set)
    for staff_id, weekday in Shift.objects.filter(staff_id__in=staff_ids).values_list("staff_id", "weekday"):
        shifts[staff_id].add(weekday)
    dates_off: dict[int, set[dt.date]] = defaultdict(set)
    start, end = (around - dt.timedelta(days=days)).date(), (around + dt.timedelta(days=1)).date()
    for off in TimeOff.objects.filter(staff_id__in=staff_ids).filter(Q(last_day__gte=start) & Q(first_day__lte=end)):
        day = max(off.first_day, start)
        while day <= min(off.last_day, end):
            dates_off[off.staff_id].add(day)
            day += dt.timedelta(days=1)
    schedules = {}
    for staff_id in staff_ids:
        worked = shifts.get(staff_id, set())
        # No shifts at all means no schedule was entered: treat nobody as off rather than always off.
        days_off = frozenset(set(range(7)) - worked) if worked else frozenset()
        schedules[staff_id] = engine.Schedule(
            staff_id=staff_id, days_off=days_off, time_zone=store.time_zone, dates_off=frozenset(dates_off[staff_id])
        )
    return schedules


def staff_roles_and_teams(staff_ids) -> tuple[dict[int, str], dict[int, int | None], dict[int, int | None]]:
    """Role, team and the team's sales manager for each staff member."""
    roles, teams, managers = {}, {}, {}
    for staff in Staff.objects.filter(pk__in=staff_ids).select_related("team"):
        roles[staff.pk] = staff.role
        teams[staff.pk] = staff.team_id
        managers[staff.pk] = staff.team.manager_id if staff.team_id else None
    return roles, teams, managers


UNCOVERED_JUDGEMENTS_SQL = """
SELECT d.id, judged.key, judged.value ->> 'covered_until'
FROM coverage_deal d
CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(d.decision -> 'decisions') = 'object'
                                   THEN d.decision -> 'decisions' ELSE '{}'::jsonb END) AS judged
WHERE d.id = ANY(%s)
  AND jsonb_typeof(judged.value) = 'object'
  AND (judged.value ->> 'covered') IS DISTINCT FROM 'true'
  AND (judged.value ->> 'covered_until') IS NOT NULL
"""


def uncovered_judgements(deal_ids: list[int]) -> dict[int, dict[str, dict]]:
    """Per deal, the people its frozen decision judged not covered, with when their coverage ended:
    {deal id: {staff id (text, as stored): {"covered": False, "covered_until": iso}}}. Read inside
    PostgreSQL, so a list of a month's deals does not load every decision's explanations."""
    from django.db import connection

    found: dict[int, dict[str, dict]] = defaultdict(dict)
    if not deal_ids:
        return found
    with connection.cursor() as cursor:
        cursor.execute(UNCOVERED_JUDGEMENTS_SQL, [list(deal_ids)])
        for deal_id, staff_id, until in cursor.fetchall():
            found[deal_id][staff_id] = {"covered": False, "covered_until": until}
    return found


def merges_since_decision(deal) -> list:
    """Merges of the deal's customer since its decision was frozen (leads.merge): the decision
    stands as judged; the page says the customer's history has changed since."""
    if deal.recorded_at is None:
        return []
    return list(
        CustomerMerge.objects.filter(store_id=deal.store_id, split_at__isnull=True, at__gt=deal.recorded_at)
        .filter(Q(survivor_id=deal.customer_id) | Q(moved__deal__contains=[deal.pk]))
        .select_related("survivor", "merged").order_by("at")
    )
