"""The salesperson's home page, "Today": their queue, in this order,

1. new leads they own with no first attempt yet, each with its running response clock;
2. follow-up tasks due by the end of the day, one row per customer (a cadence day's call, text
   and email are one row with three chips), overdue ones flagged;
3. customers whose coverage (theirs) ends in the next 24 hours;
4. today's appointments;

each row with one-click call, text, email, log and set-appointment actions. The page is read in a
fixed number of queries whatever the number of rows; the coverage section, which weighs every
event of the salesperson's book, is judged in a second request the page makes as soon as it
shows (leads_today:coverage). Thin: every read goes through org.scoping or the staff member's own
rows, every write through a service (followup.appointments, followup.services).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from common.formatting import span_text
from dealcoverage.live import EndingSoon, coverage_ending
from distribution.services import business_deadline, lapse_outcomes
from followup import appointments as appointment_services
from followup import services as followup
from leads import permissions as lead_permissions
from leads.forms import LogContactForm
from leads.models import (
    OPEN_STATUSES,
    Appointment,
    ContactEvent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    Lead,
    LeadStatus,
    LeadVehicle,
    Task,
    TaskKind,
)
from leads.scoping import can_work_lead, leads_for
from leads.selectors import lead_timeline
from org import hours
from org.models import SALES_ROLES, Staff
from org.scoping import viewer_for
from telephony import calls, metrics

CHANNELS = [("call", "Call"), ("text", "Text"), ("email", "Email")]
KIND_WORDS = {TaskKind.KEEP_IN_TOUCH: "Keep in touch", TaskKind.FOLLOW_UP: "Follow up", TaskKind.CALL_BACK: "Call back"}
COVERAGE_HOURS = 24
WORK_ACTIONS = {"text", "email", "log", "appointment"}
MAX_LISTED = 5000
NEW_ROWS = 50  # new leads the page lists, most urgent first (the count says how many wait)


def _salesperson(user) -> Staff | None:
    staff = viewer_for(user).staff
    return staff if staff is not None and staff.role in SALES_ROLES else None


def home(request):
    """"/": salespeople start their day on Today, the receptionist on her board, managers and
    the director on the sales board; everyone else on the lead list."""
    if request.user.is_authenticated and _salesperson(request.user) is not None:
        return redirect("leads_today:today")

    viewer = viewer_for(request.user) if request.user.is_authenticated else None
    if viewer is not None and viewer.is_receptionist:
        return redirect("distribution_board:page")
    if viewer is not None and viewer.staff is not None and (viewer.is_manager or viewer.is_store_wide):
        return redirect("leads_salesboard:board")
    return redirect("leads:list")


# --- the queue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    """A customer's phone for the row's Call button: its id and E.164 number."""

    pk: int
    number: str


@dataclass
class Chip:
    """One follow-up channel of a customer today: due, overdue or done."""

    label: str
    state: str  # "due" | "overdue" | "done"
    title: str


@dataclass
class Clock:
    """A new lead's response clock: running since `since`, late from `breach_at` (the store's
    limit in business minutes), and moved to the next in line at `moves_at` if the rule says so."""

    since: dt.datetime
    breach_at: dt.datetime | None
    moves_at: dt.datetime | None
    elapsed: str
    late: bool


class _Urls:
    """Each row links to its lead a few times; reverse each route once per page, not once a link."""

    MARK = 987654321
    NAMES = {"detail": "leads:detail", "work": "leads_today:work", "call": "telephony:call_start"}

    def __init__(self) -> None:
        self.parts = {key: reverse(name, args=[self.MARK]).split(str(self.MARK)) for key, name in self.NAMES.items()}

    def for_lead(self, pk: int) -> dict[str, str]:
        return {key: f"{head}{pk}{tail}" for key, (head, tail) in self.parts.items()}


@dataclass
class Row:
    key: str
    section: str
    customer: Customer
    lead: Lead | None
    chips: list[Chip] = field(default_factory=list)
    reason: str = ""
    due_at: dt.datetime | None = None
    due_text: str = ""
    overdue: str = ""
    clock: Clock | None = None
    ending: EndingSoon | None = None
    appointment: Appointment | None = None
    manual_task_ids: list[int] = field(default_factory=list)
    until: str = ""
    lapse: str = ""  # coverage rows: what happens to the lead when it lapses (the routing rule's setting)
    urls: dict[str, str] = field(default_factory=dict)
    # Filled in for rows with a lead (today.views._contact_details): the first phone, whether
    # there is an email address, and the vehicle the customer asked about.
    phone: Phone | None = None
    has_email: bool = False
    vehicle: str = ""

    @property
    def left(self) -> str:
        """Coverage left, as "5 h 59 min"."""
        return span_text(self.ending.left) if self.ending else ""


@dataclass
class Queue:
    """The four sections. The coverage section is judged in a second request (leads_today:coverage,
    loaded by the page as soon as it shows): `coverage` is None until then, and `flagged` lists the
    rows above whose coverage ends soon (flagged in place, not listed twice)."""

    now: dt.datetime
    new: list[Row]
    new_waiting: int  # all the new leads waiting for a first attempt; `new` lists the NEW_ROWS most urgent
    tasks: list[Row]
    coverage: list[Row] | None
    has_coverage_policy: bool | None
    appointments: list[Row]
    flagged: list[Row]
    activity: metrics.Activity
    call_target: int

    @property
    def overdue(self) -> int:
        return sum(1 for row in self.tasks if row.overdue)

    @property
    def listed(self) -> str:
        """The customers of the new-lead and follow-up rows, for the coverage request to flag in place."""
        return ",".join(str(row.customer.pk) for row in [*self.new, *self.tasks])

    @property
    def coverage_ending(self) -> int | None:
        return None if self.coverage is None else len(self.coverage) + len(self.flagged)

    @property
    def calls_percent(self) -> int:
        return min(100, round(100 * self.activity.dials / self.call_target)) if self.call_target else 0


def _chips(tasks: list[Task], now: dt.datetime, tz) -> tuple[list[Chip], list[int]]:
    """Per channel: overdue / due (open tasks) or done (only completed ones today); tasks without a
    channel by their kind. Also the open tasks nothing will complete by itself (a follow-up
    without a channel): the row offers "Done" for those."""
    by_channel: dict[str, list[Task]] = defaultdict(list)
    manual = []
    for task in tasks:
        by_channel[task.channel or task.kind].append(task)
        if task.is_open and not task.channel and task.kind != TaskKind.KEEP_IN_TOUCH:
            manual.append(task.pk)
    chips = []
    keys = [key for key, _ in CHANNELS] + [key for key in by_channel if key not in dict(CHANNELS)]
    for key in keys:
        group = by_channel.get(key)
        if not group:
            continue
        label = dict(CHANNELS).get(key) or KIND_WORDS.get(key, "Follow up")
        open_ = [t for t in group if t.is_open]
        if open_:
            first = min(t.due_at for t in open_)
            late = first <= now
            when = overdue_text(now - first) if late else f"due {_time(first, tz)}"
            chips.append(Chip(label, "overdue" if late else "due", f"{label}: {when}"))
        else:
            chips.append(Chip(label, "done", f"{label}: done today"))
    return chips, manual


def _time(at: dt.datetime, tz) -> str:
    """4:30 PM in the store's zone (as the date filter's "g:i A", a hundred times cheaper)."""
    local = at.astimezone(tz)
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"


def overdue_text(late: dt.timedelta) -> str:
    """"overdue 35 min", "overdue 2 h", "overdue 3 d": how late, at a glance."""
    minutes = max(0, int(late.total_seconds() // 60))
    if minutes < 60:
        return f"overdue {max(minutes, 1)} min"
    if minutes < 24 * 60:
        return f"overdue {minutes // 60} h"
    return f"overdue {minutes // (24 * 60)} d"


def clock_text(elapsed: dt.timedelta) -> str:
    """A response clock as static/js/today.js shows it: 6:04, then 1 h 12 min, then 2 d 3 h."""
    seconds = max(0, int(elapsed.total_seconds()))
    minutes, hours_, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return f"{days} d {hours_ % 24} h"
    if hours_:
        return f"{hours_} h {minutes % 60} min"
    return f"{minutes}:{seconds % 60:02d}"


def _today_bounds(staff: Staff, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    day = timezone.localtime(now, staff.store.tz).date()
    return metrics.day_bounds(staff.store, day, day)


def waiting_leads(staff: Staff):
    """(id, received_at, breach_at, clock_started_at) of the staff member's new leads with no attempt
    yet, unordered. Walked from the partial index of exactly those (lead_owner_waiting, which covers
    the query), so it costs what waits, not the owner's history. The events and the routing row
    confirm it for the few rows found; which of them the user may see is decided by leads_for."""
    attempted = ContactEvent.objects.filter(
        is_attempt=True, customer_id=OuterRef("customer_id"), occurred_at__gte=OuterRef("received_at")
    )
    return (
        Lead.objects.filter(store_id=staff.store_id, owner=staff, status=LeadStatus.NEW, duplicate_of__isnull=True,
                            attempted_at__isnull=True, routing__first_attempt_at__isnull=True)
        .exclude(Exists(attempted))
        .order_by()
        .values_list("pk", "received_at", "routing__breach_at", "routing__clock_started_at")
    )


def queue_for(user, staff: Staff, now: dt.datetime | None = None) -> Queue:
    """The page's sections for one salesperson (coverage comes next, from coverage_for), in a
    fixed number of queries for any number of rows: new lead ids, tasks, appointments, the leads
    with their customers and routing, phones, emails and vehicles, and today's activity."""
    now = now or timezone.now()
    store = staff.store
    start, end = _today_bounds(staff, now)

    # A weekend nobody called can leave hundreds: the page lists the NEW_ROWS most urgent (the
    # order of the section below: the response deadline, else when the clock or the lead started)
    # and says how many wait in all.
    waiting = list(waiting_leads(staff))
    waiting.sort(key=lambda row: (row[2] or row[3] or row[1], row[1], row[0]))
    new_ids = [row[0] for row in waiting[:NEW_ROWS]]
    tasks = list(
        Task.objects.filter(staff=staff, store_id=store.pk, due_at__lt=end)
        .filter(Q(completed_at__isnull=True, canceled_at__isnull=True) | Q(completed_at__gte=start))
        .select_related("customer")
        .only("customer_id", "lead_id", "kind", "channel", "step_day", "reason", "due_at", "completed_at", "canceled_at",
              "customer__first_name", "customer__last_name")
        .order_by("due_at", "pk")
    )
    appointments = list(
        Appointment.objects.filter(staff=staff, store_id=store.pk, starts_at__gte=start, starts_at__lt=end)
        .order_by("starts_at", "pk")
    )

    tasks_by_customer: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        tasks_by_customer[task.customer_id].append(task)
    leadless_customers = {t.customer_id for t in tasks if t.lead_id is None}
    wanted = set(new_ids) | {t.lead_id for t in tasks if t.lead_id} | {a.lead_id for a in appointments}
    leads = {
        lead.pk: lead
        for lead in leads_for(user)
        .filter(Q(pk__in=wanted) | Q(customer_id__in=leadless_customers, owner=staff, status__in=OPEN_STATUSES))
        .select_related("customer", "routing")
        .defer("original_document", "comments", "customer__created_at")
        .order_by("-received_at", "-pk")
    }
    newest_open_by_customer: dict[int, Lead] = {}
    for lead in leads.values():  # newest first
        if lead.is_open and lead.owner_id == staff.pk:
            newest_open_by_customer.setdefault(lead.customer_id, lead)

    # 1. New leads, the most urgent first.
    new_rows = []
    for lead_id in new_ids:
        lead = leads.get(lead_id)
        if lead is None:
            continue
        routing = getattr(lead, "routing", None)
        since = (routing.clock_started_at if routing else None) or lead.received_at
        breach_at = routing.breach_at if routing and routing.breach_at else business_deadline(
            store, since, store.response_limit_minutes)
        chips, manual = _chips(tasks_by_customer.get(lead.customer_id, []), now, store.tz)
        new_rows.append(Row(
            key=f"new-{lead.pk}", section="new", customer=lead.customer, lead=lead, chips=chips,
            manual_task_ids=manual,
            clock=Clock(since=since, breach_at=breach_at, moves_at=routing.response_due_at if routing else None,
                        elapsed=clock_text(now - since), late=breach_at is not None and now >= breach_at),
        ))
    new_rows.sort(key=lambda r: (r.clock.breach_at or r.clock.since, r.lead.received_at))
    new_customers = {row.customer.pk for row in new_rows}

    # 2. Follow-ups due: one row per customer with an open task (new leads' customers are above).
    task_rows = []
    for customer_id, group in tasks_by_customer.items():
        open_ = [t for t in group if t.is_open]
        if not open_ or customer_id in new_customers:
            continue
        lead_ids = [t.lead_id for t in open_ if t.lead_id]
        lead = next((leads[i] for i in lead_ids if i in leads), None)
        if lead is None and lead_ids:
            continue  # the lead is no longer this salesperson's to see
        lead = lead or newest_open_by_customer.get(customer_id)
        customer = lead.customer if lead else group[0].customer
        first = min(open_, key=lambda t: t.due_at)
        chips, manual = _chips(group, now, store.tz)
        task_rows.append(Row(
            key=f"task-{customer_id}", section="task", customer=customer, lead=lead, chips=chips, reason=_reason(open_),
            due_at=first.due_at, due_text=_time(first.due_at, store.tz),
            overdue=overdue_text(now - first.due_at) if first.due_at <= now else "",
            manual_task_ids=manual,
        ))
    task_rows.sort(key=lambda r: (r.due_at, r.customer.pk))

    # 4. Today's appointments (3, coverage, is loaded next: coverage_for).
    appointment_rows = []
    for appointment in appointments:
        lead = leads.get(appointment.lead_id)
        if lead is None:
            continue
        appointment_rows.append(Row(
            key=f"appt-{appointment.pk}", section="appointment", customer=lead.customer, lead=lead,
            appointment=appointment, due_at=appointment.starts_at,
        ))

    _contact_details([*new_rows, *task_rows, *appointment_rows])
    today = timezone.localtime(now, store.tz).date()
    return Queue(
        now=now, new=new_rows, new_waiting=len(waiting), tasks=task_rows, coverage=None, has_coverage_policy=None, appointments=appointment_rows,
        flagged=[], activity=_activity_today(staff, today, start, end), call_target=store.daily_call_target,
    )


