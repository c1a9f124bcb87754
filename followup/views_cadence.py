"""A store's follow-up cadence in the browser: a grid of days (rows) and channels (call / text /
email), the keep-in-touch spacing and margin, the cadence in one plain sentence, and a preview of
when a lead arriving at a chosen moment (and a walk-in) would get each task.

Directors and admins edit (org.scoping.can_manage_store); sales managers read it and use the
preview; everybody else gets 403. Saving goes through followup.services.cadence_save, whose refusals
(no steps, a spacing not longer than the margin…) come back as form errors with nothing saved.
Day 1 on the page is the day the lead arrived: step day 0 for followup.services.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_http_methods, require_POST

from dealcoverage.selectors import policies_in_force
from followup import cadence as timing
from followup import services as followup
from leads.models import Cadence
from org.models import Role, Store
from org.scoping import Viewer, can_manage_store, page_store, stores_for, viewer_for

CHANNELS = ("call", "text", "email")
MAX_DAY = 61  # Day 61 on the page = 60 days after arrival, the last day followup.services allows.
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
DEFAULT_NAME = Cadence._meta.get_field("name").default
DEFAULT_MARGIN = Cadence._meta.get_field("keep_in_touch_margin_hours").default


# --------------------------------------------------------------------------------------
# Who may look, which store
# --------------------------------------------------------------------------------------


def _require_viewer(request) -> Viewer:
    """Directors, admins and sales managers see the cadence; salespeople and receptionists do not."""
    viewer = viewer_for(request.user)
    if not (viewer.is_store_wide or viewer.is_manager):
        raise PermissionDenied("Only directors, admins and sales managers see the follow-up cadence.")
    return viewer




def _page_url(store: Store) -> str:
    return f"{reverse('leads_cadence:edit')}?store={store.pk}"


# --------------------------------------------------------------------------------------
# The cadence in plain words
# --------------------------------------------------------------------------------------


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _channel_words(channels) -> str:
    return _join([followup.CHANNEL_WORDS[c].lower() for c in CHANNELS if c in channels])


def _days_words(days: list[int]) -> str:
    """Page day numbers as short ranges: [1, 2, 3, 5, 8] -> "days 1–3, 5 and 8"."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    items: list[str] = []
    for run in runs:
        items.extend([f"{run[0]}–{run[-1]}"] if len(run) > 2 else [str(day) for day in run])
    return f"day{'s' if len(days) > 1 else ''} {_join(items)}"


def hours_words(spacing: dt.timedelta) -> str:
    hours = spacing.total_seconds() / 3600
    return f"{hours:g} h"


