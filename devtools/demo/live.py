"""Live arrivals and the work waiting: whenever the demo is built (a Tuesday morning or the
closed Sunday at 23:00), a few leads arrive in the live window and are routed by the rules, and
open leads get their follow-up tasks, appointments in the store's hours and the calls due in
the live window, so the board, the pool and every salesperson's Today have something on them."""

from __future__ import annotations

import datetime as dt
import random

from django.db import models

from distribution.services import lead_route
from followup import services as followup
from leads.models import (
    Appointment,
    ContactEvent,
    IntakeChannel,
    Lead,
    LeadStatus,
    SourceType,
    Task,
    TaskKind,
)
from leads.services import LeadData, VehicleData, lead_create
from org.hours import open_intervals
from org.models import Role, Staff, Store


def live_window(store: Store, now: dt.datetime) -> tuple[dt.datetime, dt.datetime, bool]:
    """The open hours the demo's live work belongs to, and whether the store is open now: the
    current open interval while the store is open; otherwise the last one before now, whose
    leftover work (unanswered leads, overdue calls) is what a newcomer finds at night or on the
    closed day, as in a real store."""
    spans = [span for span in open_intervals(store.business_hours, store.tz, now - dt.timedelta(days=14),
                                             now + dt.timedelta(days=1)) if span[0] <= now]
    if not spans:  # a store without hours: the last eight hours
        return now - dt.timedelta(hours=8), now + dt.timedelta(minutes=1), True
    begin, end = spans[-1]
    return begin, end, begin <= now < end


def appointment_slots(store: Store, after: dt.datetime, days: int) -> list[list[dt.datetime]]:
    """Half-hour appointment times inside the store's open hours, at least an hour before
    closing, later than `after`, grouped by open day (the next `days` open days)."""
    by_day: dict[dt.date, list[dt.datetime]] = {}
    for begin, end in open_intervals(store.business_hours, store.tz, after, after + dt.timedelta(days=days + 9)):
        local = begin.astimezone(store.tz)
        slot = local.replace(minute=0 if local.minute == 0 else 30, second=0, microsecond=0)
        if slot < local:
            slot += dt.timedelta(minutes=30)
        slot = slot.astimezone(dt.UTC)
        while slot + dt.timedelta(hours=1) <= end:
            if slot > after:
                by_day.setdefault(slot.astimezone(store.tz).date(), []).append(slot)
            slot += dt.timedelta(minutes=30)
    return [by_day[day] for day in sorted(by_day)][:days]


def live_leads(store_id: int, now: dt.datetime) -> int:
    """A few leads arriving in the live window (just now while the store is open, else the last
    open hour), routed by the rules at their arrival, so the board, the pool and the agents'
    queues have something on them whenever the demo opens."""
    store = Store.objects.get(pk=store_id)
    begin, end, is_open = live_window(store, now)
    arrivals = [
        ("Maria", "Lopez", "+16125550181", SourceType.PHONE_UP, "Main line", VehicleData(condition="new", make="Toyota", model="RAV4", year=2027)),
        ("Derek", "Olsen", "+16125550182", SourceType.THIRD_PARTY, "CarGurus", VehicleData(condition="used", make="Honda", model="CR-V", year=2022)),
        ("Priya", "Natarajan", "+16125550183", SourceType.OEM, "Toyota.com", VehicleData(condition="new", make="Toyota", model="Camry", year=2027)),
        ("Sam", "Whitaker", "+16125550184", SourceType.DEALER_WEBSITE, "Website", VehicleData(condition="used", make="Ford", model="F-150", year=2021)),
        ("Grace", "Hollis", "+16125550185", SourceType.WALK_IN, "", VehicleData(condition="new", make="Toyota", model="Tacoma", year=2027)),
        ("Omar", "Haddad", "+16125550186", SourceType.THIRD_PARTY, "Autotrader", VehicleData(condition="new", make="Toyota", model="Highlander", year=2027)),
        # Maria's husband, from the family's landline: his own customer, a possible duplicate of hers
        # for a manager to review (leads.identity; Setup -> Duplicates).
        ("Carlos", "Lopez", "+16125550181", SourceType.THIRD_PARTY, "Cars.com", VehicleData(condition="used", make="Toyota", model="Tundra", year=2023)),
    ]
    channels = {SourceType.PHONE_UP: IntakeChannel.PHONE, SourceType.WALK_IN: IntakeChannel.MANUAL}
    latest = min(now, end - dt.timedelta(minutes=1))
    for index, (first, last, phone, source, provider, vehicle) in enumerate(arrivals):
        if source == SourceType.WALK_IN and not is_open:
            continue  # a customer on the showroom floor does not wait overnight
        arrived = max(begin, latest - dt.timedelta(minutes=4 + 9 * (len(arrivals) - 1 - index)))
        result = lead_create(store=store, data=LeadData(
            source_type=source, intake_channel=channels.get(source, IntakeChannel.API),
            first_name=first, last_name=last, phones=[(phone, "mobile")], provider=provider,
            provider_lead_id=f"LIVE-{index + 1}", vehicles=[vehicle], received_at=arrived,
        ))
        lead_route(lead_id=result.lead.pk, now=arrived)
    return Lead.objects.filter(store=store, provider_lead_id__startswith="LIVE-").count()


