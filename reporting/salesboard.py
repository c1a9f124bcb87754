"""The sales board: what each salesperson, each team and the store did today, yesterday and
month to date, in the store's time zone (DESIGN.md, "Metrics the managers ask for"; seeds 002
and 004: "leads, phone ups, response time, appointments, sales, sales as a % of leads, phone
calls yesterday, phone calls MTD").

A plain module: no HTTP. `compute(store, now)` counts everything with a fixed number of
aggregate queries (whatever the number of staff or teams); `snapshot(store, now)` serves the
board from a pre-aggregated copy in the cache, which a Celery beat task keeps warm
(`refresh_due`), because the month-to-date activity counts of a busy store take longer than a
page may (bench/salesboard.py).

Definitions, per period (a person's figures; a team's and the store's count the same things
over their people, each lead once):

- leads: new leads received in the period, not duplicates, owned (now) by the person.
- phone-ups: those of them whose source is a phone-up.
- response: for those leads, the median of minutes from received_at to the first outbound
  attempt (LeadRouting.first_attempt_at; leads not attempted yet are not in the median), and
  the share answered within the store's response limit: first_attempt_at <= breach_at, out of
  the leads whose clock is decided (attempted, or breach_at already passed). A lead whose clock
  never started (no breach_at) is in neither.
- calls: dials (telephony.metrics), against the store's daily_call_target for each day the
  person works in the period: a day with a shift of their own starting on it (or, when they
  have no shifts entered, a day the store is open), less time off. Only internet agents carry
  a target. Each past day uses the schedule in force that day (org.models.ScheduleVersion):
  editing a week changes today and later, never the days before. "Below target" compares with
  the pace: the target times the share of the person's OWN shift time of the day gone by (0
  before their shift starts, all of it once it ends; an overnight shift belongs to the day it
  starts on); month to date, the past working days in full plus that share of today.
- connection ratio (dial level: connected calls / dials) and contact rate (lead level: leads
  worked in the period with a two-way contact in it / leads worked), side by side, both from
  telephony.metrics.staff_period; texts and emails sent; verified share of activity
  (verified activity / all activity).
- appointments set: appointments created in the period, counted for the appointment's
  salesperson (Appointment.staff); shown: appointments with shown_at in the period.
- sold: deals sold in the period (coverage's Deal, by sold_at), for their closer, the figure
  the deal list shows; sold share: sold / leads of the same period. (Coverage credit shares
  are "credits won" below.)
- coverage credits won: active DealCredit rows on deals sold in the period where the person is
  not the closer. Lost: deals sold in the period whose frozen decision judged the person (they
  had worked the customer: `decisions`, or `skipped` for want of a policy), who is not the
  closer and holds no active credit on it: the coverage dashboard's near-miss rule
  (dealcoverage.views.near_misses) without its 24-hour limit.

A ratio whose denominator is zero is None (shown as "—"); an empty period is all zeros.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Extract, TruncDate
from django.utils import timezone

from dealcoverage.models import Deal, DealCredit
from leads.models import Appointment, Lead, SourceType
from leads.nudges import nudge
from org import hours, schedules
from org.models import SALES_ROLES, Role, ScheduleVersion, Shift, Staff, Store, Team, TimeOff
from telephony import metrics

log = logging.getLogger(__name__)

PERIODS: list[tuple[str, str]] = [("today", "Today"), ("yesterday", "Yesterday"), ("mtd", "Month to date")]
PERIOD_KEYS = [key for key, _ in PERIODS]
BOARD_ROLES = {*SALES_ROLES, Role.SALES_MANAGER}
# The seeds' 120 calls a day is the internet agents' target; retail works walk-in ups.
TARGET_ROLES = {Role.INTERNET_AGENT}
RESPONSE_GOAL = 0.80  # the share of leads answered within the limit below which the board flags it

# Pre-aggregation (see snapshot): served as is while younger than FRESH; older, served while a
# worker recomputes it; older than STALE (or from another day), recomputed in the request.
FRESH_SECONDS = 60
STALE_SECONDS = 15 * 60
IDLE_REFRESH_SECONDS = 10 * 60  # the beat task keeps every store at most this old
CACHE_VERSION = 1
CACHE_TIMEOUT = 2 * 24 * 3600


# --------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    first_day: dt.date
    last_day: dt.date
    start: dt.datetime  # local midnight of first_day
    end: dt.datetime  # local midnight after last_day

    @property
    def days(self) -> list[dt.date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + dt.timedelta(days=i) for i in range(count)]


def local_today(store: Store, now: dt.datetime) -> dt.date:
    return timezone.localtime(now, store.tz).date()


def periods_for(store: Store, now: dt.datetime) -> dict[str, Period]:
    today = local_today(store, now)
    spans = {
        "today": (today, today),
        "yesterday": (today - dt.timedelta(days=1), today - dt.timedelta(days=1)),
        "mtd": (today.replace(day=1), today),
    }
    labels = dict(PERIODS)
    out = {}
    for key, (first, last) in spans.items():
        start, end = metrics.day_bounds(store, first, last)
        out[key] = Period(key, labels[key], first, last, start, end)
    return out


def _in(field_name: str, period: Period) -> Q:
    return Q(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.end})


def _window(periods: dict[str, Period]) -> tuple[dt.datetime, dt.datetime]:
    return min(p.start for p in periods.values()), max(p.end for p in periods.values())


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------


@dataclass
class Figures:
    """One row's numbers for one period. Counts add up; ratios are properties."""

    leads: int = 0
    phone_ups: int = 0
    response_median: float | None = None  # minutes
    response_within: int = 0
    response_judged: int = 0
    calls: int = 0
    call_target: int = 0
    call_pace: float = 0.0
    shift: str = ""  # a one-day period's shift for a person with a target: "6pm-2am", "off", "time off"
    connected: int = 0
    leads_worked: int = 0
    leads_contacted: int = 0
    texts: int = 0
    emails: int = 0
    appointments_set: int = 0
    appointments_shown: int = 0
    sold: int = 0
    activities: int = 0
    verified: int = 0
    personal: int = 0  # done from a personal phone or address (seed 002): never verified
    credits_won: int = 0
    credit_share_won: Decimal = Decimal(0)
    credits_lost: int = 0

    @staticmethod
    def _ratio(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def response_share(self) -> float | None:
        return self._ratio(self.response_within, self.response_judged)

    @property
    def connection_ratio(self) -> float | None:
        return self._ratio(self.connected, self.calls)

    @property
    def contact_rate(self) -> float | None:
        return self._ratio(self.leads_contacted, self.leads_worked)

    @property
    def sold_share(self) -> float | None:
        return self._ratio(self.sold, self.leads)

    @property
    def verified_share(self) -> float | None:
        return self._ratio(self.verified, self.activities)

    @property
    def target_share(self) -> float | None:
        return self._ratio(self.calls, self.call_target)

    @property
    def below_target(self) -> bool:
        """Fewer calls than the pace calls for (only where there is a target)."""
        return self.call_target > 0 and self.calls < self.call_pace

    @property
    def slow_response(self) -> bool:
        share = self.response_share
        return share is not None and share < RESPONSE_GOAL

    def is_empty(self) -> bool:
        return not any(
            getattr(self, f.name) for f in fields(self) if f.name not in ("call_target", "call_pace", "shift")
        )

    @property
    def has_activity(self) -> bool:
        """Did anything in the period: dialled, texted, emailed, set or showed an appointment, sold."""
        return bool(self.calls or self.activities or self.texts or self.emails or self.appointments_set
                    or self.appointments_shown or self.sold)


ADDITIVE = [
    "leads", "phone_ups", "response_within", "response_judged", "calls", "connected", "texts", "emails",
    "appointments_set", "appointments_shown", "sold", "activities", "verified", "personal", "credits_won",
    "credit_share_won", "credits_lost", "call_target", "call_pace",
]


@dataclass
class Line:
    """A row of the board: a person, a team (subtotal) or the store (total)."""

    kind: str  # "person" | "team" | "store"
    key: int | None  # staff id, team id (None: people without a team), store id
    name: str
    team_id: int | None = None
    role: str = ""
    figures: dict[str, Figures] = field(default_factory=lambda: {key: Figures() for key in PERIOD_KEYS})


@dataclass
class Trend:
    """Month to date, one point a day: calls and leads per team."""

    days: list[dt.date]
    teams: list[tuple[int | None, str]]
    calls: dict[int | None, list[int]]
    leads: dict[int | None, list[int]]
    position: dict[int | None, int] = field(default_factory=dict)  # the team's place among the store's (a colour)


@dataclass
class Snapshot:
    store_id: int
    store_name: str
    time_zone: str
    today: dt.date
    computed_at: dt.datetime
    periods: dict[str, Period]
    people: list[Line]
    teams: list[Line]
    total: Line | None  # None in a sales manager's part (scoped)
    trend: Trend
    daily_call_target: int
    response_limit_minutes: int

    def age_seconds(self, now: dt.datetime) -> float:
        return max(0.0, (now - self.computed_at).total_seconds())

    def scoped(self, team_ids: list[int] | None) -> Snapshot:
        """The part a sales manager sees: their teams' people and subtotals, no store total."""
        if team_ids is None:
            return self
        keep = set(team_ids)
        people = [line for line in self.people if line.team_id in keep]
        teams = [line for line in self.teams if line.key in keep]
        trend = Trend(
            days=self.trend.days,
            teams=[(key, name) for key, name in self.trend.teams if key in keep],
            calls={key: series for key, series in self.trend.calls.items() if key in keep},
            leads={key: series for key, series in self.trend.leads.items() if key in keep},
            position=self.trend.position,
        )
        return Snapshot(
            store_id=self.store_id, store_name=self.store_name, time_zone=self.time_zone, today=self.today,
            computed_at=self.computed_at, periods=self.periods, people=people, teams=teams, total=None, trend=trend,
            daily_call_target=self.daily_call_target, response_limit_minutes=self.response_limit_minutes,
        )


# --------------------------------------------------------------------------------------
# Queries (each covers all three periods at once, by conditional aggregation)
# --------------------------------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's continuous median; FILTER works on it like on any aggregate."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _split(row: dict, into: dict[str, Figures]) -> None:
    """Copy '<period>_<field>' keys of an aggregate row into the period's Figures."""
    for name, value in row.items():
        period, _, attr = name.partition("_")
        if period in into and attr and value is not None:
            setattr(into[period], attr, value)


def _lead_aggregates(periods: dict[str, Period], now: dt.datetime) -> dict:
    minutes = Extract(
        ExpressionWrapper(F("routing__first_attempt_at") - F("received_at"), output_field=DurationField()), "epoch"
    ) / 60.0
    attempted = Q(routing__first_attempt_at__isnull=False)
    within = Q(routing__first_attempt_at__lte=F("routing__breach_at"))
    judged = Q(routing__breach_at__isnull=False) & (attempted | Q(routing__breach_at__lte=now))
    out = {}
    for key, period in periods.items():
        received = _in("received_at", period)
        out[f"{key}_leads"] = Count("id", filter=received)
        out[f"{key}_phone_ups"] = Count("id", filter=received & Q(source_type=SourceType.PHONE_UP))
        out[f"{key}_response_median"] = Median(minutes, filter=received & attempted)
        out[f"{key}_response_within"] = Count("id", filter=received & within)
        out[f"{key}_response_judged"] = Count("id", filter=received & judged)
    return out


def _group_case(field_name: str, group_of: dict[int, int]) -> Case:
    """The board group (a team id, or NO_TEAM) of a staff id column, as a CASE over ids: no
    join to the staff table, which keeps PostgreSQL on the plan the per-person query gets.
    Staff in no group (not on the board and in no team) come out NULL."""
    members: dict[int, list[int]] = defaultdict(list)
    for staff_id, group in group_of.items():
        members[group].append(staff_id)
    whens = [When(**{f"{field_name}__in": ids}, then=Value(group)) for group, ids in sorted(members.items())]
    if not whens:
        return Value(None, output_field=IntegerField())
    return Case(*whens, default=Value(None), output_field=IntegerField())


def _owned_leads(store: Store, periods: dict[str, Period]):
    start, end = _window(periods)
    return Lead.objects.filter(
        store=store, duplicate_of__isnull=True, owner__isnull=False, received_at__gte=start, received_at__lt=end
    ).order_by()


def _appointments(store: Store, periods: dict[str, Period]) -> dict[int, dict]:
    start, end = _window(periods)
    rows = (
        Appointment.objects.filter(store=store)
        .filter(Q(created_at__gte=start, created_at__lt=end) | Q(shown_at__gte=start, shown_at__lt=end))
        .order_by()
        .values("staff_id")
    )
    aggregates = {}
    for key, period in periods.items():
        aggregates[f"{key}_appointments_set"] = Count("id", filter=_in("created_at", period))
        aggregates[f"{key}_appointments_shown"] = Count("id", filter=_in("shown_at", period))
    return {row.pop("staff_id"): row for row in rows.annotate(**aggregates)}


def _sold(store: Store, periods: dict[str, Period]) -> dict[int, dict]:
    """Deals closed in the period, for their closer: the deal list's deals (a recorded sale is
    the fact; a lead's status only follows it). Each deal has one closer, so teams add up."""
    start, end = _window(periods)
    rows = (
        Deal.objects.filter(store=store, sold_at__gte=start, sold_at__lt=end)
        .order_by()
        .values("closer_id")
    )
    aggregates = {
        f"{key}_sold": Count("id", filter=_in("sold_at", period)) for key, period in periods.items()
    }
    return {row.pop("closer_id"): row for row in rows.annotate(**aggregates)}


def _credits_won(store: Store, periods: dict[str, Period]) -> dict[int, dict]:
    start, end = _window(periods)
    rows = (
        DealCredit.objects.filter(active=True, deal__store=store, deal__sold_at__gte=start, deal__sold_at__lt=end)
        .exclude(staff_id=F("deal__closer_id"))
        .order_by()
        .values("staff_id")
    )
    aggregates = {}
    for key, period in periods.items():
        sold = _in("deal__sold_at", period)
        aggregates[f"{key}_credits_won"] = Count("id", filter=sold)
        aggregates[f"{key}_credit_share_won"] = Sum("share", filter=sold)
    return {row.pop("staff_id"): row for row in rows.annotate(**aggregates)}


# The people a deal's frozen decision judged (dealcoverage.engine.CreditDecision.to_dict): the keys
# of "decisions" and the staff ids of "skipped". Read in SQL so the explanations stay in the database.
_JUDGED_SQL = """ARRAY(
    SELECT k FROM jsonb_object_keys(
        CASE WHEN jsonb_typeof(coverage_deal.decision -> 'decisions') = 'object'
             THEN coverage_deal.decision -> 'decisions' ELSE '{}'::jsonb END) AS k
    UNION
    SELECT s ->> 'staff_id' FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(coverage_deal.decision -> 'skipped') = 'array'
             THEN coverage_deal.decision -> 'skipped' ELSE '[]'::jsonb END) AS s
)"""


def _credits_lost(store: Store, periods: dict[str, Period]) -> dict[int, dict]:
    """Deals of the period where someone who worked the customer got no credit: one query."""
    start, end = _window(periods)
    credited = ArraySubquery(DealCredit.objects.filter(deal_id=OuterRef("pk"), active=True).values("staff_id"))
    deals = (
        Deal.objects.filter(store=store, sold_at__gte=start, sold_at__lt=end)
        .order_by()
        .annotate(judged=RawSQL(_JUDGED_SQL, ()), credited=credited)
        .values_list("sold_at", "closer_id", "judged", "credited")
    )
    lost: dict[int, dict] = defaultdict(dict)
    for sold_at, closer_id, judged, credited_ids in deals:
        keep = set(credited_ids or ()) | {closer_id}
        for raw in judged or ():
            try:
                staff_id = int(raw)
            except (TypeError, ValueError):
                continue
            if staff_id in keep:
                continue
            for key, period in periods.items():
                if period.start <= sold_at < period.end:
                    name = f"{key}_credits_lost"
                    lost[staff_id][name] = lost[staff_id].get(name, 0) + 1
    return lost


ACTIVITY_FIELDS = {
    "dials": "calls", "connected_calls": "connected", "texts_sent": "texts", "emails_sent": "emails",
    "activities": "activities", "verified": "verified", "outside_company_channels": "personal",
    "leads_worked": "leads_worked",
    "leads_contacted": "leads_contacted",
}


def _activity_into(row: metrics.Activity, figures: Figures) -> None:
    for source, target in ACTIVITY_FIELDS.items():
        setattr(figures, target, getattr(row, source))


def _team_activity(store: Store, period: Period, group_of: dict[int, int]) -> dict[int, metrics.Activity]:
    """telephony.metrics' counts per board group (team) in one query.

    staff_period groups by staff member or by the whole selection; a team's "leads worked"
    counts a lead two teammates worked once, so it is not the sum of its people's. This groups
    the same events with the same aggregate expressions (telephony.metrics' own helpers, so the
    definitions cannot drift) by team instead of running staff_period once per team."""
    start, end = metrics.day_bounds(store, period.first_day, period.last_day)
    contacted = Q(lead_id__in=Subquery(metrics.two_way_events(store, start, end).values("lead_id")))
    rows = (
        metrics.activity_events(store, start, end, None)
        .annotate(board_group=_group_case("staff_id", group_of))
        .values("board_group")
        .annotate(**metrics.activity_aggregates(store, start, end, contacted))
        .order_by("board_group")
    )
    return {
        row.pop("board_group"): metrics.Activity(**metrics.activity_unprefixed(row))
        for row in rows if row["board_group"] is not None
    }


# --------------------------------------------------------------------------------------
# Targets: days worked
# --------------------------------------------------------------------------------------


Schedule = list[tuple[int, dt.time, dt.time]]  # weekly shifts: (weekday, starts, ends)


def schedule_on(versions: list[tuple[dt.date, Schedule]], current: Schedule, day: dt.date, today: dt.date) -> Schedule:
    """A person's weekly shifts in force on local date `day`: from today on, the current Shift
    rows; a past day, the ScheduleVersion in force then (the latest with effective_from <=
    day; `versions` sorted by date), or the current rows when no version covers it (nobody
    has edited that person's week since the history began)."""
    if day >= today:
        return current
    in_force = None
    for effective_from, shifts in versions:
        if effective_from > day:
            break
        in_force = shifts
    return current if in_force is None else in_force


def day_target(per_day: int, shifts: Schedule, tz, day: dt.date, now: dt.datetime, *, off: bool = False) -> tuple[int, float]:
    """(target, pace) for one person on one local day: no shift starting that day (a day off)
    or time off: (0, 0). Otherwise the daily target, and as pace the target times the share of
    that day's own shift time gone by at `now` (0 before the shift starts, all of it once it has
    ended; an overnight shift belongs to the day it starts on; real minutes across DST)."""
    if off:
        return 0, 0.0
    share = hours.shift_elapsed_share(shifts, tz, day, now)
    if share is None:
        return 0, 0.0
    return per_day, per_day * share


def shift_label(own: Schedule, store_hours: Schedule, day: dt.date, *, off: bool) -> str:
    """What the board says about the person's shift on `day`: "6pm-2am", "9am-1pm, 3pm-7pm",
    "off", "time off", or "store hours" when they have no shifts entered."""
    if off:
        return "time off"
    spans = [(starts, ends) for weekday, starts, ends in (own or store_hours) if weekday == day.weekday()]
    if not spans:
        return "off"
    return "store hours" if not own else schedules.day_text(spans)


def _targets(store: Store, people: list[Staff], periods: dict[str, Period], now: dt.datetime) -> dict:
    """{staff id: {period: (target, pace, shift label)}} for the people who carry a call target.
    Three queries: current shifts, the schedule history, time off."""
    ids = [p.pk for p in people if p.role in TARGET_ROLES and p.is_active]
    first = min(p.first_day for p in periods.values())
    last = max(p.last_day for p in periods.values())
    current: dict[int, Schedule] = defaultdict(list)
    for staff_id, weekday, starts, ends in Shift.objects.filter(staff_id__in=ids).values_list(
        "staff_id", "weekday", "starts", "ends"
    ):
        current[staff_id].append((weekday, starts, ends))
    versions: dict[int, list[tuple[dt.date, Schedule]]] = defaultdict(list)
    for version in ScheduleVersion.objects.filter(staff_id__in=ids, effective_from__lte=last).order_by(
        "staff_id", "effective_from"
    ):
        versions[version.staff_id].append((version.effective_from, version.as_shifts()))
    days_off: dict[int, set[dt.date]] = defaultdict(set)
    for staff_id, first_off, last_off in TimeOff.objects.filter(
        staff_id__in=ids, first_day__lte=last, last_day__gte=first
    ).values_list("staff_id", "first_day", "last_day"):
        day = max(first_off, first)
        while day <= min(last_off, last):
            days_off[staff_id].add(day)
            day += dt.timedelta(days=1)
    today = local_today(store, now)
    store_hours = hours.hours_as_shifts(store.business_hours)
    tz, per_day = store.tz, store.daily_call_target
    all_days = sorted({d for period in periods.values() for d in period.days})
    out: dict[int, dict[str, tuple[int, float, str]]] = {}
    for staff_id in ids:
        daily: dict[dt.date, tuple[int, float, str]] = {}
        for day in all_days:
            own = schedule_on(versions[staff_id], current[staff_id], day, today)
            off = day in days_off[staff_id]
            target, pace = day_target(per_day, own or store_hours, tz, day, now, off=off)
            daily[day] = (target, pace, shift_label(own, store_hours, day, off=off))
        mine = {}
        for key, period in periods.items():
            target = sum(daily[d][0] for d in period.days)
            pace = sum(daily[d][1] for d in period.days)
            mine[key] = (target, pace, daily[period.first_day][2] if len(period.days) == 1 else "")
        out[staff_id] = mine
    return out


# --------------------------------------------------------------------------------------
# The board
# --------------------------------------------------------------------------------------


NO_TEAM = 0  # the board group of the people listed under "No team"


def _board_people(store: Store) -> list[Staff]:
    return list(
        Staff.objects.filter(store=store).select_related("user").order_by("user__first_name", "user__last_name", "pk")
    )


def compute(store: Store, now: dt.datetime | None = None) -> Snapshot:
    """Every figure of the store's board, for the three periods: a fixed number of aggregate
    queries (QUERIES), whatever the number of staff and teams.

    A team's subtotal counts its members (shown on the board or not); "No team" counts the
    people listed under it; the store total counts everyone (a receptionist's note included)."""
    now = now or timezone.now()
    periods = periods_for(store, now)
    staff = _board_people(store)
    by_id = {s.pk: s for s in staff}
    team_names = {t.pk: t.name for t in Team.objects.filter(store=store).order_by("name", "pk")}

    lines: dict[int, Line] = {}

    def person(staff_id: int) -> Line | None:
        if staff_id not in lines:
            member = by_id.get(staff_id)
            if member is None:
                return None
            lines[staff_id] = Line("person", staff_id, member.display_name, member.team_id, member.role)
        return lines[staff_id]

    # Per person: leads and response, appointments, sold, credits, activity (staff_period).
    leads = _owned_leads(store, periods)
    lead_aggregates = _lead_aggregates(periods, now)
    per_owner = {row.pop("owner_id"): row for row in leads.values("owner_id").annotate(**lead_aggregates)}
    for source in (per_owner, _appointments(store, periods), _sold(store, periods), _credits_won(store, periods),
                   _credits_lost(store, periods)):
        for staff_id, row in source.items():
            line = person(staff_id)
            if line is not None:
                _split(row, line.figures)
    for key, period in periods.items():
        for row in metrics.staff_period(store, period.first_day, period.last_day):
            line = person(row.staff_id)
            if line is not None:
                _activity_into(row, line.figures[key])

    # Who is on the board: active salespeople always; managers and former staff with numbers.
    people = []
    for member in staff:
        line = lines.get(member.pk)
        has_numbers = line is not None and not all(f.is_empty() for f in line.figures.values())
        if (member.role in SALES_ROLES and member.is_active) or (member.role in BOARD_ROLES and has_numbers):
            people.append(line or person(member.pk))
    targets = _targets(store, [by_id[line.key] for line in people], periods, now)
    for line in people:
        for key, (target, pace, shift) in targets.get(line.key, {}).items():
            figures = line.figures[key]
            figures.call_target, figures.call_pace, figures.shift = target, pace, shift

    # Groups: each team's members; the listed people without a team.
    shown = {line.key for line in people}
    group_of = {s.pk: s.team_id for s in staff if s.team_id is not None}
    group_of.update({line.key: NO_TEAM for line in people if line.team_id is None})
    group_keys = sorted({group_of[line.key] for line in people},
                        key=lambda g: (g == NO_TEAM, team_names.get(g, ""), g))
    groups = {g: Line("team", None if g == NO_TEAM else g, team_names.get(g, "No team")) for g in group_keys}
    for line in groups.values():
        line.team_id = line.key
    total = Line("store", store.pk, store.name)
    for staff_id, line in lines.items():
        group = groups.get(group_of.get(staff_id, -1))
        for key in PERIOD_KEYS:
            for name in ADDITIVE:
                if name in ("call_target", "call_pace") and staff_id not in shown:
                    continue
                value = getattr(line.figures[key], name)
                for into in (group, total) if group is not None else (total,):
                    setattr(into.figures[key], name, getattr(into.figures[key], name) + value)
    # What does not add up: a median, and leads worked by two people, counted by their own queries.
    per_group = leads.values(board_group=_group_case("owner_id", group_of)).annotate(**lead_aggregates)
    for row in per_group:
        group = groups.get(row.pop("board_group"))
        if group is not None:
            _split(row, group.figures)
    _split(leads.aggregate(**lead_aggregates), total.figures)
    for key, period in periods.items():
        for group_key, activity in _team_activity(store, period, group_of).items():
            if group_key in groups:
                _activity_into(activity, groups[group_key].figures[key])
        [everyone] = metrics.staff_period(store, period.first_day, period.last_day, per_staff=False)
        _activity_into(everyone, total.figures[key])

    return Snapshot(
        store_id=store.pk, store_name=store.name, time_zone=store.time_zone, today=local_today(store, now),
        computed_at=now, periods=periods, people=people, teams=list(groups.values()), total=total,
        trend=_trend(store, periods["mtd"], group_of, groups),
        daily_call_target=store.daily_call_target, response_limit_minutes=store.response_limit_minutes,
    )


# The queries compute() runs, whatever the staff: staff, teams, leads per person / group /
# store (3), appointments, sold, credits won, credits lost, staff_period per person and for the
# store (2 x 3 periods), per group (3), shifts, schedule history, time off, and the trend (2).
QUERIES = 23


def _trend(store: Store, month: Period, group_of: dict[int, int], groups: dict[int, Line]) -> Trend:
    """Calls and leads per team per day, month to date: two queries."""
    days = month.days
    index = {day: i for i, day in enumerate(days)}
    calls = {group: [0] * len(days) for group in groups}
    leads = {group: [0] * len(days) for group in groups}
    for row in metrics.staff_days(store, month.first_day, month.last_day):
        group = group_of.get(row.staff_id)
        if group in calls and row.day in index:
            calls[group][index[row.day]] += row.dials
    daily = (
        _owned_leads(store, {"mtd": month})
        .annotate(day=TruncDate("received_at", tzinfo=store.tz))
        .values("day", board_group=_group_case("owner_id", group_of))
        .annotate(n=Count("id"))
    )
    for row in daily:
        group = row["board_group"]
        if group in leads and row["day"] in index:
            leads[group][index[row["day"]]] += row["n"]
    keyed = {groups[g].key: g for g in groups}
    return Trend(
        days=days, teams=[(line.key, line.name) for line in groups.values()],
        calls={line_key: calls[g] for line_key, g in keyed.items()},
        leads={line_key: leads[g] for line_key, g in keyed.items()},
        position={line.key: i for i, line in enumerate(groups.values())},
    )


# --------------------------------------------------------------------------------------
# Pre-aggregation: the snapshot in the cache
# --------------------------------------------------------------------------------------


def _shape() -> str:
    """A fingerprint of the snapshot's classes: code that adds or renames a field reads other
    keys than the copies older code pickled, instead of failing on them after a deploy."""
    names = ";".join(f"{cls.__name__}:{','.join(f.name for f in fields(cls))}"
                     for cls in (Period, Figures, Line, Trend, Snapshot))
    return hashlib.sha1(names.encode(), usedforsecurity=False).hexdigest()[:10]


SHAPE = _shape()


def _key(store_id: int) -> str:
    return f"salesboard:v{CACHE_VERSION}:{SHAPE}:{store_id}"


def _lock_key(store_id: int) -> str:
    return f"salesboard:v{CACHE_VERSION}:{SHAPE}:{store_id}:queued"


def _cached(store_ids: list[int]) -> dict[int, Snapshot]:
    try:
        found = cache.get_many([_key(store_id) for store_id in store_ids])
    except Exception:  # noqa: BLE001 - a cache outage (or a copy pickled by older code) is a miss
        log.warning("sales board cache unavailable; computing in the request", exc_info=True)
        return {}
    out = {}
    for store_id in store_ids:
        value = found.get(_key(store_id))
        if isinstance(value, Snapshot):
            out[store_id] = value
    return out


def snapshot_refresh(store_id: int, now: dt.datetime | None = None) -> Snapshot | None:
    """Recompute one store's board and keep it in the cache (the Celery task's body)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return None
    snap = compute(store, now)
    try:
        cache.set(_key(store_id), snap, CACHE_TIMEOUT)
        cache.delete(_lock_key(store_id))
    except Exception:  # noqa: BLE001
        log.warning("sales board cache unavailable; snapshot not kept", exc_info=True)
    return snap


def _enqueue(store_id: int) -> None:
    """Ask a worker to recompute, once per store until it has."""
    from reporting.tasks import salesboard_refresh_task

    try:
        first = cache.add(_lock_key(store_id), 1, FRESH_SECONDS * 5)
    except Exception:  # noqa: BLE001
        return
    if first:
        nudge(salesboard_refresh_task, store_id)


def _usable(snap: Snapshot | None, store: Store, now: dt.datetime) -> bool:
    return snap is not None and snap.today == local_today(store, now) and snap.age_seconds(now) < STALE_SECONDS


def snapshot(store: Store, now: dt.datetime | None = None) -> Snapshot:
    """The store's board as the page shows it: the cached copy while fresh; a copy up to
    STALE_SECONDS old while a worker recomputes it; computed here when there is none, it is
    from another day or older than that (the workers are behind or down)."""
    now = now or timezone.now()
    snap = _cached([store.pk]).get(store.pk)
    if not _usable(snap, store, now):
        snap = compute(store, now)
        try:
            cache.set(_key(store.pk), snap, CACHE_TIMEOUT)
        except Exception:  # noqa: BLE001
            log.warning("sales board cache unavailable; snapshot not kept", exc_info=True)
    elif snap.age_seconds(now) >= FRESH_SECONDS:
        _enqueue(store.pk)
    return snap


def snapshots(stores: list[Store], now: dt.datetime | None = None, *, compute_missing: int = 2) -> dict[int, Snapshot | None]:
    """Many stores' boards (a group admin's view) in one cache read, as the beat task keeps
    them (at most IDLE_REFRESH_SECONDS old). Missing ones are computed here up to
    `compute_missing` and queued for the workers beyond that (None until ready)."""
    now = now or timezone.now()
    found = _cached([store.pk for store in stores])
    out: dict[int, Snapshot | None] = {}
    budget = compute_missing
    for store in stores:
        snap = found.get(store.pk)
        if _usable(snap, store, now):
            out[store.pk] = snap
        elif budget > 0:
            budget -= 1
            out[store.pk] = snapshot_refresh(store.pk, now)
        else:
            _enqueue(store.pk)
            out[store.pk] = None
    return out


def refresh_due(now: dt.datetime | None = None) -> int:
    """The beat task: queue a refresh for every store whose board is missing, from another day
    or older than IDLE_REFRESH_SECONDS, so a group's view and a first look in the morning find
    it ready. Boards people are looking at refresh every FRESH_SECONDS through `snapshot`."""
    now = now or timezone.now()
    stores = list(Store.objects.only("pk", "time_zone"))
    found = _cached([store.pk for store in stores])
    queued = 0
    for store in stores:
        snap = found.get(store.pk)
        if snap is None or snap.today != local_today(store, now) or snap.age_seconds(now) >= IDLE_REFRESH_SECONDS:
            _enqueue(store.pk)
            queued += 1
    return queued
