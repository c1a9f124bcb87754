"""The sales board page (GET /sales-board/): managers see their teams, the director the store,
a group admin the group's stores (or one store with ?store=). ?period=today|yesterday|mtd,
?tv=1 for the showroom screen, ?format=csv for the same numbers as a spreadsheet.

Thin: scope through org.scoping, validate the query string, read reporting.salesboard, format."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from org.scoping import stores_for, viewer_for
from reporting import salesboard
from reporting.salesboard import PERIOD_KEYS, PERIODS, Figures, Line, Snapshot

FORMATS = ("html", "csv")
TEAM_COLORS = ["#2f6fd6", "#e07b1a", "#1e9a5a", "#9b4dca", "#d2384a", "#0f9aa8", "#7a8797"]


# --------------------------------------------------------------------------------------
# Formatting (what a cell says; the numbers themselves come from reporting.salesboard)
# --------------------------------------------------------------------------------------


def _pct(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{round(value * 60)} s"
    if value < 60:
        return f"{value:.0f} min"
    hours, minutes = divmod(round(value), 60)
    if hours < 24:
        return f"{hours} h {minutes:02d}"
    return f"{hours / 24:.1f} d"


@dataclass
class Cells:
    """One row's figures as the board shows them."""

    f: Figures
    limit: int
    period: str = "today"

    @property
    def response_median(self) -> str:
        return _minutes(self.f.response_median)

    @property
    def response_share(self) -> str:
        return _pct(self.f.response_share)

    @property
    def response_title(self) -> str:
        if not self.f.response_judged:
            return "No lead's response clock has run out yet"
        return f"{self.f.response_within} of {self.f.response_judged} leads attempted within {self.limit} min"

    @property
    def calls_bar(self) -> int:
        share = self.f.target_share
        return 0 if share is None else min(100, round(share * 100))

    @property
    def pace_mark(self) -> int:
        if not self.f.call_target:
            return 0
        return min(100, round(self.f.call_pace / self.f.call_target * 100))

    @property
    def calls_title(self) -> str:
        if not self.f.call_target:
            return f"{self.f.calls} dials; no call target"
        return f"{self.f.calls} dials of a {self.f.call_target} target; {self.f.call_pace:.0f} by now to be on pace"

    @property
    def pace_text(self) -> str:
        """The calls against the person's own shift in words a manager reads at a glance:
        "on pace", "behind: 40 due", "not started yet", "off today", "12 short"."""
        f = self.f
        if not f.call_target:
            if f.shift == "time off":
                return "time off"
            if f.shift == "off":
                return "off today" if self.period == "today" else "day off"
            return ""
        if f.calls >= f.call_target:
            return "target met"
        if f.call_pace <= 0:
            return "not started yet"
        if f.calls >= f.call_pace:
            return "on pace"
        if f.call_pace >= f.call_target:
            return f"{f.call_target - f.calls} short"
        return f"behind: {f.call_pace:.0f} due"

    @property
    def shift_text(self) -> str:
        shift = self.f.shift
        return "" if shift in ("", "off", "time off") else f"shift {shift}"

    @property
    def connection(self) -> str:
        return _pct(self.f.connection_ratio)

    @property
    def connection_title(self) -> str:
        return f"{self.f.connected} connected of {self.f.calls} dials"

    @property
    def contact(self) -> str:
        return _pct(self.f.contact_rate)

    @property
    def contact_title(self) -> str:
        return f"{self.f.leads_contacted} of {self.f.leads_worked} leads worked reached (two-way)"

    @property
    def sold_share(self) -> str:
        return _pct(self.f.sold_share)

    @property
    def verified_share(self) -> str:
        return _pct(self.f.verified_share)

    @property
    def verified_title(self) -> str:
        personal = f"; {self.f.personal} from a personal phone or address" if self.f.personal else ""
        return f"{self.f.verified} of {self.f.activities} activities verified by the phone, text or email system{personal}"

    @property
    def won_title(self) -> str:
        return f"{self.f.credits_won} shares of deals others closed ({self.f.credit_share_won:.2f} of a deal)"


@dataclass
class Row:
    line: Line
    cells: Cells
    calls_url: str = ""

    @property
    def f(self) -> Figures:
        return self.cells.f


