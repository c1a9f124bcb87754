"""What-if replay: a store's past deals judged again under a proposed policy, beside their credit.

Nothing is written. Each deal sold in [start, end) is judged by the engine with the proposal
for the roles it names (the versions in force at sold_at for the others), from the customer's
contact events up to sold_at and the same schedules `deal_record` would use. The "now" side is
the deal's ACTIVE credit rows as they stand, overrides included.

The number of queries does not depend on the number of deals: deals, their active credits, all
their customers' events, the staff involved, shifts, time off and the store's policy versions
are each fetched once and grouped in Python.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from dealcoverage import engine, formatting, selectors
from dealcoverage.models import CoveragePolicy, Deal, DealCredit
from dealcoverage.presets import PRESETS
from leads import aliases
from leads.models import ContactEvent
from org.models import Shift, Staff, Store, TimeOff

ZERO = Decimal(0)
SCHEDULE_DAYS = 60  # as selectors.schedules_for: time off that far before a sale counts


def fmt(value: Decimal, *, sign: bool = False) -> str:
    """A share without trailing zeros: 0.500 -> "0.5", 2.000 -> "2"; with sign, "+0.5"."""
    text = format(value.normalize(), "f") if value else "0"
    return f"+{text}" if sign and value > 0 else text


@dataclass
class Row:
    """A person's (or a team's) credit, now and under the proposal."""

    key: int | None
    name: str
    now: Decimal = ZERO
    proposed: Decimal = ZERO
    team: str = ""
    deals: int = 0

    @property
    def difference(self) -> Decimal:
        return self.proposed - self.now

    def to_dict(self) -> dict:
        return {
            "id": self.key, "name": self.name, "team": self.team, "deals": self.deals,
            "now": fmt(self.now), "proposed": fmt(self.proposed), "difference": fmt(self.difference),
        }

    @property
    def display(self) -> tuple[str, str, str]:
        return fmt(self.now), fmt(self.proposed), fmt(self.difference, sign=True)


@dataclass
class DealReplay:
    deal_id: int
    sold_at: dt.datetime
    customer: str
    closer: str
    now: dict[int, Decimal]
    proposed: dict[int, Decimal]
    explanation: str
    changed: bool
    # "Now" is a manager's override: part of a change may be undoing it, not the policy.
    overridden: bool = False
    names: dict[int, str] = field(default_factory=dict)
    # Drill-down: each judged person's proposed explanation, (name, covered, explanation).
    details: list[tuple[str, bool, str]] = field(default_factory=list)
    sold_local: str = ""  # 'Thu Nov 26, 10:44 PM' in the store's zone (engine.when)

    def split(self, which: str) -> list[tuple[str, str]]:
        shares = self.now if which == "now" else self.proposed
        ordered = sorted(shares.items(), key=lambda i: (-i[1], self.names.get(i[0], "")))  # ties by name
        return [(self.names.get(sid, f"#{sid}"), formatting.percent(share)) for sid, share in ordered]

    def split_words(self, which: str) -> str:
        """'Dana Whitfield 50 %; Sam Ortiz 50 %'."""
        return "; ".join(f"{name} {share}" for name, share in self.split(which))

    @property
    def now_split(self) -> list[tuple[str, str]]:
        return self.split("now")

    @property
    def proposed_split(self) -> list[tuple[str, str]]:
        return self.split("proposed")

    def to_dict(self) -> dict:
        return {
            "deal": self.deal_id, "sold_at": self.sold_at.isoformat(), "customer": self.customer,
            "closer": self.closer, "changed": self.changed,
            "now": {str(k): fmt(v) for k, v in self.now.items()},
            "proposed": {str(k): fmt(v) for k, v in self.proposed.items()},
            "explanation": self.explanation,
            "overridden": self.overridden,
            "details": [{"name": n, "covered": c, "explanation": e} for n, c, e in self.details],
        }


@dataclass
class ReplayResult:
    store: Store
    start: dt.datetime
    end: dt.datetime
    proposed: dict[str, engine.Policy]
    deals: list[DealReplay] = field(default_factory=list)
    people: list[Row] = field(default_factory=list)
    teams: list[Row] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.deals

    @property
    def message(self) -> str:
        if self.empty:
            zone = self.store.tz
            first = self.start.astimezone(zone)
            last = (self.end - dt.timedelta(microseconds=1)).astimezone(zone)  # the end is exclusive
            return (f"No deals sold from {engine.day_words(first.date())}, {first.year} "
                    f"to {engine.day_words(last.date())}, {last.year}.")
        changed = len(self.changed)
        return f"{len(self.deals)} deal{'s' if len(self.deals) != 1 else ''} replayed; {changed} would change."

    @property
    def changed(self) -> list[DealReplay]:
        return [d for d in self.deals if d.changed]

    def to_dict(self) -> dict:
        return {
            "store": self.store.pk, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "proposed": {role: p.to_dict() for role, p in self.proposed.items()},
            "empty": self.empty, "message": self.message, "deal_count": len(self.deals),
            "people": [r.to_dict() for r in self.people], "teams": [r.to_dict() for r in self.teams],
            "changed": [d.to_dict() for d in self.changed],
            "deals": [d.to_dict() for d in self.deals],
        }


def _name(staff: Staff | None, staff_id: int | None) -> str:
    if staff is None:
        return "No team" if staff_id is None else f"#{staff_id}"
    return staff.user.get_full_name() or staff.user.get_username()


def _versions_in_force(policies: list[CoveragePolicy], moment: dt.datetime) -> dict[str, CoveragePolicy]:
    """selectors.policies_in_force, from rows already fetched (ordered role, -effective_from)."""
    in_force: dict[str, CoveragePolicy] = {}
    for policy in policies:
        if policy.effective_from <= moment:
            in_force.setdefault(policy.role, policy)
    return in_force


def replay(
    *, store: Store, proposed: Mapping[str, engine.Policy], start: dt.datetime, end: dt.datetime
) -> ReplayResult:
    result = ReplayResult(store=store, start=start, end=end, proposed=dict(proposed))
    deals = list(
        Deal.objects.filter(store=store, sold_at__gte=start, sold_at__lt=end)
        .select_related("customer")
        .order_by("sold_at", "id")
    )
    if not deals:
        return result

    credits: dict[int, list[DealCredit]] = defaultdict(list)
    for credit in DealCredit.objects.filter(deal__in=[d.pk for d in deals], active=True).order_by("deal_id", "id"):
        credits[credit.deal_id].append(credit)

    # Every customer's current events up to the last sale, in one query, grouped per customer.
    last_sale = max(d.sold_at for d in deals)
    events: dict[int, list[engine.Event]] = defaultdict(list)
    family = aliases.families({d.customer_id for d in deals})  # with the customers merged into them
    rows = (
        ContactEvent.objects.filter(
            customer_id__in=list(family), staff__isnull=False, occurred_at__lte=last_sale,
            superseded_by__isnull=True,
        )
        .order_by("customer_id", "occurred_at", "id")
        .values_list(
            "id", "customer_id", "staff_id", "channel", "direction", "outcome", "occurred_at", "evidence_level",
            "talk_seconds", "answered_by_person", "call_sid", "message_sid", "email_message_id",
            "outside_company_channels", "is_two_way",
        )
    )
    for (pk, customer_id, staff_id, channel, direction, outcome, occurred_at, evidence, talk, answered, call_sid,
         message_sid, email_id, outside, two_way) in rows.iterator(chunk_size=5000):
        events[family[customer_id]].append(engine.Event(
            id=pk, staff_id=staff_id, channel=channel, direction=direction, outcome=outcome,
            occurred_at=occurred_at, evidence_level=evidence, talk_seconds=talk, answered_by_person=answered,
            evidence_ref=call_sid or message_sid or email_id or "", outside_company_channels=outside,
            two_way=two_way,
        ))
    times = {customer: [e.occurred_at for e in evs] for customer, evs in events.items()}

    staff_ids = {d.closer_id for d in deals} | {c.staff_id for cs in credits.values() for c in cs}
    staff_ids |= {e.staff_id for evs in events.values() for e in evs}
    people = {s.pk: s for s in Staff.objects.filter(pk__in=staff_ids).select_related("user", "team__manager__user")}
    roles = {pk: s.role for pk, s in people.items()}
    teams = {pk: s.team_id for pk, s in people.items()}
    managers = {pk: (s.team.manager_id if s.team_id else None) for pk, s in people.items()}
    staff_by_id: dict[int, Staff] = dict(people)
    for s in people.values():
        if s.team_id and s.team.manager_id:
            staff_by_id.setdefault(s.team.manager_id, s.team.manager)
    missing_managers = {c.team_manager_id for cs in credits.values() for c in cs} - set(staff_by_id) - {None}
    if missing_managers:  # a frozen team credit for a manager not otherwise involved (rare)
        staff_by_id.update({s.pk: s for s in Staff.objects.filter(pk__in=missing_managers).select_related("user")})

    # Schedules, as selectors.schedules_for builds them, for everyone and the whole range at once.
    worked: dict[int, set[int]] = defaultdict(set)
    for staff_id, weekday in Shift.objects.filter(staff_id__in=staff_ids).values_list("staff_id", "weekday"):
        worked[staff_id].add(weekday)
    first_day = (min(d.sold_at for d in deals) - dt.timedelta(days=SCHEDULE_DAYS)).date()
    last_day = (last_sale + dt.timedelta(days=1)).date()
    off_dates: dict[int, list[dt.date]] = defaultdict(list)
    for off in TimeOff.objects.filter(staff_id__in=staff_ids).filter(
        Q(last_day__gte=first_day) & Q(first_day__lte=last_day)
    ):
        day = max(off.first_day, first_day)
        while day <= min(off.last_day, last_day):
            off_dates[off.staff_id].append(day)
            day += dt.timedelta(days=1)
    for dates in off_dates.values():
        dates.sort()
    days_off = {pk: frozenset(set(range(7)) - worked[pk]) if worked.get(pk) else frozenset() for pk in staff_ids}

    def schedules(ids, sold_at: dt.datetime) -> dict[int, engine.Schedule]:
        lo, hi = (sold_at - dt.timedelta(days=SCHEDULE_DAYS)).date(), (sold_at + dt.timedelta(days=1)).date()
        out = {}
        for pk in ids:
            dates = off_dates.get(pk, ())
            window = frozenset(dates[bisect.bisect_left(dates, lo):bisect.bisect_right(dates, hi)]) if dates else frozenset()
            out[pk] = engine.Schedule(staff_id=pk, days_off=days_off.get(pk, frozenset()), time_zone=store.time_zone,
                                      dates_off=window)
        return out

    policies = list(CoveragePolicy.objects.filter(store=store).order_by("role", "-effective_from"))
    engine_policies = {p.pk: selectors.to_engine_policy(p) for p in policies}

    person_rows: dict[int, Row] = {}
    team_rows: dict[int | None, Row] = {}

    def person(pk: int) -> Row:
        if pk not in person_rows:
            manager_id = managers.get(pk)
            person_rows[pk] = Row(key=pk, name=_name(people.get(pk), pk),
                                  team=_name(staff_by_id.get(manager_id), manager_id) if manager_id else "")
        return person_rows[pk]

    def team(pk: int | None) -> Row:
        if pk not in team_rows:
            team_rows[pk] = Row(key=pk, name=_name(staff_by_id.get(pk), pk))
        return team_rows[pk]

    for deal in deals:
        customer_events = events.get(deal.customer_id, [])
        cut = bisect.bisect_right(times.get(deal.customer_id, []), deal.sold_at)
        by_staff: dict[int, list[engine.Event]] = defaultdict(list)
        for event in customer_events[:cut]:
            by_staff[event.staff_id].append(event)
        in_force = {role: engine_policies[p.pk] for role, p in _versions_in_force(policies, deal.sold_at).items()}
        in_force.update(proposed)
        involved = sorted({deal.closer_id, *by_staff})
        decision = engine.credit(
            in_force, roles, by_staff, schedules(involved, deal.sold_at), deal.closer_id, deal.sold_at,
            staff_teams=teams, time_zone=store.time_zone,
        )
        now: dict[int, Decimal] = defaultdict(Decimal)
        frozen_team: dict[int, int | None] = {}
        for credit in credits.get(deal.pk, []):
            now[credit.staff_id] += credit.share
            frozen_team[credit.staff_id] = credit.team_manager_id
        new: dict[int, Decimal] = defaultdict(Decimal)
        for share in decision.shares:
            new[share.staff_id] += share.share
        for pk, share in now.items():
            person(pk).now += share
            team(frozen_team[pk]).now += share
        for pk, share in new.items():
            person(pk).proposed += share
            team(frozen_team.get(pk, managers.get(pk))).proposed += share
        for pk in set(now) | set(new):
            person(pk).deals += 1
        for manager_id in {frozen_team.get(pk, managers.get(pk)) for pk in set(now) | set(new)}:
            team(manager_id).deals += 1
        explanation = decision.explanation
        if decision.winner_id is not None:  # the engine speaks of ids; people read names
            winner_name = _name(people.get(decision.winner_id), decision.winner_id)
            explanation = explanation.replace(f"Staff {decision.winner_id} shares", f"{winner_name} shares", 1)
        overridden = any(credit.overrides_id for credit in credits.get(deal.pk, []))
        changed = {k: v for k, v in now.items() if v} != {k: v for k, v in new.items() if v}
        result.deals.append(DealReplay(
            deal_id=deal.pk, sold_at=deal.sold_at, customer=str(deal.customer), closer=_name(people.get(deal.closer_id), deal.closer_id),
            now=dict(now), proposed=dict(new), explanation=explanation, changed=changed, overridden=overridden,
            names={pk: person(pk).name for pk in set(now) | set(new)},
            # The closer is judged too (their own role's policy) but closed it: say that, not "not covered".
            details=[(_name(people.get(pk), pk), d.covered, "closed the deal." if pk == deal.closer_id else d.explanation)
                     for pk, d in decision.decisions.items()],
            sold_local=engine.when(deal.sold_at, store.tz),
        ))
    result.people = sorted(person_rows.values(), key=lambda r: (-abs(r.difference), r.name))
    result.teams = sorted(team_rows.values(), key=lambda r: (-abs(r.difference), r.name))
    return result


# --------------------------------------------------------------------------------------
# The proposal: a base (a preset or one of the store's saved versions), its parameters as
# edited, checked by one rule for the page's form and the JSON API, and named for what it is.
# --------------------------------------------------------------------------------------

# The parameters a director edits (DESIGN.md's list, less the role, which is the fieldset's);
# the minimum talk time stays the base's.
PROPOSAL_PARAMETERS = [
    "initial_two_way_required", "keeps_alive", "window_hours", "min_evidence", "share_when_other_closes",
    "pause_on_days_off",
]
PARAMETER_LABELS = {
    "initial_two_way_required": "Initial two-way contact required",
    "keeps_alive": "What keeps coverage alive",
    "window_hours": "Window (hours)",
    "min_evidence": "Minimum evidence",
    "share_when_other_closes": "Share when another closes (0 to 1)",
    "pause_on_days_off": "Window pauses on days off",
}
MAX_WINDOW_HOURS = 24 * SCHEDULE_DAYS  # the schedules the replay reads reach that far back
PROPOSAL_VERSION = 0  # a proposal is no saved version; engine.Policy.label says "(proposed)"


@dataclass(frozen=True)
class Base:
    """Where a proposal starts: 'preset:internet-72h' or 'version:<pk>' (a saved version)."""

    key: str
    label: str  # what the select shows
    name: str  # what a proposal built on it is called: 'internet-72h', 'internet-72h v3'
    policy: engine.Policy
    in_force: bool = False


def bases(store: Store, roles: list[str], moment: dt.datetime) -> dict[str, list[Base]]:
    """Per role: the store's saved versions (newest first, the one in force marked) and the presets."""
    out: dict[str, list[Base]] = {role: [] for role in roles}
    versions = list(CoveragePolicy.objects.filter(store=store, role__in=roles).order_by("role", "-effective_from"))
    in_force = {p.pk for p in _versions_in_force(versions, moment).values()}
    zone = store.tz
    for version in versions:
        current = version.pk in in_force
        since = engine.day_words(version.effective_from.astimezone(zone).date())
        label = f"{version.name} v{version.version}, {'in force' if current else 'from'} {since}"
        if version.effective_from > moment:
            label = f"{version.name} v{version.version}, planned from {since}"
        out[version.role].append(Base(
            key=f"version:{version.pk}", label=label, name=f"{version.name} v{version.version}",
            policy=selectors.to_engine_policy(version), in_force=current,
        ))
    for role in roles:
        own = [name for name, policy in PRESETS.items() if policy.role == role]
        for name in own or list(PRESETS):  # a role without presets of its own (fleet) may start from any
            out[role].append(Base(key=f"preset:{name}", label=f"{name} (preset)", name=name,
                                  policy=dataclasses.replace(PRESETS[name], role=role)))
    return out