def coverage_for(user, staff: Staff, listed: set[int], now: dt.datetime | None = None) -> Queue:
    """Section 3: the salesperson's customers whose coverage ends in the next 24 hours (dealcoverage.live,
    five queries), soonest first. A customer the page already lists (`listed`: customer ids of the
    new-lead and follow-up rows) is flagged on that row rather than listed twice."""
    now = now or timezone.now()
    store = staff.store
    today = timezone.localtime(now, store.tz).date()
    has_policy, ending = coverage_ending(user, staff, hours=COVERAGE_HOURS, now=now)
    rows, flagged = [], []
    for soon in ending:
        local = timezone.localtime(soon.covered_until, store.tz)
        row = Row(key=f"cov-{soon.lead.pk}", section="coverage", customer=soon.lead.customer, lead=soon.lead,
                  ending=soon, until=dateformat.format(local, "g:i A" if local.date() == today else "D g:i A"))
        (flagged if soon.lead.customer_id in listed else rows).append(row)
    lapses = lapse_outcomes([row.lead.pk for row in rows])
    for row in rows:
        row.lapse = lapses.get(row.lead.pk, "")
    _contact_details(rows)
    return Queue(
        now=now, new=[], new_waiting=0, tasks=[], coverage=rows, has_coverage_policy=has_policy, appointments=[], flagged=flagged,
        activity=metrics.Activity(), call_target=store.daily_call_target,
    )


