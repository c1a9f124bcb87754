"""Dashboard primitives: what each staff member did, per day in the store's time zone.

Everything is read from ContactEvents that nothing supersedes (a call's attempt, once its
outcome is recorded, and a text's "sent", once "delivered" arrives, drop out), in one aggregate
query per call; the answers are plain dataclasses.

Definitions (DESIGN.md, "Metrics the managers ask for"):

- dial: an outbound call. A call with a CallSid counts once whatever events it left (the
  attempt if it is not settled yet, else its outcome); a self-reported call counts once per event.
  A click-to-call that failed because the agent's own phone did not answer (the customer was
  never dialed: telephony.calls settles it as "failed") is not a dial, nor any activity.
- connected call: a dial whose outcome is "connected" (a person or something answered and
  talked; a voicemail is not connected). connection_ratio = connected calls / dials: the
  dial-level figure the seeds quote at 11-14 %.
- talk time: the talk_seconds of connected calls, outbound and inbound.
- texts sent, emails sent: outbound texts and emails, once per MessageSid / Message-ID, whatever
  their delivery status.
- activity: what the staff member did: dials, inbound calls they answered, texts and emails
  sent, visits and notes; counted by evidence level (verified, self-reported, imported, simulated) and
  flagged when done outside company channels (a personal cell). Customer replies are not
  the staff member's activity.
- two-way contact: the event's own classification (leads.contact, stored in the generated
  column is_two_way): a connected call, either direction, answered by a person with at least the
  store's minimum talk time (a typed "spoke with the customer" counts at its own evidence
  level), a text or email reply from the customer, or a visit. An attempt is never two-way.
- contact rate, lead level, kept apart from the connection ratio: of the leads the staff member
  worked in the period (any activity on the lead), the share that had at least one two-way
  contact in the same period, by anyone (a customer's text reply often has no staff).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import CharField, Count, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, TruncDate
from django.db.models.lookups import In

from leads.models import Channel, ContactEvent, Direction, EvidenceLevel, Outcome
from org.models import Store
from telephony.models import Call

OUTBOUND_CALL = Q(channel=Channel.CALL, direction=Direction.OUTBOUND)
INBOUND_CALL_ANSWERED = Q(channel=Channel.CALL, direction=Direction.INBOUND, outcome=Outcome.CONNECTED)
TEXT_SENT = Q(channel=Channel.TEXT, direction=Direction.OUTBOUND)
EMAIL_SENT = Q(channel=Channel.EMAIL, direction=Direction.OUTBOUND)
VISIT = Q(channel=Channel.VISIT)
NOTE = Q(channel=Channel.NOTE)
ACTIVITY = OUTBOUND_CALL | INBOUND_CALL_ANSWERED | TEXT_SENT | EMAIL_SENT | VISIT | NOTE

# What is counted once: a call, text or email by its provider id (CA..., SM..., Message-ID),
# anything else by its own id. One expression for every count keeps the DISTINCTs cheap.
ONCE_KEY = Coalesce(
    NullIf("call_sid", Value("")), NullIf("message_sid", Value("")), NullIf("email_message_id", Value("")),
    Cast("id", CharField()),
)
PREFIX = "m_"


# Two-way contact is the event's own classification (leads.contact), stored by PostgreSQL in a
# generated column: the same answer the coverage engine, response times and cadence read.
TWO_WAY = Q(is_two_way=True)


def _once(q: Q) -> Count:
    """Count the events matching q, each call, text or email once by its provider id."""
    return Count("once_key", distinct=True, filter=q)


@dataclass(frozen=True, kw_only=True)
class Activity:
    dials: int = 0
    connected_calls: int = 0
    talk_seconds: int = 0
    inbound_calls_answered: int = 0
    texts_sent: int = 0
    emails_sent: int = 0
    visits: int = 0
    two_way_contacts: int = 0
    activities: int = 0
    verified: int = 0
    self_reported: int = 0
    imported: int = 0
    simulated: int = 0
    outside_company_channels: int = 0
    leads_worked: int = 0
    leads_contacted: int = 0

    @property
    def connection_ratio(self) -> float | None:
        """Dial level: connected calls / dials."""
        return self.connected_calls / self.dials if self.dials else None

    @property
    def contact_rate(self) -> float | None:
        """Lead level: leads with a two-way contact / leads worked."""
        return self.leads_contacted / self.leads_worked if self.leads_worked else None

    @property
    def verified_share(self) -> float | None:
        return self.verified / self.activities if self.activities else None


@dataclass(frozen=True, kw_only=True)
class StaffDay(Activity):
    staff_id: int
    day: dt.date


@dataclass(frozen=True, kw_only=True)
class StaffPeriod(Activity):
    """One staff member over first_day..last_day; staff_id None for the whole selection
    (a store or a team): leads worked by two people count once there."""

    staff_id: int | None
    first_day: dt.date
    last_day: dt.date


def day_bounds(store: Store, first_day: dt.date, last_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight of first_day, local midnight after last_day) as aware datetimes."""
    tz = store.tz
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def activity_aggregates(store: Store, start: dt.datetime, end: dt.datetime, lead_contacted: Q) -> dict:
    """The counts, one aggregate each; lead_contacted tells whether an event's lead had a
    two-way contact in the window the caller chose. Keys carry a prefix: an annotation named like a
    field (talk_seconds) would shadow the field in the filters of the aggregates after it."""
    # Click-to-calls whose customer leg never started (the agent's phone did not answer). An
    # uncorrelated IN: PostgreSQL hashes it once. A call's events carry its creation time.
    never_dialed = Call.objects.filter(
        store=store, direction=Direction.OUTBOUND, customer_leg_status="",
        created_at__gte=start - dt.timedelta(days=1), created_at__lt=end + dt.timedelta(days=1),
    ).values("call_sid")
    agent_leg_failed = Q(outcome=Outcome.FAILED, call_sid__in=Subquery(never_dialed))
    dial = OUTBOUND_CALL & ~agent_leg_failed
    activity = ACTIVITY & ~(OUTBOUND_CALL & agent_leg_failed)
    counts = {
        "dials": _once(dial),
        "connected_calls": _once(OUTBOUND_CALL & Q(outcome=Outcome.CONNECTED)),
        "talk_seconds": Coalesce(
            Sum("talk_seconds", filter=Q(channel=Channel.CALL, outcome=Outcome.CONNECTED)), Value(0)
        ),
        "inbound_calls_answered": _once(INBOUND_CALL_ANSWERED),
        "texts_sent": _once(TEXT_SENT),
        "emails_sent": _once(EMAIL_SENT),
        "visits": Count("id", filter=VISIT),
        "two_way_contacts": _once(TWO_WAY),
        "activities": _once(activity),
        "verified": _once(activity & Q(evidence_level=EvidenceLevel.VERIFIED)),
        "self_reported": _once(activity & Q(evidence_level=EvidenceLevel.SELF_REPORTED)),
        "imported": _once(activity & Q(evidence_level=EvidenceLevel.IMPORTED)),
        "simulated": _once(activity & Q(evidence_level=EvidenceLevel.SIMULATED)),
        "outside_company_channels": _once(activity & Q(outside_company_channels=True)),
        "leads_worked": Count("lead_id", distinct=True, filter=activity),
        "leads_contacted": Count("lead_id", distinct=True, filter=activity & lead_contacted),
    }
    return {PREFIX + name: expression for name, expression in counts.items()}