def parameter_errors(values: Mapping[str, object]) -> dict[str, str]:
    """What is wrong with the given parameters, per field, in words a director reads. Only the
    fields present are checked (the API may give a preset and one change)."""
    errors: dict[str, str] = {}
    if "window_hours" in values:
        hours = values["window_hours"]
        if isinstance(hours, bool) or not isinstance(hours, int | str | Decimal | float):
            errors["window_hours"] = "Window (hours): give a whole number of hours."
        else:
            try:
                number = Decimal(str(hours))
            except ArithmeticError:
                number = None
            if number is None or number != number.to_integral_value():
                errors["window_hours"] = "Window (hours): give a whole number of hours."
            elif not 1 <= number <= MAX_WINDOW_HOURS:
                errors["window_hours"] = f"Window (hours) must be from 1 to {MAX_WINDOW_HOURS} (72 h is 3 days)."
    if "share_when_other_closes" in values:
        share = values["share_when_other_closes"]
        try:
            number = None if isinstance(share, bool) else Decimal(str(share))
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite():
            errors["share_when_other_closes"] = "Share when another closes: give a number from 0 to 1."
        elif not Decimal(0) <= number <= Decimal(1):
            errors["share_when_other_closes"] = (
                "Share when another closes must be from 0 to 1 (0.5 is a half deal)."
            )
    if "keeps_alive" in values and values["keeps_alive"] not in ("any_attempt", "two_way"):
        errors["keeps_alive"] = "What keeps coverage alive: 'any_attempt' or 'two_way'."
    if "min_evidence" in values and values["min_evidence"] not in ("verified", "self_reported"):
        errors["min_evidence"] = "Minimum evidence: 'verified' or 'self_reported'."
    for flag in ("initial_two_way_required", "pause_on_days_off"):
        if flag in values and not isinstance(values[flag], bool):
            errors[flag] = f"{PARAMETER_LABELS[flag]}: true or false."
    return errors