def _row(line: Line, period: str, limit: int, calls_base: str) -> Row:
    url = f"{calls_base}?{urlencode({'staff': line.key})}" if line.kind == "person" and calls_base else ""
    return Row(line, Cells(line.figures[period], limit, period), url)


# --------------------------------------------------------------------------------------
# Trend charts: inline SVG, drawn here
# --------------------------------------------------------------------------------------

CHART_W, CHART_H = 560, 190
PAD_L, PAD_R, PAD_T, PAD_B = 36, 12, 12, 26


def _nice_ceiling(value: int) -> int:
    if value <= 5:
        return 5
    for step in (10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000):
        if value <= step * 5:
            return -(-value // step) * step
    return value


def _chart(title: str, days: list[dt.date], series: list[tuple[str, str, list[int]]]) -> dict:
    top = _nice_ceiling(max([max(values, default=0) for _, _, values in series] + [0]))
    inner_w, inner_h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    step = inner_w / max(1, len(days) - 1)

    def x(i: int) -> float:
        return round(PAD_L + (i * step if len(days) > 1 else inner_w / 2), 1)

    def y(v: int) -> float:
        return round(PAD_T + inner_h - (v / top) * inner_h, 1)

    lines = []
    for name, color, values in series:
        points = [(x(i), y(v), v, days[i]) for i, v in enumerate(values)]
        lines.append({
            "name": name, "color": color, "points": points,
            "path": " ".join(f"{px},{py}" for px, py, _, _ in points),
            "total": sum(values),
        })
    every = 1 if len(days) <= 8 else 5 if len(days) <= 31 else 7
    ticks = [{"x": x(i), "label": day.day} for i, day in enumerate(days) if i % every == 0 or i == len(days) - 1]
    grid = [{"y": y(v), "label": v} for v in (0, top // 2, top)]
    return {
        "title": title, "w": CHART_W, "h": CHART_H, "lines": lines, "ticks": ticks, "grid": grid,
        "left": PAD_L, "right": CHART_W - PAD_R, "base": y(0),
        "summary": "; ".join(f"{line['name']}: {line['total']}" for line in lines),
    }


def _charts(snap: Snapshot) -> list[dict]:
    trend = snap.trend
    if not trend.teams:
        return []
    colors = {key: TEAM_COLORS[trend.position.get(key, i) % len(TEAM_COLORS)] for i, (key, _) in enumerate(trend.teams)}
    return [
        _chart("Calls per day", trend.days, [(name, colors[key], trend.calls[key]) for key, name in trend.teams]),
        _chart("Leads per day", trend.days, [(name, colors[key], trend.leads[key]) for key, name in trend.teams]),
    ]


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


def _bad(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _query(request, **changes) -> str:
    params = {k: v for k, v in request.GET.items() if k in ("period", "store", "tv")}
    params.update({k: v for k, v in changes.items() if v is not None})
    params = {k: v for k, v in params.items() if v not in ("", None)}
    return "?" + urlencode(params) if params else "?"


def _tabs(request, period: str) -> list[dict]:
    return [{"key": key, "label": label, "url": _query(request, period=key), "active": key == period}
            for key, label in PERIODS]


def _calls_base() -> str:
    try:
        return reverse("calls_review:list")
    except Exception:  # noqa: BLE001 - the call review page is built elsewhere; the board works without it
        return ""


def _headline(snap: Snapshot) -> Line | None:
    if snap.total is not None:
        return snap.total
    return snap.teams[0] if len(snap.teams) == 1 else None


@login_required
def board(request):
    viewer = viewer_for(request.user)
    if not (viewer.everything or viewer.is_store_wide or viewer.is_manager):
        raise Http404("The sales board is for sales managers, the director and admins.")
    period = request.GET.get("period") or "today"
    if period not in PERIOD_KEYS:
        return _bad(f"Unknown period {period!r}: use today, yesterday or mtd.")
    fmt = request.GET.get("format") or "html"
    if fmt not in FORMATS:
        return _bad(f"Unknown format {fmt!r}: use csv, or leave it out for the page.")
    tv = request.GET.get("tv", "") not in ("", "0")
    raw_store = request.GET.get("store", "").strip()
    stores = stores_for(request.user)
    if raw_store:
        if not raw_store.isdigit():
            return _bad(f"store must be a store id (a number), not {raw_store!r}.")
        store = get_object_or_404(stores, pk=int(raw_store))
    elif viewer.staff is not None and not viewer.is_group_admin:
        store = viewer.staff.store
    else:
        return _group(request, viewer, list(stores.order_by("name", "pk")), period, fmt, tv)

    team_ids = viewer.managed_team_ids() if viewer.is_manager and not viewer.everything else None
    snap = salesboard.snapshot(store).scoped(team_ids)
    now = timezone.now()
    if fmt == "csv":
        return _csv_store(snap, period, store)
    limit, calls_base = snap.response_limit_minutes, _calls_base()
    groups = []
    for team in snap.teams:
        people = [_row(line, period, limit, calls_base) for line in snap.people if line.team_id == team.key]
        if tv:
            people.sort(key=lambda r: (-r.f.calls, r.line.name))
        groups.append({"team": _row(team, period, limit, ""), "people": people})
    headline = _headline(snap)
    context = {
        "snap": snap, "store": store, "period": period, "period_info": snap.periods[period], "tabs": _tabs(request, period),
        "groups": groups, "total": _row(snap.total, period, limit, "") if snap.total is not None else None,
        "headline": _row(headline, period, limit, "") if headline is not None else None,
        "charts": _charts(snap), "updated_at": timezone.localtime(snap.computed_at, store.tz),
        "age": round(snap.age_seconds(now)), "is_manager_view": team_ids is not None, "no_teams": team_ids == [],
        "group_view_url": _query(request, store="", tv="") if viewer.is_group_admin or viewer.everything else "",
        "store_choices": _store_choices(viewer, stores), "csv_url": _query(request, format="csv", tv=""),
        "tv_url": _query(request, tv="1"), "exit_tv_url": _query(request, tv=""), "refresh_url": _query(request),
        "tv": tv, "response_goal": round(salesboard.RESPONSE_GOAL * 100),
        "tv_people": _tv_ranking([r for g in groups for r in g["people"]]),
    }
    partial = _partial(request)
    if tv:
        return render(request, "leads/_salesboard_tv.html" if partial else "leads/salesboard_tv.html", context)
    return render(request, "leads/_salesboard_board.html" if partial else "leads/salesboard.html", context)


def _tv_ranking(rows: list[Row]) -> list[tuple[int | None, Row]]:
    """The showroom's ranking: people who did something in the period, most calls first,
    numbered (the first three get medals); then, unnumbered, those who did nothing."""
    active = sorted((r for r in rows if r.f.has_activity), key=lambda r: (-r.f.calls, r.line.name))
    idle = sorted((r for r in rows if not r.f.has_activity), key=lambda r: r.line.name)
    return [(i, r) for i, r in enumerate(active, start=1)] + [(None, r) for r in idle]


def _partial(request) -> bool:
    """htmx swapping the board (a tab, the TV's refresh) gets the board alone; a history
    restore after a cache miss needs the whole page."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def _store_choices(viewer, stores) -> list:
    if not (viewer.is_group_admin or viewer.everything):
        return []
    return list(stores.order_by("name", "pk").values_list("pk", "name"))


# --------------------------------------------------------------------------------------
# A group admin: one row per store
# --------------------------------------------------------------------------------------


def _group(request, viewer, stores: list, period: str, fmt: str, tv: bool):
    snaps = salesboard.snapshots(stores)
    rows = [(store, snaps.get(store.pk)) for store in stores]
    if fmt == "csv":
        return _csv_group(rows, period)
    total = Figures()
    for _, snap in rows:
        if snap is not None:
            for name in salesboard.ADDITIVE + ["leads_worked", "leads_contacted"]:
                setattr(total, name, getattr(total, name) + getattr(snap.total.figures[period], name))
    pending = sum(1 for _, snap in rows if snap is None)
    store_rows = []
    for store, snap in rows:
        store_rows.append({
            "store": store, "snap": snap,
            "cells": Cells(snap.total.figures[period], snap.response_limit_minutes) if snap else None,
            "url": _query(request, store=str(store.pk)),
        })
    if tv:
        # Stores that did something, most calls first, numbered (medals for the first three); then the rest.
        store_rows.sort(key=lambda r: (r["cells"] is None, not (r["cells"] and r["cells"].f.has_activity),
                                       -(r["cells"].f.calls if r["cells"] else 0)))
        ranked = [r for r in store_rows if r["cells"] is not None and r["cells"].f.has_activity]
        for rank, r in enumerate(ranked, start=1):
            r["rank"] = rank
    oldest = min((snap.computed_at for _, snap in rows if snap is not None), default=timezone.now())
    group_name = viewer.staff.store.group.name if viewer.staff is not None else "All stores"
    context = {
        "group_name": group_name, "period": period, "tabs": _tabs(request, period), "store_rows": store_rows,
        "total": Cells(total, 0), "pending": pending, "tv": tv, "csv_url": _query(request, format="csv", tv=""),
        "tv_url": _query(request, tv="1"), "exit_tv_url": _query(request, tv=""), "refresh_url": _query(request),
        "period_label": dict(PERIODS)[period], "updated_at": timezone.localtime(oldest),
        "store_choices": [(store.pk, store.name) for store in stores], "response_goal": round(salesboard.RESPONSE_GOAL * 100),
    }
    partial = _partial(request)
    if tv:
        return render(request, "leads/_salesboard_tv_group.html" if partial else "leads/salesboard_tv.html", {**context, "group": True})
    return render(request, "leads/_salesboard_group.html" if partial else "leads/salesboard.html", {**context, "group": True})


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "period", "first_day", "last_day", "store", "team", "person", "staff_id", "row",
    "leads", "phone_ups", "response_median_minutes", "response_within_limit", "response_judged",
    "response_within_limit_pct", "calls", "call_target", "connected_calls", "connection_ratio_pct",
    "leads_worked", "leads_contacted", "contact_rate_pct", "texts", "emails", "appointments_set",
    "appointments_shown", "sold", "sold_pct_of_leads", "activities", "verified", "verified_pct",
    "credits_won", "credit_share_won", "credits_lost",
]


def _safe(text: str) -> str:
    """A name a spreadsheet would run as a formula gets a leading quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _figures_csv(f: Figures) -> list:
    pct = lambda v: "" if v is None else f"{v * 100:.1f}"  # noqa: E731
    return [
        f.leads, f.phone_ups, _num(f.response_median), f.response_within, f.response_judged, pct(f.response_share),
        f.calls, f.call_target, f.connected, pct(f.connection_ratio), f.leads_worked, f.leads_contacted,
        pct(f.contact_rate), f.texts, f.emails, f.appointments_set, f.appointments_shown, f.sold, pct(f.sold_share),
        f.activities, f.verified, pct(f.verified_share), f.credits_won, f"{f.credit_share_won:.3f}", f.credits_lost,
    ]


def _csv_response(filename: str, rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return response


def _csv_store(snap: Snapshot, period: str, store) -> HttpResponse:
    p = snap.periods[period]
    head = [period, p.first_day.isoformat(), p.last_day.isoformat(), _safe(snap.store_name)]
    team_names = {team.key: team.name for team in snap.teams}
    rows = []
    for team in snap.teams:
        for line in snap.people:
            if line.team_id == team.key:
                rows.append(head + [_safe(team.name), _safe(line.name), line.key, "person"]
                            + _figures_csv(line.figures[period]))
        rows.append(head + [_safe(team_names[team.key]), "", "", "team"] + _figures_csv(team.figures[period]))
    if snap.total is not None:
        rows.append(head + ["", "", "", "store"] + _figures_csv(snap.total.figures[period]))
    return _csv_response(f"sales-board-{store.slug}-{period}-{p.last_day.isoformat()}.csv", rows)


def _csv_group(rows: list[tuple], period: str) -> HttpResponse:
    out = []
    for store, snap in rows:
        if snap is None:
            continue
        p = snap.periods[period]
        out.append([period, p.first_day.isoformat(), p.last_day.isoformat(), _safe(store.name), "", "", "", "store"]
                   + _figures_csv(snap.total.figures[period]))
    day = timezone.localdate().isoformat()
    return _csv_response(f"sales-board-stores-{period}-{day}.csv", out)