def _activity_today(staff: Staff, today: dt.date, start: dt.datetime, end: dt.datetime) -> metrics.Activity | None:
    """Today's calls, texts and emails (telephony.metrics, one heavy aggregate), cached under a key
    that changes with every event of the staff member's today: exact, and a refresh after nothing
    happened costs one cheap query."""
    seen = ContactEvent.objects.filter(staff=staff, occurred_at__gte=start, occurred_at__lt=end).aggregate(
        last=Max("id"), n=Count("id")
    )
    key = f"today:activity:{staff.pk}:{today.isoformat()}:{seen['last']}:{seen['n']}"
    activity = cache.get(key)
    if activity is None:
        activity = next(iter(metrics.staff_period(staff.store, today, today, staff_ids=[staff.pk])), None)
        activity = activity or metrics.Activity()
        cache.set(key, activity, timeout=15 * 60)
    return activity


def _contact_details(rows: list[Row]) -> None:
    """Each row's links, first phone, email on file and vehicle: three queries for all rows (plain
    dictionaries: a prefetch would build a related manager per lead)."""
    rows = [row for row in rows if row.lead is not None]
    lead_ids = {row.lead.pk for row in rows}
    customer_ids = {row.lead.customer_id for row in rows}
    phones: dict[int, Phone] = {}
    numbers = CustomerPhone.objects.filter(customer_id__in=customer_ids).order_by("-pk")
    for customer_id, pk, number in numbers.values_list("customer_id", "pk", "number"):  # raw E.164: parsing is slow
        phones[customer_id] = Phone(pk, number)  # the first one wins: ordered last to first
    with_email = set(
        CustomerEmail.objects.filter(customer_id__in=customer_ids).values_list("customer_id", flat=True).distinct()
    )
    vehicles: dict[int, str] = {}
    for vehicle in LeadVehicle.objects.filter(lead_id__in=lead_ids).exclude(interest="trade-in").order_by("-id"):
        condition = f"{vehicle.get_condition_display()} " if vehicle.condition else ""
        vehicles[vehicle.lead_id] = f"{condition}{vehicle}"
    urls = _Urls()
    for row in rows:
        row.urls = urls.for_lead(row.lead.pk)
        row.phone = phones.get(row.lead.customer_id)
        row.has_email = row.lead.customer_id in with_email
        row.vehicle = vehicles.get(row.lead.pk, "")


