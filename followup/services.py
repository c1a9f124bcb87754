"""Follow-up: a new lead's cadence of tasks, keep-in-touch tasks after contact, tasks that
complete themselves from contact events, and the sweeper that tells people what fell due.

Timing is in followup.cadence (pure); this module reads and writes."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import ExtractHour
from django.utils import timezone

from dealcoverage.selectors import policies_in_force
from distribution.services import notify
from followup import cadence as timing
from leads.models import (
    OPEN_STATUSES,
    Cadence,
    CadenceStep,
    Channel,
    ContactEvent,
    Customer,
    Lead,
    LeadStatus,
    SourceType,
    Task,
    TaskKind,
)
from leads.services import lead_transition
from org.models import Role, Staff, Store

DEFAULT_BUSIEST_HOUR = 11
DEFAULT_KEEP_IN_TOUCH = dt.timedelta(hours=48)
BATCH = 500
CHANNEL_WORDS = {"call": "Call", "text": "Text", "email": "Email"}


# --- configuration -------------------------------------------------------------------------

def cadence_steps(store: Store) -> list[tuple[int, str]]:
    """The store's cadence steps (one query), else the default cadence. A saved cadence always
    has steps (cadence_save refuses an empty one)."""
    steps = list(CadenceStep.objects.filter(cadence__store=store).order_by("day", "id").values_list("day", "channel"))
    return steps or list(timing.DEFAULT_STEPS)


def cadence_save(*, store: Store, steps: list[tuple[int, str]], name: str = "", keep_in_touch_every_hours: int | None = None,
                 keep_in_touch_margin_hours: int = 24) -> Cadence:
    """Replace the store's cadence. A cadence with no steps is refused."""
    clean = sorted({(int(day), channel) for day, channel in steps})
    if not clean:
        raise ValidationError({"steps": "A cadence needs at least one step (a day and a channel)."})
    bad = [channel for _, channel in clean if channel not in CHANNEL_WORDS]
    if bad:
        raise ValidationError({"steps": f"Unknown channel {bad[0]!r}; use call, text or email."})
    if any(day < 0 or day > 60 for day, _ in clean):
        raise ValidationError({"steps": "Cadence days run from 0 (the day the lead arrived) to 60."})
    if keep_in_touch_every_hours is not None and keep_in_touch_every_hours <= keep_in_touch_margin_hours:
        raise ValidationError({"keep_in_touch_every_hours": "The spacing must be longer than the margin."})
    with transaction.atomic():
        cadence, _ = Cadence.objects.select_for_update().get_or_create(store=store)
        cadence.name = name or cadence.name
        cadence.keep_in_touch_every_hours = keep_in_touch_every_hours
        cadence.keep_in_touch_margin_hours = keep_in_touch_margin_hours
        cadence.save()
        cadence.steps.all().delete()
        CadenceStep.objects.bulk_create([CadenceStep(cadence=cadence, day=day, channel=channel) for day, channel in clean])
    return cadence


def keep_in_touch_every(store: Store, at: dt.datetime) -> dt.timedelta:
    """The store's spacing, else the internet agents' coverage window minus the margin."""
    cadence = Cadence.objects.filter(store=store).first()
    margin = dt.timedelta(hours=cadence.keep_in_touch_margin_hours if cadence else 24)
    if cadence and cadence.keep_in_touch_every_hours:
        return dt.timedelta(hours=cadence.keep_in_touch_every_hours)

    policy = policies_in_force(store, at).get(Role.INTERNET_AGENT)
    if policy is None or not policy.window_hours:
        return DEFAULT_KEEP_IN_TOUCH
    window = dt.timedelta(hours=policy.window_hours)
    return max(window - margin, window / 2)


def busiest_hour(store: Store, now: dt.datetime | None = None) -> int:
    """The local hour most walk-ins arrived in over the last 90 days (11 when there are none)."""
    now = now or timezone.now()
    row = (
        Lead.objects.filter(store=store, source_type=SourceType.WALK_IN, received_at__gte=now - dt.timedelta(days=90))
        .annotate(hour=ExtractHour("received_at", tzinfo=store.tz))
        .values("hour")
        .annotate(n=Count("pk"))
        .order_by("-n", "hour")
        .first()
    )
    return row["hour"] if row else DEFAULT_BUSIEST_HOUR


def best_time_for(lead: Lead) -> dt.time:
    walk_in = lead.source_type == SourceType.WALK_IN
    return timing.best_time(
        lead.received_at, lead.store.tz, walk_in=walk_in, busiest_hour=busiest_hour(lead.store) if walk_in else 0
    )


# --- tasks following the lead's owner ------------------------------------------------------