def steps_words(steps: list[tuple[int, str]]) -> str:
    """ "Call, text and email every day for 5 days"; groups of days with the same channels are
    separated by semicolons, in the order of their first day."""
    by_day: dict[int, set[str]] = {}
    for day, channel in steps:
        by_day.setdefault(int(day), set()).add(channel)
    groups: dict[frozenset, list[int]] = {}
    for day in sorted(by_day):
        groups.setdefault(frozenset(by_day[day]), []).append(day + 1)
    parts = []
    for channels, days in groups.items():
        if len(days) > 1 and days == list(range(1, len(days) + 1)):
            when = f"every day for {len(days)} days"
        elif days == [1]:
            when = "on the day the lead arrives"
        else:
            when = f"on {_days_words(days)}"
        parts.append(f"{_channel_words(channels)} {when}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def cadence_summary(steps: list[tuple[int, str]], spacing: dt.timedelta) -> str:
    """The whole cadence in one sentence, as the page and the API show it."""
    if not steps:
        return "No steps: a new lead would get no follow-up tasks."
    return f"{steps_words(steps)} until a two-way contact, then a keep-in-touch task every {hours_words(spacing)}"


def _cadence_name(steps: list[tuple[int, str]]) -> str:
    if sorted(steps) == sorted(timing.DEFAULT_STEPS):
        return DEFAULT_NAME
    return f"New lead: {steps_words(steps)}"[:100]


# --------------------------------------------------------------------------------------
# The preview: when a lead arriving at a moment would get each task
# --------------------------------------------------------------------------------------


def _when(moment: dt.datetime, store: Store) -> str:
    return dateformat.format(timezone.localtime(moment, store.tz), "D M j, g:i A")


def _time(moment: dt.time) -> str:
    return dateformat.time_format(moment, "g:i A")


@dataclasses.dataclass
class PreviewRow:
    day: int  # the page's day number (1 = arrival day)
    channels: str  # "call/text/email"
    when: str
    note: str
    walk_in_when: str

    @property
    def channel_list(self) -> list[str]:
        return self.channels.split("/")


def cadence_preview(store: Store, steps: list[tuple[int, str]], arrival: dt.datetime) -> dict:
    """Each day's tasks for a lead arriving at `arrival` (due at the time of day it arrived) and
    for a walk-in (due at the store's busiest showroom hour), inside store hours."""
    tz, opening_hours = store.tz, store.business_hours
    wanted = timing.best_time(arrival, tz, walk_in=False, busiest_hour=0)
    busiest = followup.busiest_hour(store)

    def due(at_time: dt.time) -> dict[int, dt.datetime]:
        planned = timing.cadence_due(received_at=arrival, start=arrival, tz=tz, business_hours=opening_hours,
                                     steps=steps, wanted=at_time)
        return {item.day: item.due_at for item in planned}

    lead_due, walk_in_due = due(wanted), due(dt.time(busiest))
    arrival_day = timezone.localtime(arrival, tz).date()
    by_day: dict[int, set[str]] = {}
    for day, channel in steps:
        by_day.setdefault(day, set()).add(channel)
    rows = []
    for day in sorted(by_day):
        moment = lead_due[day]
        local = timezone.localtime(moment, tz)
        if day == 0:
            note = "now" if moment == arrival else "at the next opening"
        elif local.date() != arrival_day + dt.timedelta(days=day):
            note = "the store is closed that day: the next open day"
        elif (local.hour, local.minute) != (wanted.hour, wanted.minute):
            note = "moved inside store hours"
        else:
            note = ""
        rows.append(PreviewRow(
            day=day + 1, channels="/".join(c for c in CHANNELS if c in by_day[day]), when=_when(moment, store),
            note=note, walk_in_when=_when(walk_in_due[day], store),
        ))
    return {
        "arrival": _when(arrival, store), "rows": rows, "best_time": _time(wanted),
        "busiest_hour": _time(dt.time(busiest)), "zone": store.time_zone,
    }


# --------------------------------------------------------------------------------------
# The grid and the settings
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class GridRow:
    index: int
    day: str  # as typed: the page's day number
    channels: set[str]
    error: str = ""


class CadenceGrid:
    """The rows of the grid, read from the posted `day_<i>`, `call_<i>`, `text_<i>` and `email_<i>`
    fields (any indexes, so rows added or removed in the browser need no renumbering), or built
    from the saved steps. A row with nothing ticked is no step; cadence_save refuses a grid
    with no steps at all."""

    def __init__(self, data=None, *, steps: list[tuple[int, str]] | None = None):
        self.errors: list[str] = []
        self.rows: list[GridRow] = []
        if data is not None:
            indexes = sorted({int(m.group(1)) for key in data if (m := re.fullmatch(r"day_(\d{1,4})", key))})
            for index in indexes:
                picked = {c for c in CHANNELS if data.get(f"{c}_{index}")}
                self.rows.append(GridRow(index, data.get(f"day_{index}", "").strip(), picked))
        else:
            by_day: dict[int, set[str]] = {}
            for day, channel in steps or []:
                by_day.setdefault(day, set()).add(channel)
            self.rows = [GridRow(i, str(day + 1), chans) for i, (day, chans) in enumerate(sorted(by_day.items()))]

    def is_valid(self) -> bool:
        if len(self.rows) > MAX_DAY:
            self.errors.append(f"At most {MAX_DAY} day rows.")
        seen: dict[int, GridRow] = {}
        for row in self.rows:
            try:
                day = int(row.day)
            except ValueError:
                row.error = "Give the day as a number."
                continue
            if not 1 <= day <= MAX_DAY:
                row.error = f"Days run from Day 1 (the day the lead arrives) to Day {MAX_DAY} (60 days later)."
            elif day in seen:
                row.error = f"Day {day} is in the grid twice: tick its channels on one row."
            seen.setdefault(day, row)
        return not self.errors and not any(row.error for row in self.rows)

    def steps(self) -> list[tuple[int, str]]:
        """(step day, channel) pairs: page Day 1 is step day 0. Call after is_valid()."""
        return sorted({(int(row.day) - 1, c) for row in self.rows for c in row.channels})

    def add_row(self) -> None:
        days = [int(r.day) for r in self.rows if r.day.isdigit()]
        next_day = max(days, default=0) + 1
        if next_day > MAX_DAY:
            self.errors.append(f"Day {MAX_DAY} is the last day a cadence can reach.")
            return
        channels = set(self.rows[-1].channels) if self.rows and self.rows[-1].channels else {"call"}
        self.rows.append(GridRow(max((r.index for r in self.rows), default=-1) + 1, str(next_day), channels))

    def remove_row(self, index: str) -> None:
        self.rows = [row for row in self.rows if str(row.index) != index]

    def next_index(self) -> int:
        return max((r.index for r in self.rows), default=-1) + 1


class CadenceSettingsForm(forms.Form):
    keep_in_touch_every_hours = forms.IntegerField(
        label="Keep-in-touch every (hours)", required=False, min_value=1, max_value=24 * 60,
        widget=forms.NumberInput(attrs={"placeholder": "from coverage", "inputmode": "numeric"}),
    )
    keep_in_touch_margin_hours = forms.IntegerField(
        label="Margin (hours)", min_value=0, max_value=24 * 30, initial=DEFAULT_MARGIN,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="A keep-in-touch task falls due this long before coverage would lapse.",
    )


class PreviewAtForm(forms.Form):
    at = forms.DateTimeField(
        label="A lead arriving", required=False, input_formats=[LOCAL_INPUT_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )


def _arrival(data, store: Store) -> tuple[PreviewAtForm, dt.datetime]:
    """The preview's arrival moment on the store's clock; blank: now (to the minute). A time that
    does not parse keeps its error on the form and the preview shows now."""
    now = timezone.now().replace(second=0, microsecond=0)
    if data is not None and data.get("at"):
        with timezone.override(store.tz):
            form = PreviewAtForm(data)
            if form.is_valid() and form.cleaned_data["at"] is not None:
                return form, form.cleaned_data["at"]
        return form, now
    return PreviewAtForm(initial={"at": timezone.localtime(now, store.tz).replace(tzinfo=None)}), now


# --------------------------------------------------------------------------------------
# Keep-in-touch spacing, as the service computes it
# --------------------------------------------------------------------------------------


class _WhatIf(Exception):
    def __init__(self, spacing: dt.timedelta):
        self.spacing = spacing


def spacing_if_saved(store: Store, *, steps, every: int | None, margin: int) -> dt.timedelta:
    """The spacing followup.services.keep_in_touch_every would give if these values were saved:
    saved in a transaction that is then rolled back, so the answer (and any ValidationError) is
    exactly the service's and nothing stays written."""
    try:
        with transaction.atomic():
            followup.cadence_save(store=store, steps=steps, keep_in_touch_every_hours=every,
                                  keep_in_touch_margin_hours=margin)
            raise _WhatIf(followup.keep_in_touch_every(store, timezone.now()))
    except _WhatIf as result:
        return result.spacing


def coverage_source(store: Store, margin: int) -> str:
    """Where a blank spacing comes from, in words."""
    policy = policies_in_force(store, timezone.now()).get(Role.INTERNET_AGENT)
    if policy is None or not policy.window_hours:
        return "the default: no internet-agent coverage policy is in force"
    window = policy.window_hours
    if margin * 2 > window:
        return f"half the internet agents' {window} h coverage window: the {margin} h margin is more than half of it"
    return f"the internet agents' {window} h coverage window minus the {margin} h margin"


# --------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------


def _saved(store: Store) -> tuple[Cadence | None, list[tuple[int, str]]]:
    cadence = Cadence.objects.filter(store=store).first()
    return cadence, followup.cadence_steps(store)


def _context(request, viewer: Viewer, store: Store, *, grid: CadenceGrid, settings: CadenceSettingsForm,
             side: dict, errors: list[str] | None = None) -> dict:
    cadence, _ = _saved(store)
    return {
        "store": store, "stores": stores_for(request.user).order_by("name"), "viewer": viewer,
        "can_edit": can_manage_store(request.user, store), "grid": grid, "settings": settings,
        "channels": [(c, followup.CHANNEL_WORDS[c]) for c in CHANNELS], "max_day": MAX_DAY,
        "errors": (errors or []) + grid.errors, "grid_has_errors": any(row.error for row in grid.rows),
        "cadence": cadence, "is_default": cadence is None, **side,
    }


def _side(store: Store, *, steps, every: int | None, margin: int, data=None, what_if: bool = False) -> dict:
    """The summary and the preview for these values (what_if: unsaved values, computed by a
    rolled-back save; a refusal comes back as `side_errors`)."""
    at_form, arrival = _arrival(data, store)
    blank_spacing = None
    try:
        if what_if:
            spacing = spacing_if_saved(store, steps=steps, every=every, margin=margin)
        else:
            spacing = followup.keep_in_touch_every(store, timezone.now())
        if every is None:
            blank_spacing = spacing
        elif steps:
            blank_spacing = spacing_if_saved(store, steps=steps, every=None, margin=margin)
    except ValidationError as exc:
        return {"at_form": at_form, "side_errors": exc.messages, "summary": "", "preview": None,
                "blank_spacing": None, "coverage_source": coverage_source(store, margin)}
    return {
        "at_form": at_form, "side_errors": [], "summary": cadence_summary(steps, spacing),
        "spacing": hours_words(spacing), "preview": cadence_preview(store, steps, arrival) if steps else None,
        "blank_spacing": hours_words(blank_spacing) if blank_spacing else "",
        "coverage_source": coverage_source(store, margin),
    }


def _saved_side(store: Store, data=None) -> tuple[CadenceGrid, CadenceSettingsForm, dict]:
    cadence, steps = _saved(store)
    every = cadence.keep_in_touch_every_hours if cadence else None
    margin = cadence.keep_in_touch_margin_hours if cadence else DEFAULT_MARGIN
    settings = CadenceSettingsForm(initial={"keep_in_touch_every_hours": every, "keep_in_touch_margin_hours": margin})
    return CadenceGrid(steps=steps), settings, _side(store, steps=steps, every=every, margin=margin, data=data)


def _posted(request, store: Store) -> tuple[CadenceGrid, CadenceSettingsForm, bool]:
    grid = CadenceGrid(request.POST)
    settings = CadenceSettingsForm(request.POST)
    grid_ok = grid.is_valid()
    return grid, settings, settings.is_valid() and grid_ok


def _save_errors(exc: ValidationError, settings: CadenceSettingsForm) -> list[str]:
    """The service's refusal: a settings field's error on that field, the rest above the grid."""
    errors: list[str] = []
    for field, messages_ in (exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}).items():
        if field in settings.fields:
            settings.add_error(field, messages_)
        else:
            errors.extend(messages_)
    return errors


@login_required
@require_http_methods(["GET", "POST"])
def cadence_edit(request):
    viewer = _require_viewer(request)
    store = page_store(request, viewer)
    if request.method == "GET":
        grid, settings, side = _saved_side(store, request.GET if "at" in request.GET else None)
        return render(request, "leads/cadence.html", _context(request, viewer, store, grid=grid, settings=settings, side=side))
    if not can_manage_store(request.user, store):
        raise PermissionDenied("Only the store's internet director and admins change its cadence.")
    action = request.POST.get("action", "save")
    if action == "reset":
        followup.cadence_save(store=store, steps=list(timing.DEFAULT_STEPS), name=DEFAULT_NAME,
                              keep_in_touch_every_hours=None, keep_in_touch_margin_hours=DEFAULT_MARGIN)
        messages.success(request, "Cadence reset to the default: call, text and email every day for 5 days.")
        return redirect(_page_url(store))
    grid, settings, valid = _posted(request, store)
    errors: list[str] = []
    status = 200
    if "remove" in request.POST:
        grid.remove_row(request.POST["remove"])
    elif action == "add":
        grid.add_row()
    elif action == "save":
        if valid:
            data = settings.cleaned_data
            steps = grid.steps()
            try:
                followup.cadence_save(
                    store=store, steps=steps, name=_cadence_name(steps),
                    keep_in_touch_every_hours=data["keep_in_touch_every_hours"],
                    keep_in_touch_margin_hours=data["keep_in_touch_margin_hours"],
                )
            except ValidationError as exc:
                errors = _save_errors(exc, settings)
            else:
                messages.success(request, f"Cadence saved: {steps_words(steps)}.")
                return redirect(_page_url(store))
        status = 422
    side = _posted_side(request, store, grid, settings)
    context = _context(request, viewer, store, grid=grid, settings=settings, side=side, errors=errors)
    return render(request, "leads/cadence.html", context, status=status)


def _posted_side(request, store: Store, grid: CadenceGrid, settings: CadenceSettingsForm) -> dict:
    """The side panel for posted (unsaved) values, or an explanation of why there is none."""
    grid_ok = not grid.errors and not any(row.error for row in grid.rows)
    if not (grid_ok and settings.is_valid()):
        at_form, _ = _arrival(request.POST, store)
        return {"at_form": at_form, "side_errors": ["Fix the grid to see the summary and the preview."],
                "summary": "", "preview": None, "blank_spacing": "", "coverage_source": ""}
    data = settings.cleaned_data
    return _side(store, steps=grid.steps(), every=data["keep_in_touch_every_hours"],
                 margin=data["keep_in_touch_margin_hours"], data=request.POST, what_if=True)


@login_required
@require_POST
def cadence_preview_view(request):
    """The summary and the preview for the grid as it stands (htmx, on every change), saved or
    not; a sales manager (who cannot change the grid) gets the saved cadence's."""
    viewer = _require_viewer(request)
    store = page_store(request, viewer)
    if can_manage_store(request.user, store) and any(key.startswith("day_") for key in request.POST):
        grid, settings, valid = _posted(request, store)
        side = _posted_side(request, store, grid, settings)
        status = 200 if valid and not side["side_errors"] else 422
    else:
        grid, settings, side = _saved_side(store, request.POST)
        status = 200
    context = {"store": store, "can_edit": can_manage_store(request.user, store), **side}
    if request.htmx:
        return render(request, "leads/cadence_side.html", context, status=status)
    context = _context(request, viewer, store, grid=grid, settings=settings, side=side)
    return render(request, "leads/cadence.html", context, status=status)
