"""Browser pages around distribution: the manager queue, assign / next in line / release from a
lead, the notifications bell and list, and the salesperson's "available now" switch.

Thin: scope through org.scoping, validate the input, call distribution.services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import InvalidPage
from django.db.models import F, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from common.pagination import paginate_without_count
from distribution import pools, services
from distribution.models import LeadRouting, Notification, RoutingRule, RoutingState, open_breach_q
from distribution.scoping import manager_queue_for, may_use_queue
from distribution.strategies.base import skip_reason
from leads import lead_page
from leads.models import OPEN_STATUSES, Lead, LeadAssignment
from leads.scoping import leads_for
from org import hours
from org.models import SALES_ROLES, Staff
from org.scoping import can_assign_leads, staff_for, viewer_for

NEXT_IN_LINE = "next"
QUEUE_LIMIT = 200
BREACH_ROWS = 50
BREACH_COUNT_CAP = 1000
NOTIFICATION_LIMIT = 100


# --- who a lead may be given to ------------------------------------------------------------------

@dataclass
class Choice:
    staff_id: int
    name: str
    note: str  # "" when they can take a lead now, else why not ("off shift", "at cap (3 open new leads)")


def _rule_choices(rule: RoutingRule, now: dt.datetime) -> list[Choice]:
    """The rule's pool, each with why they could not be given a lead by the rotation now."""
    ctx = pools.context(rule, now=now)
    choices = [Choice(m.staff_id, m.name, skip_reason(m, ctx) or "") for m in ctx.members]
    return sorted(choices, key=lambda c: (c.note != "", c.name))


def _store_choices(store_id: int) -> list[Choice]:
    """A lead no rule took may go to any active salesperson of its store."""
    people = (
        Staff.objects.filter(store_id=store_id, is_active=True, role__in=list(SALES_ROLES))
        .select_related("user")
        .order_by("user__first_name", "user__last_name")
    )
    return [Choice(p.pk, p.display_name, "" if p.available else "unavailable") for p in people]


def choices_for(leads, now: dt.datetime) -> dict:
    """Choices per (store, rule) for a list of leads with routing__rule loaded: a few queries per
    distinct rule, none per lead."""
    found: dict = {}
    for lead in leads:
        routing = getattr(lead, "routing", None)
        rule = routing.rule if routing is not None else None
        key = ("rule", rule.pk) if rule is not None else ("store", lead.store_id)
        if key not in found:
            found[key] = _rule_choices(rule, now) if rule is not None else _store_choices(lead.store_id)
        lead.choices = found[key]
        lead.has_line = rule is not None  # "next in line" takes the rule's rotation
    return found


def options_for(leads) -> None:
    """Each lead's <option>s for its assign form (lead.options), built once per list of choices and
    owner rather than by the template row by row: 200 breaches of one rule share them."""
    built: dict = {}
    for lead in leads:
        key = (id(lead.choices), lead.owner_id)
        if key not in built:
            built[key] = format_html_join("", '<option value="{}">{}{}</option>', (
                (person.staff_id, person.name, f" — {person.note}" if person.note else "")
                for person in lead.choices if person.staff_id != lead.owner_id
            ))
        lead.options = built[key]


def lead_choices(lead: Lead, now: dt.datetime | None = None) -> list[Choice]:
    choices_for([lead], now or timezone.now())
    return lead.choices


# --- manager queue -------------------------------------------------------------------------------

def _late(lead: Lead, now: dt.datetime) -> float:
    store = lead.store
    until = lead.routing.first_attempt_at or now  # a late first attempt was late by this much
    return round(hours.business_minutes_between(store.business_hours, store.tz, lead.routing.breach_at, until))