def _reason(tasks: list[Task]) -> str:
    """What the row is about: a hand-made task's own words first, else the cadence day."""
    for task in tasks:
        if task.kind != TaskKind.CADENCE:
            return task.reason
    days = sorted({t.step_day for t in tasks if t.step_day is not None})
    if not days:
        return tasks[0].reason
    if len(days) == 1:
        return f"New-lead cadence, day {days[0] + 1}"
    return f"New-lead cadence, days {days[0] + 1}–{days[-1] + 1}"


def _call_setup(staff: Staff) -> dict:
    """Whether the row's Call button rings the agent through a dealer number (recorded) or is a
    plain tel: link, as on the lead page (one query)."""
    if calls.agent_phone_for(staff) is None:
        return {"call_via_dealer": False,
                "call_fallback": "Add your desk or cell phone to call through the dealer number (recorded)"}
    if calls.dealer_number_for(staff) is None:
        return {"call_via_dealer": False, "call_fallback": "The store has no dealer number yet: dials from your phone"}
    return {"call_via_dealer": True, "call_fallback": ""}


def _queue_context(request, staff: Staff) -> dict:
    queue = queue_for(request.user, staff)
    return {"queue": queue, "staff": staff, "local_now": timezone.localtime(queue.now, staff.store.tz),
            "tasks_done_url": reverse("leads_today:tasks_done"), **_call_setup(staff)}


