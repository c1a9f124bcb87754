"""Coverage judged now (not at a sale): who is covered on a customer, and whose coverage ends soon.

Read-only selectors for the browser pages. Every query goes through org.scoping, and the number
of queries does not grow with the number of staff or customers: the events are fetched once and
the engine judges them in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.utils import timezone

from dealcoverage import engine, selectors
from leads import aliases
from leads.coverage_port import OwnerCoverage
from leads.models import OPEN_STATUSES, Customer, Lead
from leads.scoping import contact_events_for_coverage, leads_for
from leads.selectors import own_contact_events
from org.models import Staff, Store
from org.scoping import staff_for


def short_when(value: dt.datetime, zone: ZoneInfo, now: dt.datetime) -> str:
    """"Sun 10:12 AM" within a few days of now, "Sun Oct 5, 10:12 AM" further away: the app's
    one time format (engine.when), so the card and its explanation read alike."""
    local = value.astimezone(zone)
    if abs(value - now) < dt.timedelta(days=5):
        return f"{local:%a} {engine.clock(local)}"
    return engine.when(value, zone)


@dataclass
class StaffCoverage:
    staff: Staff
    decision: engine.Decision | None  # None: no policy for the staff member's role
    summary: str

    @property
    def covered(self) -> bool:
        return bool(self.decision and self.decision.covered)


@dataclass
class LiveCoverage:
    store: Store
    has_policy: bool
    people: list[StaffCoverage]


def _summary(decision: engine.Decision | None, zone: ZoneInfo, now: dt.datetime) -> str:
    if decision is None:
        return "no coverage policy for this role"
    if decision.covered and decision.covered_until is not None:
        return f"covered until {short_when(decision.covered_until, zone, now)}"
    if decision.covered_until is not None:
        return f"not covered since {short_when(decision.covered_until, zone, now)}"
    return "not covered: no contact that counts yet"


def customer_events_visible(user, customer: Customer, moment: dt.datetime) -> dict[int, list[engine.Event]]:
    """selectors.customer_events, through the viewer's scope."""
    by_staff: dict[int, list[engine.Event]] = defaultdict(list)
    rows = contact_events_for_coverage(user).filter(  # with the customers merged into it (leads.aliases)
        customer_id__in=aliases.family(customer.pk), staff__isnull=False, occurred_at__lte=moment,
        superseded_by__isnull=True,
    ).order_by("occurred_at", "id")
    for event in rows:
        by_staff[event.staff_id].append(selectors.to_engine_event(event))
    return dict(by_staff)


def lead_coverage(user, lead: Lead, now: dt.datetime | None = None) -> LiveCoverage:
    """Each staff member with events on the lead's customer, judged now under their role's policy.

    Six queries whatever the number of people: policies, events, staff, shifts, time off."""
    now = now or timezone.now()
    store = lead.store
    in_force = selectors.policies_in_force(store, now)
    events = customer_events_visible(user, lead.customer, now)
    staff = {s.pk: s for s in staff_for(user).filter(pk__in=list(events)).select_related("user")}
    schedules = selectors.schedules_for(list(staff), store, now) if staff and in_force else {}
    zone = store.tz
    people = []
    for staff_id, member in staff.items():
        policy = in_force.get(member.role)
        decision = None
        if policy is not None:
            decision = engine.decide(selectors.to_engine_policy(policy), events[staff_id], schedules.get(staff_id), now)
        people.append(StaffCoverage(staff=member, decision=decision, summary=_summary(decision, zone, now)))
    # Covered people first, the longest-covered first; then the rest by name.
    people.sort(key=lambda p: (not p.covered, -(p.decision.covered_until.timestamp()) if p.covered else 0,
                               p.staff.display_name))
    return LiveCoverage(store=store, has_policy=bool(in_force), people=people)


ENGINE_EVENT_FIELDS = (
    "id", "customer_id", "staff_id", "channel", "direction", "outcome", "occurred_at", "evidence_level", "talk_seconds",
    "answered_by_person", "call_sid", "message_sid", "email_message_id", "outside_company_channels", "is_two_way",
)


@dataclass
class EndingSoon:
    lead: Lead
    covered_until: dt.datetime
    left: dt.timedelta
    when: str
    explanation: str