@login_required
@require_GET
def queue(request, status: int = 200):
    viewer = viewer_for(request.user)
    if not may_use_queue(viewer):
        raise PermissionDenied("The queue is for sales managers, the internet director and admins.")
    now = timezone.now()
    base = (
        leads_for(request.user)
        .filter(status__in=OPEN_STATUSES, routing__isnull=False)
        .select_related("customer", "store", "owner__user", "routing__rule")
        .defer("original_document", "comments")  # the rows never show them: up to 450 leads a page
        .prefetch_related("vehicles")
    )
    # The manager's own queue (org.scoping decides whose it is, as pools.managers_of does for the
    # notifications); breaches are every open lead the viewer sees.
    unowned = base.filter(pk__in=manager_queue_for(request.user).values("pk")).prefetch_related(
        Prefetch("assignments", queryset=LeadAssignment.objects.order_by("assigned_at", "id"), to_attr="history")
    )
    manager = list(unowned.filter(routing__state=RoutingState.MANAGER).order_by("routing__queued_at", "pk")[:QUEUE_LIMIT])
    waiting = list(
        unowned.filter(routing__state=RoutingState.WAITING).order_by(F("routing_due_at").asc(nulls_last=True), "pk")[:QUEUE_LIMIT]
    )
    # Breaches can run to thousands in a big store: a page of BREACH_ROWS, most overdue first,
    # under the count of them all (?breaches=N pages on; never a COUNT of the whole store's leads:
    # the open-breach index counts only these).
    open_breaches = base.filter(open_breach_q(now, prefix="routing__")).exclude(pk__in=[lead.pk for lead in manager + waiting])
    try:
        breach_page = paginate_without_count(
            open_breaches.order_by("routing__breach_at", "pk"), request.GET.get("breaches"), BREACH_ROWS
        )
    except InvalidPage:
        raise Http404("No such page of breaches.") from None
    breaches = list(breach_page)
    breach_count = len(breaches)
    if breach_page.has_next or breach_page.has_previous:  # counted up to BREACH_COUNT_CAP ("1000+")
        counted = open_breaches.order_by().values("pk")[:BREACH_COUNT_CAP + 1].count()
        breach_count = f"{BREACH_COUNT_CAP:,}+" if counted > BREACH_COUNT_CAP else counted
    for lead in manager:
        lead.late_minutes = None
    for lead in breaches + [lead for lead in manager if lead.routing.breached]:
        lead.late_minutes = _late(lead, now)
    for lead in manager + waiting:
        for row in lead.history[-1:]:
            row.skipped_text = skipped_text(row.skipped)
    choices_for(manager + waiting + breaches, now)
    options_for(manager + waiting + breaches)
    context = {
        "manager_leads": manager,
        "waiting_leads": waiting,
        "breaches": breaches,
        "breach_page": breach_page,
        "breach_count": breach_count,
        "now": now,
        "many_stores": viewer.everything or viewer.is_group_admin,
        "next_in_line": NEXT_IN_LINE,
        "tz_name": viewer.staff.store.time_zone if viewer.staff else settings.TIME_ZONE,
    }
    return render(request, "distribution/queue.html", context, status=status)


# --- assign, next in line, release -------------------------------------------------------------

def _back(request, pk: int, status: int):
    """Show the page the form was on again, with the message, and this status."""
    if request.POST.get("back") == "queue" and may_use_queue(viewer_for(request.user)):
        request.method = "GET"
        return queue(request, status=status)
    request.method = "GET"
    return lead_page.render_lead_page(request, pk, status=status)


def _done(request, pk: int):
    if request.POST.get("back") == "queue":
        return redirect("distribution_queue:queue")
    if leads_for(request.user).filter(pk=pk).exists():
        return redirect("leads:detail", pk=pk)
    return redirect("leads:list")


@login_required
@require_POST
def lead_assign(request, pk: int):
    """Give the lead to a named person of its pool, or (to=next) to the next in line."""
    viewer = viewer_for(request.user)
    lead = get_object_or_404(leads_for(request.user).select_related("store", "routing__rule"), pk=pk)
    if not can_assign_leads(request.user):
        messages.error(request, "Only managers, the director, admins and the receptionist assign leads.")
        return _back(request, pk, 403)
    wanted = request.POST.get("to", "").strip()
    if wanted == NEXT_IN_LINE:
        if not may_use_queue(viewer):
            messages.error(request, "Only managers, the director and admins send a lead to the next in line.")
            return _back(request, pk, 403)
        to_staff = None
    else:
        to_staff = staff_for(request.user).select_related("user").filter(pk=int(wanted)).first() if wanted.isdigit() else None
        if to_staff is None:
            messages.error(request, "Pick the salesperson to give this lead to.")
            return _back(request, pk, 400)
    try:
        lead = services.lead_reassign(lead=lead, to_staff=to_staff, by=viewer.staff,
                                      reason=request.POST.get("reason", "").strip()[:300])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(request, pk, 400)
    owner = Staff.objects.select_related("user").filter(pk=lead.owner_id).first()
    if owner is not None:
        messages.success(request, f"{lead.customer} is now {owner.display_name}'s lead.")
    else:
        messages.info(request, f"{lead.customer} is waiting: nobody in the pool can take it now.")
    return _done(request, pk)