def _queue_response(request, staff: Staff, status: int = 200) -> HttpResponse:
    return render(request, "leads/_today_queue.html", {**_queue_context(request, staff), "oob_flash": True},
                  status=status)


@login_required
@require_GET
def today(request):
    staff = _salesperson(request.user)
    if staff is None:
        # Managers, the director, the receptionist and admins work from the lists and boards.
        return redirect("leads:list")
    if request.htmx and request.htmx.target == "queue":
        return _queue_response(request, staff)
    return render(request, "leads/today.html", _queue_context(request, staff))


@login_required
@require_GET
def coverage_section(request):
    """The "Coverage ending" section, judged after the page shows (it weighs every event of the
    salesperson's book), with the rows above that it flags and the count at the top, swapped in out
    of band. ?listed= names the customers the page lists (the page's own rows); without it they are
    worked out again."""
    staff = _salesperson(request.user)
    if staff is None:
        raise Http404("Only salespeople have a queue.")
    raw = request.GET.get("listed")
    if raw is None:
        queue = queue_for(request.user, staff)
        listed = {row.customer.pk for row in [*queue.new, *queue.tasks]}
    else:
        listed = {int(part) for part in raw.split(",")[:MAX_LISTED] if part.isdigit()}
    queue = coverage_for(request.user, staff, listed)
    return render(request, "leads/_today_coverage_answer.html", {"queue": queue, "staff": staff, **_call_setup(staff)})


