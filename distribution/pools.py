"""Rules and pools: which rule takes a lead, who is in a rule's pool, and the pool's members
loaded in a few queries with what decides their eligibility."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from distribution.models import RotationSlot, RoutingRule
from distribution.strategies import Member, RouteContext
from leads.models import Lead, LeadStatus, VehicleInterest
from org import rawsql
from org.models import SALES_ROLES, Role, Shift, Staff, Store, TimeOff


@dataclass
class LeadFacts:
    """What a routing rule can match on."""

    source_type: str = ""
    provider: str = ""
    condition: str = ""
    make: str = ""
    lead_kind: str = ""
    stock_numbers: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, lead: Lead) -> LeadFacts:
        vehicles = list(lead.vehicles.all())
        wanted = [v for v in vehicles if v.interest in (VehicleInterest.BUY, VehicleInterest.LEASE)]
        first = wanted[0] if wanted else None
        if first is not None:
            kind = first.interest
        elif any(v.interest == VehicleInterest.TRADE_IN for v in vehicles):
            kind = VehicleInterest.TRADE_IN
        else:
            kind = ""
        return cls(
            source_type=lead.source_type,
            provider=lead.provider,
            condition=first.condition if first else "",
            make=first.make if first else "",
            lead_kind=kind,
            stock_numbers=[v.stock_number.strip().upper() for v in wanted if v.stock_number.strip()],
        )


def rule_match(rule: RoutingRule, facts: LeadFacts) -> tuple[bool, list[str]]:
    """Whether the lead matches the rule, and the conditions that matched (or the one that failed)."""
    matched: list[str] = []
    checks = [
        ("source", rule.source_type, facts.source_type, rule.get_source_type_display() if rule.source_type else ""),
        ("provider", rule.provider.lower(), facts.provider.lower(), rule.provider),
        ("condition", rule.condition, facts.condition, rule.condition),
        ("make", rule.make.lower(), facts.make.lower(), rule.make),
        ("kind", rule.lead_kind, facts.lead_kind, rule.get_lead_kind_display() if rule.lead_kind else ""),
    ]
    for label, wanted, actual, shown in checks:
        if not wanted:
            continue
        if wanted != actual:
            return False, [f"{label} is not {shown}"]
        matched.append(f"{label} is {shown}")
    stock = rule.stock_number_list
    if stock:
        hits = sorted(set(stock) & set(facts.stock_numbers))
        if not hits:
            return False, ["stock number not in the rule's list"]
        matched.append(f"stock number {hits[0]}")
    return True, matched


def rule_for(store: Store, facts: LeadFacts | Callable[[], LeadFacts]) -> tuple[RoutingRule | None, str]:
    """The first enabled rule the lead matches (the fallback last), and why.

    `facts` may be a function that builds them: the lead's vehicles are then read only when a
    rule asks about them."""
    # Plain SQL: this runs for every lead routed. The after-hours person is read by context(),
    # for the one rule that takes the lead, and only where the rule names one.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {rawsql.columns(RoutingRule, 'r')} FROM {RoutingRule._meta.db_table} r"
            " WHERE r.store_id = %s AND r.enabled ORDER BY r.is_fallback, r.position, r.id",
            [store.pk],
        )
        rows = cursor.fetchall()
    known = facts if isinstance(facts, LeadFacts) else None
    for row in rows:
        rule = rawsql.instance(RoutingRule, row)
        rule.store = store
        if rule.is_fallback:
            return rule, f"no other rule matched; the fallback rule “{rule.name}” takes it"
        if known is None:
            known = facts()
        ok, matched = rule_match(rule, known)
        if ok:
            return rule, f"rule “{rule.name}” matched ({', '.join(matched) or 'any lead'})"
    return None, "no routing rule matched and the store has no fallback rule"


def pool_q(rule: RoutingRule) -> Q:
    """The rule's pool as a condition on Staff, its teams and named staff read in the same
    query (as subqueries) rather than fetched first."""
    if rule.pk is None:
        return pool_q_of(teams=[], staff=[], role=rule.pool_role)
    teams = RoutingRule.pool_teams.through.objects.filter(routingrule_id=rule.pk).values("team_id")
    named = RoutingRule.pool_staff.through.objects.filter(routingrule_id=rule.pk).values("staff_id")
    q = Q(pk__in=named) | Q(team_id__in=teams, role__in=list(SALES_ROLES))
    if rule.pool_role:
        q |= Q(role=rule.pool_role)
    return q


def pool_q_of(*, teams, staff, role: str) -> Q:
    q = Q(pk__in=list(staff))
    if teams:
        q |= Q(team_id__in=list(teams), role__in=list(SALES_ROLES))
    if role:
        q |= Q(role=role)
    return q


def pool_staff(rule: RoutingRule):
    return Staff.objects.filter(pool_q(rule), store_id=rule.store_id, is_active=True)


def _members_sql() -> str:
    pool_staff_table = RoutingRule.pool_staff.through._meta.db_table
    pool_teams_table = RoutingRule.pool_teams.through._meta.db_table
    return f"""
        SELECT s.id, u.first_name, u.last_name, u.username, s.lead_weight, s.is_active, s.available,
               (SELECT coalesce(json_agg(json_build_array(sh.weekday, sh.starts, sh.ends) ORDER BY sh.id), '[]')
                  FROM {Shift._meta.db_table} sh WHERE sh.staff_id = s.id),
               (SELECT coalesce(json_agg(json_build_array(t.first_day, t.last_day) ORDER BY t.id), '[]')
                  FROM {TimeOff._meta.db_table} t
                 WHERE t.staff_id = s.id AND t.first_day <= %(until)s AND t.last_day >= %(since)s),
               (SELECT count(*) FROM {Lead._meta.db_table} l
                 WHERE l.owner_id = s.id AND l.status = %(new)s AND l.duplicate_of_id IS NULL)
          FROM {Staff._meta.db_table} s JOIN {get_user_model()._meta.db_table} u ON u.id = s.user_id
         WHERE s.store_id = %(store)s AND s.is_active
           AND (s.id IN (SELECT staff_id FROM {pool_staff_table} WHERE routingrule_id = %(rule)s)
                OR (s.role = ANY(%(sales)s)
                    AND s.team_id IN (SELECT team_id FROM {pool_teams_table} WHERE routingrule_id = %(rule)s))
                OR s.role = %(role)s)
         ORDER BY s.id
    """


def members(rule: RoutingRule, *, now: dt.datetime) -> list[Member]:
    """The pool's active members (pool_staff's people) with their shifts, time off around today
    and open new leads, in one query. Shifts and time off come back as JSON arrays; open new
    leads are counted on the partial index lead_owner_new, which holds only unworked leads, so
    routing time grows neither with schedules nor with the store's history.

    Written as SQL because it runs for every lead routed: the ORM took several times longer to
    compose this query than PostgreSQL took to answer it (bench/distribution.py).
    tests/distribution/test_routing.py checks it against pool_staff."""
    if rule.pk is None:
        return []
    from django.db import connection

    today = now.date()
    with connection.cursor() as cursor:
        cursor.execute(_members_sql(), {
            "store": rule.store_id, "rule": rule.pk, "sales": sorted(SALES_ROLES), "role": rule.pool_role,
            "new": LeadStatus.NEW, "since": today - dt.timedelta(days=1), "until": today + dt.timedelta(days=1),
        })
        rows = cursor.fetchall()
    return [
        Member(
            staff_id=pk,
            name=f"{first} {last}".strip() or username,
            weight=weight,
            active=active,
            available=available,
            shifts=[(day, dt.time.fromisoformat(starts), dt.time.fromisoformat(ends)) for day, starts, ends in shifts],
            time_off=[(dt.date.fromisoformat(first_day), dt.date.fromisoformat(last_day)) for first_day, last_day in leave],
            open_new=open_new,
        )
        for pk, first, last, username, weight, active, available, shifts, leave, open_new in rows
    ]


def rotation(rule: RoutingRule, *, lock: bool) -> dict[int, int]:
    """The rule's rotation credits. With lock=True the rule row is locked first (until commit),
    so two workers routing leads of one rule take turns and the rotation stays exact. The
    credits are read by a second statement on purpose: a statement that waited for a row lock
    still sees the rows it joined as they were before it waited (READ COMMITTED), so reading
    them in the locking query would hand two leads to the same person."""
    from django.db import connection

    with connection.cursor() as cursor:
        if lock:
            cursor.execute(f"SELECT id FROM {RoutingRule._meta.db_table} WHERE id = %s FOR UPDATE", [rule.pk])
        cursor.execute(f"SELECT staff_id, credit FROM {RotationSlot._meta.db_table} WHERE rule_id = %s", [rule.pk])
        return dict(cursor.fetchall())


def context(rule: RoutingRule, *, now: dt.datetime, exclude: set[int] | None = None, moves: int = 0,
            lock: bool = False) -> RouteContext:
    """Everything a strategy needs: two queries (the rotation, locked when `lock`, then the
    members, read after the lock so their open-lead counts include the previous pick)."""
    store = rule.store
    credits = rotation(rule, lock=lock)
    after = None
    if rule.after_hours_staff_id is not None:
        after = rule.after_hours_staff if RoutingRule.after_hours_staff.is_cached(rule) else \
            Staff.objects.select_related("user").filter(pk=rule.after_hours_staff_id).first()
    return RouteContext(
        now=now,
        tz=store.tz,
        business_hours=store.business_hours,
        members=members(rule, now=now),
        credits=credits,
        cap=rule.open_new_cap,
        weighted=rule.weighted,
        exclude=exclude or set(),
        after_hours_staff_id=after.pk if after is not None and after.is_active else None,
        after_hours_name=after.display_name if after is not None else "",
        response_minutes=rule.response_minutes,
        max_moves=rule.max_moves,
        moves=moves,
        claim_minutes=rule.claim_minutes,
    )


def credits_save(rule: RoutingRule, credits: dict[int, int], chosen: int | None, *, now: dt.datetime) -> None:
    """Persist the rotation after a pick: one INSERT ... ON CONFLICT for every pool member."""
    if not credits:
        return
    from django.db import connection

    ids = list(credits)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {RotationSlot._meta.db_table} (rule_id, staff_id, credit, assigned, last_assigned_at)
            SELECT %s, staff_id, credit, (staff_id = %s)::int, CASE WHEN staff_id = %s THEN %s::timestamptz END
            FROM unnest(%s::bigint[], %s::int[]) AS t(staff_id, credit)
            ON CONFLICT (rule_id, staff_id) DO UPDATE SET
                credit = EXCLUDED.credit,
                assigned = {RotationSlot._meta.db_table}.assigned + EXCLUDED.assigned,
                last_assigned_at = COALESCE(EXCLUDED.last_assigned_at, {RotationSlot._meta.db_table}.last_assigned_at)
            """,
            [rule.pk, chosen or 0, chosen or 0, now, ids, [credits[i] for i in ids]],
        )