def activity_unprefixed(row: dict) -> dict:
    """A row of activity_aggregates with the keys Activity and its kin take."""
    return {key.removeprefix(PREFIX): value for key, value in row.items()}


def activity_events(store: Store, start: dt.datetime, end: dt.datetime, staff_ids: Iterable[int] | None):
    """The staff's events in the window (of these staff, or all) that the activity counts read;
    the sales board groups the same rows by team (reporting.salesboard)."""
    events = ContactEvent.objects.filter(
        store=store, staff__isnull=False, superseded_by__isnull=True, occurred_at__gte=start, occurred_at__lt=end
    )
    if staff_ids is not None:
        events = events.filter(staff_id__in=list(staff_ids))
    return events.annotate(once_key=ONCE_KEY).order_by()


def two_way_events(store: Store, start: dt.datetime, end: dt.datetime):
    """Two-way events on leads (by anyone: a customer's reply often has no staff), start..end."""
    return ContactEvent.objects.filter(
        TWO_WAY,
        store=store,
        lead_id__isnull=False,
        superseded_by__isnull=True,
        occurred_at__gte=start,
        occurred_at__lt=end,
    ).order_by()


def _lead_day(store: Store) -> Concat:
    """'<lead id>:<local date>': a (lead, day) pair as one value, so that "had a two-way contact
    that day" is an uncorrelated IN (hashed once) rather than a subquery per event."""
    return Concat(Cast("lead_id", CharField()), Value(":"), Cast(TruncDate("occurred_at", tzinfo=store.tz), CharField()))