def _changes(base: engine.Policy, policy: engine.Policy) -> list[str]:
    """What the proposal changes, in short words: ['96 h', 'days-off pause']."""
    words = []
    if policy.initial_two_way_required != base.initial_two_way_required:
        words.append("initial two-way required" if policy.initial_two_way_required else "no initial contact required")
    if policy.keeps_alive != base.keeps_alive:
        words.append("two-way keeps alive" if policy.keeps_alive == "two_way" else "any attempt keeps alive")
    if policy.window_hours != base.window_hours:
        words.append(f"{policy.window_hours} h")
    if policy.min_evidence != base.min_evidence:
        words.append("verified only" if policy.min_evidence == "verified" else "self-reported allowed")
    if policy.share_when_other_closes != base.share_when_other_closes:
        words.append(f"share {formatting.percent(policy.share_when_other_closes)}")
    if policy.pause_on_days_off != base.pause_on_days_off:
        words.append("days-off pause" if policy.pause_on_days_off else "no days-off pause")
    return words


def summary(policy: engine.Policy) -> str:
    """Every parameter in short words: '72 h, two-way keeps alive, pause on days off, ...'."""
    return ", ".join([
        f"{policy.window_hours} h",
        "two-way keeps alive" if policy.keeps_alive == "two_way" else "any attempt keeps alive",
        "initial two-way required" if policy.initial_two_way_required else "no initial contact required",
        "verified only" if policy.min_evidence == "verified" else "self-reported allowed",
        f"{formatting.percent(policy.share_when_other_closes)} to the covered person",
        "pause on days off" if policy.pause_on_days_off else "no pause on days off",
    ])


def name_proposal(base: engine.Policy, base_name: str, policy: engine.Policy) -> engine.Policy:
    """The proposal named for what it is: the base's name when nothing changed, else the base and
    its changes ('internet-72h + days-off pause'), never the base's bare name for other rules."""
    changes = _changes(base, policy)
    name = base_name if not changes else f"{base_name} + {', '.join(changes)}"
    return dataclasses.replace(policy, name=name, version=PROPOSAL_VERSION)


def build_proposal(base: Base, values: Mapping[str, object], role: str) -> engine.Policy:
    """The base with the edited parameters (already checked by parameter_errors), named."""
    changed = {k: values[k] for k in PROPOSAL_PARAMETERS if k in values and values[k] is not None}
    if "share_when_other_closes" in changed:
        changed["share_when_other_closes"] = Decimal(str(changed["share_when_other_closes"]))
    if "window_hours" in changed:
        changed["window_hours"] = int(Decimal(str(changed["window_hours"])))
    policy = dataclasses.replace(base.policy, role=role, **changed)
    return name_proposal(base.policy, base.name, policy)