# --- the work panel: text, email, log, set appointment -------------------------------------------


@login_required
@require_GET
def work(request, pk: int):
    """One lead's actions for the queue's side panel: the lead page's text and email forms and
    log form (with the timeline), and the set-appointment form."""
    lead = get_object_or_404(leads_for(request.user).select_related("customer", "store", "owner__user"), pk=pk)
    do = request.GET.get("do", "")
    context = {
        "lead": lead,
        "do": do if do in WORK_ACTIONS else "text",
        "phones": list(lead.customer.phones.order_by("pk")),
        "emails": list(lead.customer.emails.order_by("pk")),
        "vehicles": list(lead.vehicles.all()),
        "can_work": can_work_lead(request.user, lead),
        "log_form": LogContactForm(),
        "timeline": lead_timeline(lead, request.user),
        "appointment_next": reverse("leads_today:today"),
        **appointment_context(lead),
    }
    return render(request, "leads/_today_work.html", context)


# --- set appointment -----------------------------------------------------------------------------

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


class AppointmentForm(forms.Form):
    """When is read in the store's zone (the view parses it under timezone.override)."""

    starts_at = forms.DateTimeField(
        label="When", input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        error_messages={"required": "Pick a date and time.", "invalid": "Give a date and a time, like 2026-11-24 10:30."},
    )
    note = forms.CharField(max_length=300, required=False, label="Note",
                           widget=forms.TextInput(attrs={"placeholder": "Test drive the Highlander, bring trade title"}))
    outside_hours_ok = forms.BooleanField(required=False, label="Set it anyway, outside store hours")


def _suggested_start(lead: Lead, now: dt.datetime) -> str:
    """The next whole hour at least an hour away that the store is open, as the form's starting value."""
    store = lead.store
    local = timezone.localtime(now + dt.timedelta(hours=1), store.tz)
    at = local.replace(minute=0, second=0, microsecond=0) + (dt.timedelta(hours=1) if local.minute else dt.timedelta())
    opens = hours.next_open(store.business_hours, store.tz, at) or at
    return timezone.localtime(opens, store.tz).strftime(LOCAL_INPUT)


