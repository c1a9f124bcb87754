"""Routing rules in the browser: a store's rules in order as plain sentences, a rule's form, the
order (move up / down), on / off, delete, and a preview of where a sample lead would go.

Directors and admins edit (org.scoping.can_manage_store); sales managers see the rules and may
preview; everybody else gets 403. Rules of a store the viewer does not see answer 404.
Saving goes through distribution.pools.rule_save; the preview through services.rule_preview.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from distribution import pools, services
from distribution.forms import PreviewForm, RuleForm
from distribution.models import RoutingRule, RoutingState, Strategy
from org.models import Staff, Store
from org.scoping import Viewer, can_manage_store, page_store, stores_for, viewer_for

SOURCE_WORDS = {
    "oem": "OEM", "third_party": "third-party site", "dealer_website": "dealer website",
    "phone_up": "phone-up", "walk_in": "walk-in", "chat": "chat",
}
KIND_WORDS = {"buy": "purchase", "lease": "lease", "trade-in": "trade-in"}
ROLE_WORDS = {
    "internet_agent": "every internet agent", "retail": "every retail salesperson", "fleet": "every fleet salesperson",
}


# --------------------------------------------------------------------------------------
# Who may look, which store
# --------------------------------------------------------------------------------------


def _require_viewer(request) -> Viewer:
    """Directors, admins and sales managers see a store's rules; salespeople and receptionists do not."""
    viewer = viewer_for(request.user)
    if not (viewer.is_store_wide or viewer.is_manager):
        raise PermissionDenied("Only directors, admins and sales managers see the routing rules.")
    return viewer




def _require_manage(request, store: Store) -> None:
    if not can_manage_store(request.user, store):
        raise PermissionDenied("Only the store's director and admins change its routing rules.")


def _rule(request, pk: int) -> RoutingRule:
    """A rule of a store the viewer sees (else 404) that the viewer may change (else 403)."""
    _require_viewer(request)
    rule = get_object_or_404(
        RoutingRule.objects.select_related("store").filter(store__in=stores_for(request.user)), pk=pk
    )
    _require_manage(request, rule.store)
    return rule


def _list_url(store: Store, anchor: str = "") -> str:
    return f"{reverse('distribution_rules:list')}?store={store.pk}{anchor}"


# --------------------------------------------------------------------------------------
# A rule in plain words
# --------------------------------------------------------------------------------------


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _team_words(name: str) -> str:
    return name if name.lower().startswith("team") else f"Team {name}"


def match_words(rule: RoutingRule) -> str:
    """Which leads: "Used Honda leads", "OEM lease leads from CarGurus", "Every lead"."""
    if rule.is_fallback:
        return "Every lead no rule above takes"
    subject = " ".join(w for w in (
        rule.get_condition_display() if rule.condition else "",
        rule.make.strip(),
        SOURCE_WORDS.get(rule.source_type, ""),
        KIND_WORDS.get(rule.lead_kind, ""),
    ) if w)
    text = f"{subject} leads" if subject else "Every lead"
    if rule.provider.strip():
        text += f" from {rule.provider.strip()}"
    stock = rule.stock_number_list
    if stock:
        shown = ", ".join(stock[:4]) + (f" and {len(stock) - 4} more" if len(stock) > 4 else "")
        text += f" asking for stock # {shown}"
    return text[0].upper() + text[1:]


def strategy_words(rule: RoutingRule) -> str:
    """How: "round robin with reassignment (20 min, then manager after 2 moves)"."""
    weighted = "weighted " if rule.weighted else ""
    boss = rule.manager.display_name if rule.manager_id else "manager"
    if rule.strategy == Strategy.ROUND_ROBIN:
        return f"{weighted}round robin"
    if rule.strategy == Strategy.ROUND_ROBIN_REASSIGN:
        moves = rule.max_moves
        after = f" after {moves} move{'s' if moves != 1 else ''}" if moves else ""
        return f"{weighted}round robin with reassignment ({rule.response_minutes} min, then {boss}{after})"
    if rule.strategy == Strategy.CLAIM_POOL:
        limit = f" (round robin after {rule.claim_minutes} min unclaimed)" if rule.claim_minutes else ""
        return f"claim pool{limit}"
    if rule.strategy == Strategy.MANAGER:
        return f"manager assigns ({boss})" if rule.manager_id else "manager assigns"
    if rule.strategy == Strategy.RECEPTIONIST:
        return "receptionist board"
    return "no strategy"


def pool_words(rule: RoutingRule) -> str:
    """Who: "Team Internet, Ann Agent and every internet agent" (the rule's M2M are prefetched)."""
    parts = [_team_words(t.name) for t in rule.pool_teams.all()]
    parts += [s.display_name for s in rule.pool_staff.all()]
    if rule.pool_role:
        parts.append(ROLE_WORDS.get(rule.pool_role, rule.get_pool_role_display()))
    return _join(parts) or "nobody"