def lead_owner_changed(*, lead: Lead, owner_id: int | None, now: dt.datetime | None = None) -> None:
    """A lead got an owner: start its cadence the first time; later owners take over its open
    tasks. Duplicates follow their original lead's cadence and get none of their own.

    Runs for every lead routed, so it reads and writes in plain SQL: one statement asks whether
    the cadence was started and reads the store's steps, one writes the new tasks (the ORM took
    longer to build fifteen Task rows than PostgreSQL took to store them, bench/distribution.py)."""
    now = now or timezone.now()
    if owner_id is None or lead.duplicate_of_id is not None or lead.status not in OPEN_STATUSES:
        return
    started, steps = _cadence_started_and_steps(lead)
    if started:
        Task.objects.filter(lead=lead, completed_at__isnull=True, canceled_at__isnull=True).exclude(
            staff_id=owner_id
        ).update(staff_id=owner_id, notified_at=None)
        return
    if lead.status != LeadStatus.NEW:
        return
    store = lead.store
    wanted = best_time_for(lead)
    due = timing.cadence_due(
        received_at=lead.received_at, start=max(now, lead.received_at), tz=store.tz,
        business_hours=store.business_hours, steps=steps or list(timing.DEFAULT_STEPS), wanted=wanted,
    )
    _cadence_tasks_insert(lead, owner_id=owner_id, due=due, now=now)


def _cadence_started_and_steps(lead: Lead) -> tuple[bool, list[tuple[int, str]]]:
    """Whether the lead has cadence tasks already, and its store's cadence steps (as
    cadence_steps reads them, empty for the default cadence): one round trip."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT EXISTS (SELECT 1 FROM {Task._meta.db_table} WHERE lead_id = %(lead)s AND kind = %(kind)s),
                   (SELECT coalesce(json_agg(json_build_array(st.day, st.channel) ORDER BY st.day, st.id), '[]')
                      FROM {CadenceStep._meta.db_table} st JOIN {Cadence._meta.db_table} c ON c.id = st.cadence_id
                     WHERE c.store_id = %(store)s)
            """,
            {"lead": lead.pk, "kind": str(TaskKind.CADENCE), "store": lead.store_id},
        )
        started, steps = cursor.fetchone()  # json_agg arrives decoded, as in distribution.pools.members
    return started, [(day, channel) for day, channel in steps]


def _cadence_tasks_insert(lead: Lead, *, owner_id: int, due: list[timing.Due], now: dt.datetime) -> None:
    """The cadence's tasks in one INSERT from arrays, with the values Task's fields default to."""
    if not due:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Task._meta.db_table}
                (store_id, customer_id, lead_id, staff_id, kind, channel, step_day, reason, due_at, created_at,
                 completed_at, completed_by_event_id, canceled_at, cancel_reason, notified_at)
            SELECT %(store)s, %(customer)s, %(lead)s, %(staff)s, %(kind)s, t.channel, t.step_day, t.reason, t.due_at,
                   %(now)s, NULL, NULL, NULL, '', NULL
              FROM unnest(%(channels)s::text[], %(days)s::int[], %(reasons)s::text[], %(dues)s::timestamptz[])
                   AS t(channel, step_day, reason, due_at)
            """,
            {
                "store": lead.store_id, "customer": lead.customer_id, "lead": lead.pk, "staff": owner_id,
                "kind": str(TaskKind.CADENCE), "now": now,
                "channels": [step.channel for step in due], "days": [step.day for step in due],
                "reasons": [f"{CHANNEL_WORDS[step.channel]} · day {step.day + 1} of the new-lead cadence" for step in due],
                "dues": [step.due_at for step in due],
            },
        )


def lead_closed(*, lead: Lead) -> None:
    """Sold or lost: nothing left to follow up."""
    Task.objects.filter(lead=lead, completed_at__isnull=True, canceled_at__isnull=True).update(
        canceled_at=timezone.now(), cancel_reason=f"Lead {lead.get_status_display().lower()}."
    )


# --- contact events complete tasks ------------------------------------------------------------

def event_recorded(event: ContactEvent, *, store: Store) -> None:
    """Complete the tasks this event does, and after a two-way contact end the cadence and plan
    the next keep-in-touch task. Runs in the event's transaction (leads.events.contact_event_recorded)."""
    if event.is_attempt:
        _complete_matching(event, store)
    if event.is_two_way:
        _after_two_way(event, store)


def _complete_matching(event: ContactEvent, store: Store) -> None:
    local_day_end = dt.datetime.combine(
        event.occurred_at.astimezone(store.tz).date() + dt.timedelta(days=1), dt.time(0), tzinfo=store.tz
    )
    open_tasks = Task.objects.filter(
        customer_id=event.customer_id, completed_at__isnull=True, canceled_at__isnull=True, due_at__lt=local_day_end
    )
    matching = open_tasks.filter(channel=event.channel) | open_tasks.filter(kind=TaskKind.KEEP_IN_TOUCH)
    if event.channel == Channel.CALL:
        matching = matching | open_tasks.filter(kind=TaskKind.CALL_BACK)
    completed = list(matching.values_list("pk", "kind", "lead_id"))
    Task.objects.filter(pk__in=[pk for pk, _, _ in completed]).update(
        completed_at=event.occurred_at, completed_by_event=event
    )
    for _, kind, lead_id in completed:
        if kind == TaskKind.KEEP_IN_TOUCH and lead_id:
            lead = Lead.objects.select_related("store").filter(pk=lead_id, status__in=OPEN_STATUSES).first()
            if lead is not None and lead.owner_id:
                keep_in_touch_plan(lead=lead, after=event.occurred_at)