def managers_of(rule: RoutingRule | None, store: Store) -> list[Staff]:
    """Whose queue a lead lands on: the rule's manager, else the pool teams' managers, else the
    store's sales managers and internet directors."""
    if rule is not None and rule.manager_id and rule.manager.is_active:
        return [rule.manager]
    if rule is not None:
        found = list(
            Staff.objects.filter(managed_teams__in=rule.pool_teams.all(), is_active=True).select_related("user").distinct()
        )
        if found:
            return found
    return list(
        Staff.objects.filter(
            store=store, is_active=True, role__in=[Role.SALES_MANAGER, Role.INTERNET_DIRECTOR]
        ).select_related("user")
    )


def in_pool(lead: Lead, staff: Staff) -> bool:
    """May this person be given the lead? A member of its rule's pool; any active salesperson
    of the store when no rule took the lead."""
    if staff.store_id != lead.store_id or not staff.is_active:
        return False
    routing = getattr(lead, "routing", None) if hasattr(lead, "routing") else None
    rule = routing.rule if routing is not None else None
    if rule is None:
        return staff.role in SALES_ROLES
    return pool_staff(rule).filter(pk=staff.pk).exists()


def rule_validate(*, store: Store, strategy: str, teams, staff, role: str, after_hours_staff: Staff | None,
                  manager: Staff | None) -> None:
    """A rule needs a strategy and a pool that resolves to at least one active person of its store."""
    errors: dict[str, str] = {}
    if not strategy:
        errors["strategy"] = "Choose how this rule hands out leads (a strategy)."
    team_ids = [t.pk for t in teams]
    staff_ids = [s.pk for s in staff]
    if any(t.store_id != store.pk for t in teams):
        errors["pool_teams"] = "A pool team must belong to this store."
    if any(s.store_id != store.pk for s in staff):
        errors["pool_staff"] = "Pool members must be staff of this store."
    for name, person in (("after_hours_staff", after_hours_staff), ("manager", manager)):
        if person is not None and person.store_id != store.pk:
            errors[name] = "Must be staff of this store."
    if not (team_ids or staff_ids or role):
        errors["pool_staff"] = "The pool is empty: choose teams, named staff or a role."
    elif not errors and not Staff.objects.filter(
        pool_q_of(teams=team_ids, staff=staff_ids, role=role), store=store, is_active=True
    ).exists():
        errors["pool_staff"] = "The pool has nobody in it: the chosen teams, staff or role have no active members."
    if errors:
        raise ValidationError(errors)