def appointment_context(lead: Lead, form: AppointmentForm | None = None, *, notice: str = "") -> dict:
    """What templates/leads/_appointment_form.html needs; another page including the form calls this."""
    now = timezone.now()
    if form is None:
        form = AppointmentForm(initial={"starts_at": _suggested_start(lead, now)})
    errors = form.errors.get("starts_at", []) if form.is_bound else []
    return {
        "appointment_form": form,
        "appointment_notice": notice,
        "appointment_min": timezone.localtime(now, lead.store.tz).strftime(LOCAL_INPUT),
        "appointment_confirm": any("outside store hours" in str(e) for e in errors)
        or (form.is_bound and bool(form.data.get("outside_hours_ok"))),
        "appointment_zone": timezone.localtime(now, lead.store.tz).strftime("%Z"),
    }


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@login_required
@require_POST
def appointment_set(request, pk: int):
    """Set an appointment on a lead (followup.appointments.appointment_set). A time in the past, or
    outside store hours without "set it anyway", is a form error (422); another store's lead 404."""
    lead = get_object_or_404(leads_for(request.user).select_related("customer", "store", "owner__user"), pk=pk)
    staff = viewer_for(request.user).staff
    form = AppointmentForm(request.POST)
    with timezone.override(lead.store.tz):
        valid = form.is_valid()
    appointment = None
    refused = staff is None or not lead_permissions.can_create_appointment(request.user, lead)
    if valid:
        if refused:
            form.add_error(None, lead_permissions.APPOINTMENT_SET_REFUSED)
        else:
            try:
                appointment = appointment_services.appointment_set(
                    lead=lead, starts_at=form.cleaned_data["starts_at"], by=staff, note=form.cleaned_data["note"],
                    outside_hours_ok=form.cleaned_data["outside_hours_ok"],
                )
            except ValidationError as exc:
                _add_errors(form, exc)
    notice = ""
    if appointment is not None:
        with_whom = "" if appointment.staff_id == getattr(staff, "pk", None) else f" with {appointment.staff.display_name}"
        late = " (outside store hours)" if appointment.outside_hours else ""
        notice = f"Appointment set: {appointment_services.when_text(appointment)}{with_whom}{late}."
    if request.htmx:
        context = {"lead": lead, **appointment_context(lead, None if appointment else form, notice=notice)}
        response = render(request, "leads/_appointment_form.html", context,
                          status=200 if appointment else 403 if refused else 422)
        if appointment is not None:
            response["HX-Trigger"] = "queue-changed"
        return response
    if appointment is not None:
        messages.success(request, notice)
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            back = reverse("leads_today:today") if _salesperson(request.user) else reverse("leads:detail", args=[lead.pk])
        return redirect(back)
    context = {"lead": lead, "appointment_next": request.POST.get("next", ""), **appointment_context(lead, form)}
    return render(request, "leads/_today_appointment_page.html", context, status=403 if refused else 422)


# --- small queue actions -------------------------------------------------------------------------


@login_required
@require_POST
def tasks_done(request):
    """Mark done the row's tasks nothing completes by itself (a follow-up with no channel)."""
    staff = _salesperson(request.user)
    if staff is None:
        raise Http404("Only salespeople have a queue.")
    ids = [int(raw) for raw in request.POST.getlist("task") if raw.isdigit()]
    tasks = list(Task.objects.filter(staff=staff, pk__in=ids))
    if not tasks:
        raise Http404("No such task of yours.")
    done = 0
    for task in tasks:
        try:
            followup.task_complete(task=task, by=staff)
            done += 1
        except ValidationError:
            continue  # done or canceled meanwhile
    messages.success(request, f"Marked {done} task{'s' if done != 1 else ''} done." if done else "Already done.")
    if request.htmx:
        return _queue_response(request, staff)
    return redirect("leads_today:today")


@login_required
@require_POST
def appointment_status(request, pk: int, action: str):
    """Confirm an appointment, or mark it a no-show once its time has passed."""
    staff = _salesperson(request.user)
    if staff is None:
        raise Http404("Only salespeople have a queue.")
    appointment = get_object_or_404(
        Appointment.objects.filter(staff=staff, lead__in=leads_for(request.user)).select_related("customer"), pk=pk
    )
    try:
        if action == "confirm":
            appointment_services.appointment_confirm(appointment=appointment, by=staff)
            messages.success(request, f"{appointment.customer} confirmed.")
        else:
            appointment_services.appointment_no_show(appointment=appointment, by=staff)
            messages.success(request, f"{appointment.customer} marked a no-show: a call task to reschedule is on your list.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if request.htmx:
        return _queue_response(request, staff)
    return redirect("leads_today:today")