def coverage_ending(user, staff: Staff, hours: int = 24, now: dt.datetime | None = None, *,
                    bounded: bool = True) -> tuple[bool, list[EndingSoon]]:
    """The salesperson's open, owned leads whose customer's coverage (theirs) ends within `hours`,
    soonest first. Returns (has a policy for their role, rows), for any number of leads.

    Only customers the salesperson had an event with since engine.live_since (the policy's window
    back from now, days off pausing it as the engine does) can be covered now: the others are not
    judged, so an agent's thousands of old never-answered leads cost nothing. Seven queries. `bounded=False`
    judges every open lead's customer, the reference tests compare the bound with."""
    now = now or timezone.now()
    policy = selectors.policies_in_force(staff.store, now).get(staff.role)
    if policy is None:
        return False, []
    schedule = selectors.schedules_for([staff.pk], staff.store, now)[staff.pk]
    engine_policy = selectors.to_engine_policy(policy)
    own = own_contact_events(user) if staff.user_id == user.pk else contact_events_for_coverage(user)
    current = own.filter(staff=staff, occurred_at__lte=now, superseded_by__isnull=True)
    leads = leads_for(user).filter(owner=staff, status__in=OPEN_STATUSES)
    if bounded:
        since = engine.live_since(now, engine_policy.window_hours, schedule, engine_policy.pause_on_days_off)
        # A list, not a subquery: PostgreSQL would otherwise read every lead the person owns first.
        recent = set(current.filter(occurred_at__gte=since).values_list("customer_id", flat=True))
        leads = leads.filter(customer_id__in=set(aliases.survivors(recent).values()))  # events keep a merged id
    # The customers first (bare ids), the leads only for the few whose coverage ends: an agent's
    # book is hundreds of customers with thousands of open leads (the Today page's budget).
    newest: dict[int, int] = {}  # customer id -> their newest open lead, which stands for them
    for customer_id, lead_id in leads.order_by("-received_at", "-pk").values_list("customer_id", "pk"):
        newest.setdefault(customer_id, lead_id)
    events: dict[int, list[engine.Event]] = defaultdict(list)
    family = aliases.families(newest)  # the customers merged into them: their events count (leads.aliases)
    rows = current.filter(customer_id__in=list(family)).order_by("occurred_at", "id")
    # Plain rows, not model instances.
    for row in rows.values(*ENGINE_EVENT_FIELDS):
        events[family[row["customer_id"]]].append(selectors.to_engine_event(SimpleNamespace(pk=row["id"], **row)))
    horizon = now + dt.timedelta(hours=hours)
    ending_customers = []
    for customer_id, customer_events in events.items():
        verdict = engine.decide(engine_policy, customer_events, schedule, now, explain=False)
        if verdict.covered and verdict.covered_until is not None and verdict.covered_until <= horizon:
            ending_customers.append(customer_id)
    # Ids the scoped query above returned: the store's filter is enough to load them.
    by_customer = {lead.customer_id: lead for lead in Lead.objects.filter(
        store_id=staff.store_id, pk__in=[newest[customer_id] for customer_id in ending_customers]).select_related("customer")}
    ending = []
    for customer_id in ending_customers:
        decision = engine.decide(engine_policy, events[customer_id], schedule, now)
        ending.append(EndingSoon(
            lead=by_customer[customer_id], covered_until=decision.covered_until,
            left=decision.covered_until - now, when=short_when(decision.covered_until, staff.store.tz, now),
            explanation=decision.explanation,
        ))
    ending.sort(key=lambda row: row.covered_until)
    return True, ending


def owner_coverage(lead: Lead, moment: dt.datetime):
    """The judge coverage registers with leads.coverage_port (distribution's coverage lapse):
    the lead's owner's coverage on its customer at `moment`, under their role's policy in force.
    Not scoped to a viewer: the sweeper asks, not a person. None without a policy for the role."""
    owner = Staff.objects.select_related("store").get(pk=lead.owner_id)
    policy = selectors.policies_in_force(owner.store, moment).get(owner.role)
    if policy is None:
        return None
    events = selectors.customer_events(lead.customer, moment).get(owner.pk, [])
    schedule = selectors.schedules_for([owner.pk], owner.store, moment)[owner.pk]
    engine_policy = selectors.to_engine_policy(policy)
    decision = engine.decide(engine_policy, events, schedule, moment)
    started = decision.window_started_by
    if started is None:
        last = "no contact that counts yet"
    else:
        kind = "two-way contact" if engine.is_two_way(started, engine_policy.min_talk_seconds) else "follow-up"
        last = f"last {kind} {short_when(started.occurred_at, owner.store.tz, moment)}"
    return OwnerCoverage(covered=decision.covered, covered_until=decision.covered_until,
                         policy_label=engine_policy.label, last_contact=last)