def follow_up_work(store_id: int, rng: random.Random, now: dt.datetime) -> tuple[int, int]:
    """Open leads get what the follow-up module would have given them: a new lead its cadence,
    a contacted one its keep-in-touch task, an appointment-set one an appointment in the store's
    open hours (the next open days, the first ones busiest). Each salesperson also has the calls
    of the live window (see live_window): due through today's open hours, or left overdue from
    the last ones when the demo is built at night or on the closed day, so Today is never empty."""
    store = Store.objects.get(pk=store_id)
    leads = Lead.objects.filter(store=store, duplicate_of__isnull=True, owner__isnull=False).select_related("store")
    for lead in leads.filter(status=LeadStatus.NEW, received_at__gte=now - dt.timedelta(days=5)):
        followup.lead_owner_changed(lead=lead, owner_id=lead.owner_id, now=now)
    last_two_way = dict(
        ContactEvent.objects.filter(store=store, lead__status=LeadStatus.CONTACTED)
        .values("lead_id").annotate(last=models.Max("occurred_at")).values_list("lead_id", "last")
    )
    for lead in leads.filter(status=LeadStatus.CONTACTED):
        followup.keep_in_touch_plan(lead=lead, after=last_two_way.get(lead.pk, lead.received_at))

    days = appointment_slots(store, now, 4)
    made = []
    for lead in leads.filter(status=LeadStatus.APPOINTMENT_SET).order_by("pk"):
        if not days:
            break
        day = days[min(len(days) - 1, rng.choice([0, 0, 0, 1, 1, 2, 3]))]
        starts = rng.choice(day)
        made.append(Appointment(
            store=store, lead=lead, customer_id=lead.customer_id, staff_id=lead.owner_id, starts_at=starts,
            created_at=now - dt.timedelta(days=1), reminder_due_at=starts - dt.timedelta(hours=2) if starts > now else None,
            no_show_due_at=starts + dt.timedelta(hours=2),
        ))
    Appointment.objects.bulk_create(made)

    begin, end, is_open = live_window(store, now)
    if is_open:  # an hour's calls already late, the rest through the day
        span = (end - dt.timedelta(minutes=30)) - max(begin, now - dt.timedelta(hours=1))
        start = max(begin, now - dt.timedelta(hours=1))
    else:  # the last open hours' calls nobody got to
        span = (end - begin) / 2
        start = end - span
    live = []
    sellers = Staff.objects.filter(store=store, role__in=[Role.INTERNET_AGENT, Role.RETAIL], is_active=True).order_by("pk")
    for member in sellers:
        open_leads = list(leads.filter(owner=member, status__in=[LeadStatus.CONTACTED, LeadStatus.APPOINTMENT_SET])
                          .order_by("-received_at")[:3])
        for lead in open_leads:
            due = start + span * rng.random()
            live.append(Task(
                store=store, customer_id=lead.customer_id, lead=lead, staff=member, kind=TaskKind.CALL_BACK,
                channel="call", due_at=due, created_at=min(now, due) - dt.timedelta(hours=20),
                reason=rng.choice(["Asked for a call back about numbers", "Wants a trade-in figure before coming in",
                                   "Call back: comparing with another dealer", "Promised payment options today"]),
            ))
    Task.objects.bulk_create(live)
    return Task.objects.filter(store=store).count(), len(made)