def staff_days(
    store: Store, first_day: dt.date, last_day: dt.date | None = None, *, staff_ids: Iterable[int] | None = None
) -> list[StaffDay]:
    """One row per staff member and local day that has events, ordered by staff and day.
    leads_contacted counts a two-way contact on the lead on the same local day. One query."""
    last_day = last_day or first_day
    start, end = day_bounds(store, first_day, last_day)
    two_way_lead_days = two_way_events(store, start, end).annotate(lead_day=_lead_day(store)).values("lead_day")
    same_day = Q(In(_lead_day(store), Subquery(two_way_lead_days)))
    rows = (
        activity_events(store, start, end, staff_ids)
        .annotate(day=TruncDate("occurred_at", tzinfo=store.tz))
        .values("staff_id", "day")
        .annotate(**activity_aggregates(store, start, end, same_day))
        .order_by("staff_id", "day")
    )
    return [StaffDay(**activity_unprefixed(row)) for row in rows]


def staff_period(
    store: Store,
    first_day: dt.date,
    last_day: dt.date,
    *,
    staff_ids: Iterable[int] | None = None,
    per_staff: bool = True,
) -> list[StaffPeriod]:
    """Totals over first_day..last_day (local days): one row per staff member with events, or
    with per_staff=False one row for everyone selected (staff_ids: a team; None: the store).
    A lead, call or text spanning several days counts once here, so these are not always the
    sums of staff_days. leads_contacted counts a two-way contact anywhere in the period.
    One query."""
    start, end = day_bounds(store, first_day, last_day)
    events = activity_events(store, start, end, staff_ids)
    aggregates = activity_aggregates(store, start, end, Q(lead_id__in=Subquery(two_way_events(store, start, end).values("lead_id"))))
    if per_staff:
        rows = list(events.values("staff_id").annotate(**aggregates).order_by("staff_id"))
    else:
        rows = [events.aggregate(**aggregates) | {"staff_id": None}]
    return [StaffPeriod(first_day=first_day, last_day=last_day, **activity_unprefixed(row)) for row in rows]


def dashboard(
    store: Store, today: dt.date, *, staff_ids: Iterable[int] | None = None
) -> dict[str, list[StaffPeriod]]:
    """What the seeds' managers ask for, per person: today, yesterday, month to date (three queries)."""
    staff_ids = list(staff_ids) if staff_ids is not None else None
    yesterday = today - dt.timedelta(days=1)
    return {
        "today": staff_period(store, today, today, staff_ids=staff_ids),
        "yesterday": staff_period(store, yesterday, yesterday, staff_ids=staff_ids),
        "month_to_date": staff_period(store, today.replace(day=1), today, staff_ids=staff_ids),
    }


__all__ = [
    "ACTIVITY",
    "Activity",
    "StaffDay",
    "StaffPeriod",
    "dashboard",
    "day_bounds",
    "staff_days",
    "staff_period",
    "TWO_WAY",
]