def _after_two_way(event: ContactEvent, store: Store) -> None:
    leads = list(
        Lead.objects.select_related("store").filter(
            customer_id=event.customer_id, status__in=OPEN_STATUSES, duplicate_of__isnull=True
        )
    )
    Task.objects.filter(
        customer_id=event.customer_id, kind=TaskKind.CADENCE, completed_at__isnull=True, canceled_at__isnull=True
    ).update(canceled_at=event.occurred_at, cancel_reason="Two-way contact made: the cadence ends.")
    for lead in leads:
        if lead.status == LeadStatus.NEW:
            lead_transition(lead=lead, to_status=LeadStatus.CONTACTED, by=None)
        if lead.owner_id:
            keep_in_touch_plan(lead=lead, after=event.occurred_at)


def keep_in_touch_plan(*, lead: Lead, after: dt.datetime) -> Task:
    """One open keep-in-touch task per lead, due before coverage from `after` would lapse."""
    store = lead.store
    Task.objects.filter(lead=lead, kind=TaskKind.KEEP_IN_TOUCH, completed_at__isnull=True, canceled_at__isnull=True).update(
        canceled_at=timezone.now(), cancel_reason="Replaced by a later keep-in-touch task."
    )
    due = timing.keep_in_touch_due(
        last_contact=after, every=keep_in_touch_every(store, after), tz=store.tz,
        business_hours=store.business_hours, wanted=best_time_for(lead),
    )
    return Task.objects.create(
        store=store, customer_id=lead.customer_id, lead=lead, staff_id=lead.owner_id, kind=TaskKind.KEEP_IN_TOUCH,
        channel="", due_at=due, reason="Keep in touch: stay inside your coverage window.",
    )


# --- manual tasks ----------------------------------------------------------------------------------

def task_create(*, by: Staff, customer: Customer, due_at: dt.datetime, reason: str, lead: Lead | None = None,
                channel: str = "", staff: Staff | None = None) -> Task:
    if customer.store_id != by.store_id:
        raise ValidationError({"customer": "That customer belongs to another store."})
    if lead is not None and lead.customer_id != customer.pk:
        raise ValidationError({"lead": "That lead is not this customer's."})
    if channel and channel not in CHANNEL_WORDS:
        raise ValidationError({"channel": "Use call, text or email (or none)."})
    if not reason.strip():
        raise ValidationError({"reason": "Say what is to be done."})
    owner = staff or by
    if owner.store_id != customer.store_id:
        raise ValidationError({"staff": "That person is not staff of this customer's store."})
    return Task.objects.create(
        store_id=customer.store_id, customer=customer, lead=lead, staff=owner, kind=TaskKind.FOLLOW_UP,
        channel=channel, due_at=due_at, reason=reason.strip()[:300],
    )


def task_complete(*, task: Task, by: Staff) -> Task:
    updated = Task.objects.filter(pk=task.pk, completed_at__isnull=True, canceled_at__isnull=True).update(
        completed_at=timezone.now()
    )
    if not updated:
        raise ValidationError({"task": "This task is already done or canceled."})
    task.refresh_from_db()
    return task


def _channels_text(group: list[Task]) -> str:
    order = ["call", "text", "email"]
    words = [CHANNEL_WORDS[c].lower() for c in order if any(t.channel == c for t in group)]
    if not words:
        return "follow up with"
    text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return text[0].upper() + text[1:]


# --- the sweeper ---------------------------------------------------------------------------------

def tasks_due(*, now: dt.datetime) -> int:
    """Tell each owner once when their tasks fall due: one notification per lead and due time."""
    done = 0
    due_ids = list(
        Task.objects.filter(due_at__lte=now, completed_at__isnull=True, canceled_at__isnull=True, notified_at__isnull=True)
        .order_by("due_at").values_list("pk", flat=True)[:BATCH]
    )
    if not due_ids:
        return 0
    with transaction.atomic():
        tasks = list(
            Task.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer", "store")
            .filter(pk__in=due_ids, notified_at__isnull=True, completed_at__isnull=True, canceled_at__isnull=True)
        )
        groups: dict[tuple[int | None, int, dt.datetime], list[Task]] = {}
        for task in tasks:
            groups.setdefault((task.staff_id, task.customer_id, task.due_at), []).append(task)
        for (staff_id, _, _), group in groups.items():
            first = group[0]
            # The cadence's daily steps live on the Today page; the bell is for what breaks in
            # (a call back, a keep-in-touch task, a missed appointment's follow-up).
            if staff_id is not None and first.kind != TaskKind.CADENCE:
                what = _channels_text(group)
                notify(staff_id=staff_id, store=first.store, lead=first.lead, kind="task",
                       text=f"Due now: {what} {first.customer}. {first.reason}", sms=False)
            done += len(group)
        Task.objects.filter(pk__in=[t.pk for t in tasks]).update(notified_at=now)
    return done
