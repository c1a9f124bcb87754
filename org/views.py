"""Schedules in the browser: the week of every salesperson of a store, who is on the floor now
and who comes in next, and one person's week and time off.

Everyone on a store's staff sees its schedule. Directors and admins change anyone's; a sales
manager changes the people of the teams they manage. Staff of a store the viewer does not see
answer 404. Writes go through org.schedules."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from org import schedules, signin
from org.models import SALES_ROLES, WEEKDAYS, Staff, TimeOff
from org.scoping import Viewer, can_edit_schedule, page_store, schedules_editable, stores_for, viewer_for

DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _person(request, pk: int) -> tuple[Viewer, Staff]:
    """A person of a store the viewer sees (else 404) whose schedule the viewer may change (else 403)."""
    viewer = viewer_for(request.user)
    person = get_object_or_404(
        Staff.objects.select_related("user", "store", "team").prefetch_related("shifts", "time_off")
        .filter(store__in=stores_for(request.user)),
        pk=pk,
    )
    if not can_edit_schedule(request.user, person):
        raise PermissionDenied("Only the store's director, admins and the person's sales manager change a schedule.")
    return viewer, person


def _week_url(person: Staff) -> str:
    return f"{reverse('org_schedules:week')}?store={person.store_id}"


@login_required
@require_http_methods(["GET"])
def week(request):
    viewer = viewer_for(request.user)
    store = page_store(request, viewer)
    people = list(
        Staff.objects.filter(store=store, is_active=True, role__in=list(SALES_ROLES))
        .select_related("user", "team")
        .prefetch_related("shifts", "time_off")
        .order_by("pk")
    )
    now = timezone.now()
    today = timezone.localtime(now, store.tz).date()
    dates = [today + dt.timedelta(days=d - today.weekday()) for d in range(7)]  # this week, Monday first
    where = {w.staff.pk: w for w in schedules.whereabouts(people, store=store, now=now)}
    can_edit = schedules_editable(request.user, people)
    # A manager's own people first (theirs to change), then by team and name.
    people.sort(key=lambda p: (p.pk not in can_edit, p.team.name.lower() if p.team else "~", p.display_name.lower()))
    # Managers see which of their people can't sign in and unlock them here (org.signin).
    lockouts = signin.lockouts_for([p for p in people if p.pk in can_edit], now=now)
    rows = []
    for person in people:
        week_spans = schedules.week_of(person)
        rows.append({
            "person": person,
            "days": [
                {"label": DAY_NAMES[d][:3], "text": schedules.day_text(week_spans[d]) if week_spans[d] else "",
                 "today": d == today.weekday(),
                 "time_off": any(off.first_day <= dates[d] <= off.last_day for off in person.time_off.all())}
                for d in range(7)
            ],
            "where": where[person.pk],
            "time_off": [off for off in person.time_off.all() if off.last_day >= today],
            "can_edit": person.pk in can_edit,
            "lockout": lockouts.get(person.pk),
        })
    floor = sorted(where.values(), key=lambda w: (not w.on_now, w.next_start or dt.datetime.max.replace(tzinfo=dt.UTC)))
    return render(request, "org/schedule_week.html", {
        "store": store, "stores": list(stores_for(request.user).order_by("name")), "rows": rows,
        "on_now": [w for w in floor if w.on_now], "coming": [w for w in floor if not w.on_now and w.next_start][:5],
        "columns": [{"name": DAY_NAMES[d][:3], "date": dates[d], "today": dates[d] == today} for d in range(7)],
    })


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    _, person = _person(request, pk)
    errors: dict[str, str] = {}
    if request.method == "POST":
        typed = {d: request.POST.get(WEEKDAYS[d], "") for d in range(7)}
        try:
            schedules.week_save(staff=person, days=typed)
        except ValidationError as exc:
            errors = {key: " ".join(value) for key, value in exc.message_dict.items()}
        else:
            messages.success(request, f"{person.display_name}'s week is saved.")
            return redirect(_week_url(person))
    else:
        spans = schedules.week_of(person)
        typed = {d: schedules.day_text(spans[d]) for d in range(7)}
    days = [
        {"key": WEEKDAYS[d], "name": DAY_NAMES[d], "value": typed[d], "error": errors.get(WEEKDAYS[d], "")}
        for d in range(7)
    ]
    today = timezone.localtime(timezone.now(), person.store.tz).date()
    return render(request, "org/schedule_edit.html", {
        "person": person, "days": days, "has_errors": bool(errors),
        "time_off": [off for off in person.time_off.all() if off.last_day >= today],
        "today": today,
    }, status=422 if errors else 200)


def _date(text: str, field: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError({field: f"“{text}” is not a date (YYYY-MM-DD)."}) from None


@login_required
@require_POST
def time_off_add(request, pk: int):
    _, person = _person(request, pk)
    try:
        first_day = _date(request.POST.get("first_day", "").strip(), "first_day")
        if first_day is None:
            raise ValidationError({"first_day": "Choose the first day off."})
        last_day = _date(request.POST.get("last_day", "").strip(), "last_day")
        off = schedules.time_off_add(staff=person, first_day=first_day, last_day=last_day,
                                     reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        for value in exc.message_dict.values():
            messages.error(request, " ".join(value))
        return redirect(reverse("org_schedules:edit", args=[person.pk]) + "#time-off")
    days = f"{off.first_day:%a %-d %b}" + (f" to {off.last_day:%a %-d %b}" if off.last_day != off.first_day else "")
    messages.success(request, f"Time off added for {person.display_name}: {days}.")
    return redirect(reverse("org_schedules:edit", args=[person.pk]) + "#time-off")


@login_required
@require_POST
def time_off_remove(request, pk: int, off_pk: int):
    _, person = _person(request, pk)
    off = get_object_or_404(TimeOff, pk=off_pk, staff=person)
    schedules.time_off_remove(time_off=off)
    messages.success(request, "Time off removed.")
    return redirect(reverse("org_schedules:edit", args=[person.pk]) + "#time-off")


@login_required
@require_POST
def signin_unlock(request, pk: int):
    _, person = _person(request, pk)
    signin.staff_unlock(staff=person, by=request.user)
    messages.success(request, f"{person.display_name} can sign in again.")
    return redirect(_week_url(person) + f"#staff-{person.pk}")