def rule_save(rule: RoutingRule, *, teams, staff) -> RoutingRule:
    """Validate and save a rule with its pool in one transaction."""
    teams, staff = list(teams), list(staff)
    rule_validate(
        store=rule.store, strategy=rule.strategy, teams=teams, staff=staff, role=rule.pool_role,
        after_hours_staff=rule.after_hours_staff, manager=rule.manager,
    )
    with transaction.atomic():
        if rule.is_fallback and rule.enabled:
            clash = RoutingRule.objects.filter(store=rule.store, is_fallback=True, enabled=True).exclude(pk=rule.pk)
            if clash.exists():
                raise ValidationError({"is_fallback": f"“{clash.first().name}” is already this store's fallback rule."})
        if rule.pk is None and not rule.position:
            last = RoutingRule.objects.filter(store=rule.store).order_by("-position").first()
            rule.position = (last.position + 1) if last else 1
        rule.save()
        rule.pool_teams.set(teams)
        rule.pool_staff.set(staff)
    return rule


def rule_move(rule: RoutingRule, direction: str) -> bool:
    """Swap a rule with its neighbour above ("up") or below ("down") in its store's order.

    Only the ordinary rules move (the fallback is always tried last); disabled rules keep their
    place. The store's rules are locked and renumbered 1..n, so equal positions cannot stick.
    False when the rule is already first or last."""
    if direction not in ("up", "down"):
        raise ValueError(f"direction must be 'up' or 'down', not {direction!r}")
    with transaction.atomic():
        rules = list(
            RoutingRule.objects.select_for_update()
            .filter(store_id=rule.store_id, is_fallback=False)
            .order_by("position", "id")
        )
        ids = [r.pk for r in rules]
        if rule.pk not in ids:
            return False
        here = ids.index(rule.pk)
        there = here - 1 if direction == "up" else here + 1
        if not 0 <= there < len(rules):
            return False
        rules[here], rules[there] = rules[there], rules[here]
        changed = []
        for position, each in enumerate(rules, start=1):
            if each.position != position:
                each.position = position
                changed.append(each)
        RoutingRule.objects.bulk_update(changed, ["position"])
    return True
