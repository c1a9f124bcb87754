"""What every strategy receives and returns, and who in a pool may be given a lead now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from org import hours

ShiftSpan = tuple[int, dt.time, dt.time]


@dataclass
class Member:
    """A pool member with everything that decides whether they can take a lead now."""

    staff_id: int
    name: str
    weight: int = 1
    active: bool = True
    available: bool = True
    shifts: list[ShiftSpan] = field(default_factory=list)
    time_off: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    open_new: int = 0


@dataclass
class RouteContext:
    now: dt.datetime
    tz: ZoneInfo
    business_hours: dict[str, Any]  # Store.business_hours, as org.hours reads it
    members: list[Member]
    credits: dict[int, int] = field(default_factory=dict)
    cap: int | None = None
    weighted: bool = False
    exclude: set[int] = field(default_factory=set)
    after_hours_staff_id: int | None = None
    after_hours_name: str = ""
    response_minutes: int = 20
    max_moves: int = 2
    moves: int = 0
    claim_minutes: int | None = None


@dataclass
class Decision:
    state: str  # a distribution.models.RoutingState value
    owner_id: int | None = None
    reason: str = ""
    skipped: list[dict[str, Any]] = field(default_factory=list)  # split_pool's {staff, name, reason}
    credits: dict[int, int] | None = None  # the rotation after this pick, to persist
    response_minutes: int | None = None  # start a reassignment clock of this many business minutes
    claim_minutes: int | None = None  # claim pool: round robin after this many business minutes
    retry_at: dt.datetime | None = None  # waiting: try again at this time
    moved: bool = False
    lost_text: str = "no first attempt in time"  # told to the previous owner when it moved


class Router(Protocol):
    """A strategy module, as distribution.services calls it."""

    def route(self, ctx: RouteContext) -> Decision: ...


def skip_reason(member: Member, ctx: RouteContext) -> str | None:
    """Why this member cannot be given a lead now, or None if they can."""
    if member.staff_id in ctx.exclude:
        return "already had this lead"
    if not member.active:
        return "inactive"
    today = hours.local_date(ctx.tz, ctx.now)
    if any(first <= today <= last for first, last in member.time_off):
        return "time off"
    if not hours.on_shift(member.shifts, ctx.tz, ctx.now):
        worked_days = {weekday for weekday, _, _ in member.shifts}
        return "off shift" if today.weekday() in worked_days else "day off"
    if not member.available:
        return "unavailable"
    if ctx.cap is not None and member.open_new >= ctx.cap:
        return f"at cap ({member.open_new} open new leads)"
    return None


def split_pool(ctx: RouteContext) -> tuple[list[Member], list[dict[str, Any]]]:
    """The members who can take a lead now, and the others with their reasons."""
    eligible: list[Member] = []
    skipped: list[dict[str, Any]] = []
    for member in ctx.members:
        reason = skip_reason(member, ctx)
        if reason is None:
            eligible.append(member)
        else:
            skipped.append({"staff": member.staff_id, "name": member.name, "reason": reason})
    return eligible, skipped


def next_shift(ctx: RouteContext) -> dt.datetime | None:
    """When the first pool member not excluded, on leave or inactive starts a shift."""
    starts = []
    for member in ctx.members:
        if member.staff_id in ctx.exclude or not member.active:
            continue
        start = hours.next_shift_start(member.shifts, ctx.tz, ctx.now + dt.timedelta(seconds=1))
        if start is not None:
            starts.append(start)
    return min(starts) if starts else None
