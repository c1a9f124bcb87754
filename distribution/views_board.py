"""The receptionist board, as browser pages: the leads waiting for the first salesperson to call
in (oldest first, with how long each has waited), who is on the floor now, and the one-click hand.

Thin: the board's leads come through org.scoping, who is on the floor comes from the rule's pool
and the receptionist strategy, and handing is distribution.services.lead_hand. The live region is
polled by htmx every 2 s; it answers 204 when nothing changed, so focus and taps are not disturbed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from distribution import pools, services
from distribution.models import LeadRouting, RoutingRule, RoutingState, Strategy
from distribution.scoping import may_use_board
from distribution.strategies import receptionist
from distribution.strategies.base import split_pool
from leads.models import OPEN_STATUSES, Lead, SourceType, VehicleInterest
from leads.scoping import leads_for
from org.models import Store
from org.scoping import staff_for, viewer_for

WARN_AFTER_SECONDS = 2 * 60  # the wait turns amber
LATE_AFTER_SECONDS = 5 * 60  # and red
DENIED = "The receptionist board is for the store's receptionist and its managers; salespeople get their leads from it."


@dataclass
class FloorPerson:
    staff_id: int
    name: str
    open_new: int


@dataclass
class OffFloor:
    name: str
    reason: str


@dataclass
class WaitingLead:
    lead: Lead
    queued_at: dt.datetime
    waited_seconds: int
    vehicle: str
    kind: str  # "phone" | "walk-in" | "internet"
    kind_label: str
    floor: list[FloorPerson]

    @property
    def wait_text(self) -> str:
        return _fmt_wait(self.waited_seconds)

    @property
    def queued_ms(self) -> int:
        return int(self.queued_at.timestamp() * 1000)


@dataclass
class Board:
    store: Store
    now: dt.datetime
    waiting: list[WaitingLead]
    floor: list[FloorPerson]
    off_floor: list[OffFloor]
    has_rules: bool
    version: str = ""


# --- who may use it --------------------------------------------------------------------------

def _board_store(user) -> Store | None:
    """The store whose board this user works, or None if the board is not theirs."""
    viewer = viewer_for(user)
    if viewer.staff is None or not may_use_board(viewer):
        return None
    return viewer.staff.store


def _unauthenticated(request):
    login = f"{reverse('login')}?next={reverse('distribution_board:page')}"
    if request.htmx:
        # A poll after the session expired: send the whole page to the login form, not into the board.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = login
        return response
    return redirect(login)


# --- what the board shows ----------------------------------------------------------------------

def _fmt_wait(seconds: int) -> str:
    minutes, secs = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _vehicle(lead: Lead) -> str:
    vehicles = list(lead.vehicles.all())
    wanted = [v for v in vehicles if v.interest in (VehicleInterest.BUY, VehicleInterest.LEASE)]
    others = [v for v in vehicles if v.interest != VehicleInterest.TRADE_IN]
    first = (wanted or others or [None])[0]
    if first is None:
        return ""
    condition = f"{first.get_condition_display()} " if first.condition else ""
    stock = f" · stock {first.stock_number}" if first.stock_number else ""
    return f"{condition}{first}{stock}".strip()


def _kind(lead: Lead) -> tuple[str, str]:
    if lead.source_type == SourceType.PHONE_UP:
        return "phone", "Phone-up"
    if lead.source_type == SourceType.WALK_IN:
        return "walk-in", "Walk-in"
    return "internet", "Internet lead"


def board_state(user, store: Store, *, now: dt.datetime | None = None) -> Board:
    """The leads waiting on the store's board and who is on the floor for each (their rule's pool)."""
    now = now or timezone.now()
    leads = list(
        leads_for(user)
        .filter(store=store, owner__isnull=True, status__in=OPEN_STATUSES, routing__state=RoutingState.BOARD)
        .select_related("customer", "routing__rule__store", "routing__rule__after_hours_staff__user")
        .prefetch_related("vehicles")
        .order_by("routing__queued_at", "pk")
    )
    rules: dict[int, RoutingRule] = {}
    for lead in leads:
        if lead.routing.rule_id is not None:
            rules.setdefault(lead.routing.rule_id, lead.routing.rule)
    board_rules = (
        RoutingRule.objects.filter(store=store, enabled=True, strategy=Strategy.RECEPTIONIST)
        .select_related("store", "after_hours_staff__user")
        .order_by("position", "pk")
    )
    for rule in board_rules:
        rules.setdefault(rule.pk, rule)

    floors: dict[int, list[FloorPerson]] = {}
    everyone: dict[int, FloorPerson] = {}
    off: dict[int, OffFloor] = {}
    for rule_id, rule in rules.items():
        ctx = pools.context(rule, now=now)
        by_id = {m.staff_id: m for m in ctx.members}
        floors[rule_id] = [FloorPerson(sid, by_id[sid].name, by_id[sid].open_new) for sid in receptionist.floor(ctx)]
        for person in floors[rule_id]:
            everyone.setdefault(person.staff_id, person)
        for skipped in split_pool(ctx)[1]:
            off.setdefault(skipped["staff"], OffFloor(skipped["name"], skipped["reason"]))
    for staff_id in everyone:
        off.pop(staff_id, None)  # on the floor for one rule's pool: on the floor
    store_floor = list(everyone.values())

    waiting = []
    for lead in leads:
        queued = lead.routing.queued_at
        kind, label = _kind(lead)
        waiting.append(
            WaitingLead(
                lead=lead,
                queued_at=queued,
                waited_seconds=max(int((now - queued).total_seconds()), 0),
                vehicle=_vehicle(lead),
                kind=kind,
                kind_label=label,
                # A lead whose rule is gone may go to any salesperson: offer the store's floor.
                floor=floors.get(lead.routing.rule_id, store_floor),
            )
        )
    board = Board(store=store, now=now, waiting=waiting, floor=store_floor,
                  off_floor=sorted(off.values(), key=lambda o: o.name), has_rules=bool(rules))
    board.version = _version(board)
    return board


def _version(board: Board) -> str:
    """Changes whenever what the board shows changes (not with the clocks, which tick in the browser)."""
    parts = [f"{w.lead.pk}@{w.queued_at.isoformat()}:{','.join(str(p.staff_id) for p in w.floor)}" for w in board.waiting]
    parts.append("|".join(f"{p.staff_id}:{p.name}:{p.open_new}" for p in board.floor))
    parts.append("|".join(f"{o.name}:{o.reason}" for o in board.off_floor))
    return hashlib.sha1("\n".join(parts).encode(), usedforsecurity=False).hexdigest()[:16]


def _context(board: Board) -> dict:
    return {
        "board": board,
        "warn_after": WARN_AFTER_SECONDS,
        "late_after": LATE_AFTER_SECONDS,
        "server_now_ms": int(board.now.timestamp() * 1000),
    }


# --- pages ----------------------------------------------------------------------------------

@require_GET
def board_page(request):
    if not request.user.is_authenticated:
        return _unauthenticated(request)
    store = _board_store(request.user)
    if store is None:
        return render(request, "distribution/board.html", {"denied": DENIED}, status=403)
    return render(request, "distribution/board.html", _context(board_state(request.user, store)))


@require_GET
def board_live(request):
    """The live region alone, for the 2-second poll: 204 when nothing changed since version `v`."""
    if not request.user.is_authenticated:
        return _unauthenticated(request)
    store = _board_store(request.user)
    if store is None:
        return HttpResponse(DENIED, status=403, content_type="text/plain; charset=utf-8")
    board = board_state(request.user, store)
    if request.GET.get("v") == board.version:
        return HttpResponse(status=204)
    return render(request, "distribution/_board_live.html", _context(board))


@require_POST
def board_hand(request, lead_id: int, staff_id: int):
    """Hand a waiting lead, in one click, to the salesperson who called in first."""
    if not request.user.is_authenticated:
        return _unauthenticated(request)
    store = _board_store(request.user)
    if store is None:
        return _answer(request, None, 403, DENIED)
    lead = leads_for(request.user).filter(store=store).select_related("customer", "store").filter(pk=lead_id).first()
    if lead is None:
        # A board lead handed a moment ago leaves the receptionist's sight: a second click is told who
        # has it (as the README promises), not "not found".
        handed = (Lead.objects.filter(store=store, pk=lead_id, owner__isnull=False, routing__strategy=Strategy.RECEPTIONIST)
                  .select_related("owner__user").first())
        if handed is None:
            raise Http404("No such lead on this board.")
        return _answer(request, store, 409, f"{handed.owner.display_name} already has this lead.")
    to_staff = staff_for(request.user).filter(store=store, pk=staff_id).select_related("user").first()
    if to_staff is None:
        return _answer(request, store, 400, "There is no such salesperson at this store; pick a name on the board.")
    state = LeadRouting.objects.filter(lead=lead).values_list("state", flat=True).first()
    if lead.owner_id is None and state != RoutingState.BOARD:
        return _answer(request, store, 400, f"{lead.customer} is not on the board, so it is not handed from here.")
    try:
        services.lead_hand(lead=lead, to_staff=to_staff, by=viewer_for(request.user).staff)
    except services.AlreadyHanded as exc:
        return _answer(request, store, 409, str(exc))
    except ValidationError as exc:
        return _answer(request, store, 400, " ".join(exc.messages))
    return _answer(request, store, 200, f"{lead.customer} handed to {to_staff.display_name}.")


def _answer(request, store: Store | None, status: int, text: str):
    """htmx: the refreshed live region with the message in the page's flash area (status kept, so a
    second click reads 409); without JavaScript: back to the board with the message."""
    ok = status == 200
    if request.htmx:
        context = _context(board_state(request.user, store)) if store is not None else {"denied": text}
        context.update(flash_text=text, flash_level="success" if ok else "error")
        return render(request, "distribution/_board_live.html", context, status=status)
    if ok:
        messages.success(request, text)
        return redirect("distribution_board:page")
    messages.error(request, text)
    context = _context(board_state(request.user, store)) if store is not None else {"denied": text}
    return render(request, "distribution/board.html", context, status=status)