@login_required
@require_POST
def lead_release(request, pk: int):
    """The owner gives a lead up; it goes where its rule sends new leads, not back to them."""
    viewer = viewer_for(request.user)
    lead = get_object_or_404(leads_for(request.user).select_related("store"), pk=pk)
    if viewer.staff is None or lead.owner_id != viewer.staff.pk:
        messages.error(request, "Only the lead's owner can release it; a manager reassigns it instead.")
        return _back(request, pk, 403)
    try:
        services.lead_release(lead=lead, by=viewer.staff)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(request, pk, 400)
    routing = LeadRouting.objects.select_related("lead__owner__user").filter(lead_id=pk).first()
    new_owner = routing.lead.owner if routing is not None else None
    where = (
        f"it went to {new_owner.display_name}" if new_owner is not None
        else (routing.get_state_display().lower() if routing is not None else "it is unassigned")
    )
    messages.success(request, f"Released: {where}.")
    return _done(request, pk)


# --- notifications ---------------------------------------------------------------------------------

@require_GET
def bell(request):
    """The header bell's count. Polled every few seconds: one count query, and never a 4xx
    (an expired session must not flash an error on the page every 5 s)."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    staff = viewer_for(request.user).staff
    unread = Notification.objects.filter(staff=staff, read_at__isnull=True).count() if staff else 0
    return render(request, "distribution/_bell.html", {"unread": unread})


@login_required
@require_GET
def notifications(request):
    staff = viewer_for(request.user).staff
    notes = list(
        Notification.objects.filter(staff=staff).select_related("lead__customer")[:NOTIFICATION_LIMIT]
    ) if staff else []
    lead_ids = {n.lead_id for n in notes if n.lead_id}
    visible = set(leads_for(request.user).filter(pk__in=lead_ids).values_list("pk", flat=True)) if lead_ids else set()
    for note in notes:
        note.visible = note.lead_id in visible
    unread = sum(1 for n in notes if n.read_at is None)
    return render(request, "distribution/notifications.html", {"notes": notes, "unread": unread})


@login_required
@require_GET
def notification_open(request, pk: int):
    """Open a notification's lead and count it as read."""
    staff = viewer_for(request.user).staff
    note = get_object_or_404(Notification.objects.filter(staff=staff) if staff else Notification.objects.none(), pk=pk)
    services.notifications_read(staff=staff, ids=[note.pk])
    if note.lead_id and leads_for(request.user).filter(pk=note.lead_id).exists():
        return redirect("leads:detail", pk=note.lead_id)
    messages.info(request, "That lead is no longer yours to see (it moved on).")
    return redirect("distribution_queue:notifications")


@login_required
@require_POST
def notifications_read(request):
    staff = viewer_for(request.user).staff
    if staff is not None:
        count = services.notifications_read(staff=staff)
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read." if count else "Nothing unread.")
    return redirect("distribution_queue:notifications")


# --- available now ----------------------------------------------------------------------------------

@login_required
@require_POST
def available(request):
    """A salesperson's "available now" switch: available=1 / 0 (missing: flip)."""
    staff = viewer_for(request.user).staff
    if staff is None or staff.role not in SALES_ROLES:
        if request.htmx:
            return HttpResponse("Only salespeople have an availability switch.", status=403)
        raise PermissionDenied("Only salespeople have an availability switch.")
    wanted = request.POST.get("available")
    if wanted not in (None, "0", "1"):
        return HttpResponse("available must be 1 or 0.", status=400)
    value = (not staff.available) if wanted is None else wanted == "1"
    services.staff_available_set(staff, value)
    if request.htmx:
        return render(request, "distribution/_available.html", {"me": staff, "next_url": request.POST.get("next", "")})
    messages.success(request, "You are available: new leads come to you." if value else "You are away: no new leads come to you.")
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("leads:list")


def skipped_text(skipped: list | None) -> str:
    """Bob Agent (off shift), Cat Agent (at cap (3 open new leads))."""
    return ", ".join(f"{s.get('name', '?')} ({s.get('reason', '?')})" for s in skipped or [])