def rule_sentence(rule: RoutingRule) -> str:
    """The whole rule as one sentence, as the list shows it."""
    among = "among" if rule.strategy in (Strategy.ROUND_ROBIN, Strategy.ROUND_ROBIN_REASSIGN) else "for"
    text = f"{match_words(rule)} → {strategy_words(rule)} {among} {pool_words(rule)}"
    tails = []
    if rule.open_new_cap is not None and rule.strategy != Strategy.MANAGER:
        cap = rule.open_new_cap
        tails.append(f"skip at {cap} open new lead{'s' if cap != 1 else ''}")
    if rule.after_hours_staff_id and rule.strategy not in (Strategy.MANAGER, Strategy.RECEPTIONIST):
        tails.append(f"after hours to {rule.after_hours_staff.display_name}")
    return "; ".join([text, *tails])


def _rules_of(store: Store) -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(store=store)
        .select_related("after_hours_staff__user", "manager__user")
        .prefetch_related("pool_teams", "pool_staff__user")
        .order_by("is_fallback", "position", "id")
    )


# --------------------------------------------------------------------------------------
# The preview in plain words
# --------------------------------------------------------------------------------------


def _local(moment, store: Store) -> str:
    return dateformat.format(timezone.localtime(moment, store.tz), "D M j, g:i A")


def _reason_words(reason: str) -> str:
    """A skip reason inside the preview's parentheses: "at cap (1 open new leads)" -> "at cap: 1 open new lead"."""
    reason = reason.replace(" (", ": ").removesuffix(")")
    return reason.replace(": 1 open new leads", ": 1 open new lead")


def preview_outcome(store: Store, preview: services.Preview, at) -> dict:
    """What the preview box says: a headline, the strategy's own reason, who was skipped, who is next."""
    decision = preview.decision
    rule = preview.rule
    if rule is None:
        return {
            "matched": False, "detail": f"{preview.why[0].upper()}{preview.why[1:]}. {decision.reason}",
            "skipped": [], "upcoming": [], "at": _local(at, store),
        }
    owner = ""
    if decision.owner_id is not None:
        person = Staff.objects.select_related("user").filter(pk=decision.owner_id).first()
        owner = person.display_name if person else "someone"
    if decision.state == RoutingState.ASSIGNED:
        where = f"go to {owner}"
    elif decision.state == RoutingState.POOL:
        where = "go to the claim pool"
    elif decision.state == RoutingState.BOARD:
        where = "ring on the receptionist board"
    elif decision.state == RoutingState.WAITING:
        when = f" until {_local(decision.retry_at, store)}" if decision.retry_at else ""
        where = f"wait{when}"
    else:
        names = _join([m.display_name for m in pools.managers_of(rule, store)])
        where = f"wait on the manager's queue ({names})" if names else "wait on the manager's queue"
    return {
        "matched": True, "owner": owner, "state": decision.state, "rule": rule,
        "where": where, "why": preview.why, "how": strategy_words(rule),
        # "Next in line: Ann Agent." only repeats the headline; other reasons (after hours…) add to it.
        "detail": "" if decision.reason == f"Next in line: {owner}." else decision.reason,
        "skipped": [f"{s['name']} ({_reason_words(s['reason'])})" for s in decision.skipped],
        "upcoming": preview.upcoming, "at": _local(at, store),
    }


def _run_preview(form: PreviewForm, store: Store) -> dict | None:
    """Validate the sample lead (its time read on the store's clock) and preview it; None on bad input."""
    with timezone.override(store.tz):
        if not form.is_valid():
            return None
    at = form.cleaned_data["at"] or timezone.now()
    preview = services.rule_preview(store=store, facts=form.facts(), at=at)
    return preview_outcome(store, preview, at)


# --------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------


def _list_context(request, viewer: Viewer, store: Store, *, preview_form=None, outcome=None) -> dict:
    rules = _rules_of(store)
    ordinary = [r for r in rules if not r.is_fallback]
    rows = []
    for rule in rules:
        index = ordinary.index(rule) if not rule.is_fallback else None
        sentence = rule_sentence(rule)
        match, _, rest = sentence.partition(" → ")
        rows.append({
            "rule": rule, "sentence": sentence, "match": match, "rest": rest,
            "number": (index + 1) if index is not None else None,
            "can_up": index is not None and index > 0,
            "can_down": index is not None and index < len(ordinary) - 1,
        })
    return {
        "store": store, "stores": stores_for(request.user).order_by("name"), "viewer": viewer,
        "rows": rows, "can_edit": can_manage_store(request.user, store),
        "has_fallback": any(r.is_fallback and r.enabled for r in rules),
        "preview_form": preview_form or PreviewForm(), "outcome": outcome, "zone": store.time_zone,
    }


@login_required
@require_GET
def rule_list(request):
    viewer = _require_viewer(request)
    store = page_store(request, viewer)
    return render(request, "distribution/rules.html", _list_context(request, viewer, store))


@login_required
@require_POST
def rule_preview(request):
    """The preview card (htmx) or the whole page with the result (a plain form post)."""
    viewer = _require_viewer(request)
    store = page_store(request, viewer)
    form = PreviewForm(request.POST)
    outcome = _run_preview(form, store)
    status = 422 if outcome is None else 200
    if request.htmx:
        context = {"store": store, "preview_form": form, "outcome": outcome, "zone": store.time_zone}
        return render(request, "distribution/_rule_preview.html", context, status=status)
    context = _list_context(request, viewer, store, preview_form=form, outcome=outcome)
    return render(request, "distribution/rules.html", context, status=status)


def _save(request, form: RuleForm) -> RoutingRule | None:
    """Save the form's rule through pools.rule_save; its errors land on the form (nothing saved)."""
    if not form.is_valid():
        return None
    rule = form.save(commit=False)
    try:
        return pools.rule_save(rule, teams=form.cleaned_data["pool_teams"], staff=form.cleaned_data["pool_staff"])
    except IntegrityError:
        # Two fallback rules saved at the same moment: the database keeps one.
        form.add_error("is_fallback", "This store already has a fallback rule (saved a moment ago).")
        return None
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)
        return None


def _form_page(request, form: RuleForm, store: Store, rule: RoutingRule | None, status: int = 200):
    context = {"form": form, "store": store, "rule": rule, "zone": store.time_zone}
    return render(request, "distribution/rules_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def rule_new(request):
    viewer = _require_viewer(request)
    store = page_store(request, viewer)
    _require_manage(request, store)
    if request.method == "POST":
        form = RuleForm(request.POST, instance=RoutingRule(store=store), store=store)
        rule = _save(request, form)
        if rule is not None:
            messages.success(request, f"Rule “{rule.name}” saved.")
            return redirect(_list_url(store, f"#rule-{rule.pk}"))
        return _form_page(request, form, store, None, status=422)
    initial = {"strategy": Strategy.ROUND_ROBIN, "enabled": True}
    if not RoutingRule.objects.filter(store=store, is_fallback=True, enabled=True).exists() and request.GET.get("fallback"):
        initial.update(is_fallback=True, name="Everything else")
    form = RuleForm(instance=RoutingRule(store=store), initial=initial, store=store)
    return _form_page(request, form, store, None)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request, pk: int):
    rule = _rule(request, pk)
    store = rule.store
    if request.method == "POST":
        form = RuleForm(request.POST, instance=rule, store=store)
        saved = _save(request, form)
        if saved is not None:
            messages.success(request, f"Rule “{saved.name}” saved.")
            return redirect(_list_url(store, f"#rule-{saved.pk}"))
        return _form_page(request, form, store, rule, status=422)
    return _form_page(request, RuleForm(instance=rule, store=store), store, rule)


@login_required
@require_POST
def rule_toggle(request, pk: int):
    """Turn a rule off (always allowed) or on again (validated like a save: its pool must still have people)."""
    rule = _rule(request, pk)
    if rule.enabled:
        rule.enabled = False
        rule.save(update_fields=["enabled", "updated_at"])
        messages.success(request, f"Rule “{rule.name}” is off: leads skip it.")
    else:
        rule.enabled = True
        try:
            pools.rule_save(rule, teams=rule.pool_teams.all(), staff=rule.pool_staff.all())
        except ValidationError as exc:
            messages.error(request, f"Rule “{rule.name}” stays off: {' '.join(exc.messages)}")
        else:
            messages.success(request, f"Rule “{rule.name}” is on again.")
    return redirect(_list_url(rule.store, f"#rule-{rule.pk}"))


@login_required
@require_POST
def rule_move(request, pk: int):
    rule = _rule(request, pk)
    direction = request.POST.get("direction", "")
    if direction not in ("up", "down"):
        messages.error(request, "Move a rule up or down.")
    elif not pools.rule_move(rule, direction):
        messages.error(request, f"Rule “{rule.name}” is already {'first' if direction == 'up' else 'last'}.")
    return redirect(_list_url(rule.store, f"#rule-{rule.pk}"))


@login_required
@require_POST
def rule_delete(request, pk: int):
    rule = _rule(request, pk)
    store, name = rule.store, rule.name
    with transaction.atomic():
        # Leads it routed keep the rule's name in their routing and history; their link becomes empty.
        rule.delete()
    messages.success(request, f"Rule “{name}” deleted.")
    return redirect(_list_url(store))
