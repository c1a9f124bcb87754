"""Coverage policy versions in the browser: the version in force per role and its history, a new
version (from a preset, edited), and two versions side by side. Directors and admins only, in
their stores; a version is never edited, an edit is a new version (services.policy_version_create).
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import dateformat, timezone

from dealcoverage import services
from dealcoverage.engine import MAX_WINDOW_HOURS
from dealcoverage.models import CoveragePolicy, KeepsAlive, MinEvidence
from dealcoverage.presets import PRESETS
from dealcoverage.scoping import coverage_policies_for
from org.models import SALES_ROLES, Role, Store
from org.scoping import page_store, stores_for, viewer_for

ROLE_CHOICES = [(value, label) for value, label in Role.choices if value in SALES_ROLES]
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"

# The compared rows: (field, label); "name" and the parameters, in the order of the form.
COMPARED = [
    ("name", "Name"),
    ("initial_two_way_required", "Two-way contact required first"),
    ("keeps_alive", "What keeps it alive"),
    ("window_hours", "Window"),
    ("min_evidence", "Minimum evidence"),
    ("share_when_other_closes", "Share when another closes"),
    ("pause_on_days_off", "Window pauses on days off"),
    ("min_talk_seconds", "Minimum talk time"),
]


def _require_store_wide(request):
    viewer = viewer_for(request.user)
    if not viewer.is_store_wide:
        raise PermissionDenied("Only directors and admins manage coverage policies.")
    return viewer




def _share_words(share: Decimal) -> str:
    share = Decimal(share)
    if share == Decimal("0.5"):
        return "half deal"
    if share == 0:
        return "no share"
    if share == 1:
        return "whole deal"
    return f"{(share * 100).normalize():f} % of the deal"


def describe(policy) -> str:
    """A version's parameters in plain words (the list's parameters column)."""
    return "; ".join([
        "two-way contact required first" if policy.initial_two_way_required else "no contact proof required first",
        "only two-way contact keeps it alive" if policy.keeps_alive == KeepsAlive.TWO_WAY
        else "any follow-up attempt keeps it alive",
        f"{policy.window_hours} h",
        "verified only" if policy.min_evidence == MinEvidence.VERIFIED else "self-reported allowed",
        _share_words(policy.share_when_other_closes),
        f"window pauses on days off: {'yes' if policy.pause_on_days_off else 'no'}",
    ])


def _value_words(policy: CoveragePolicy, field: str) -> str:
    value = getattr(policy, field)
    if field == "keeps_alive":
        return policy.get_keeps_alive_display()
    if field == "min_evidence":
        return policy.get_min_evidence_display()
    if field == "window_hours":
        return f"{value} h"
    if field == "share_when_other_closes":
        return _share_words(value)
    if field == "min_talk_seconds":
        return f"{value} s"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _local(moment, store: Store) -> str:
    return dateformat.format(timezone.localtime(moment, store.tz), "M j, Y, g:i A")


# --------------------------------------------------------------------------------------
# The list: the version in force per role, and the history
# --------------------------------------------------------------------------------------


@login_required
def policy_list(request):
    viewer = _require_store_wide(request)
    store = page_store(request, viewer)
    now = timezone.now()
    versions = list(coverage_policies_for(request.user).filter(store=store).order_by("role", "-effective_from"))
    labels = dict(Role.choices)
    roles = []
    for role in sorted({v.role for v in versions}, key=lambda r: [c for c, _ in Role.choices].index(r)):
        history = [v for v in versions if v.role == role]
        in_force = next((v for v in history if v.effective_from <= now), None)
        rows = []
        for i, v in enumerate(history):
            previous = history[i + 1] if i + 1 < len(history) else None
            rows.append({
                "policy": v, "in_force": in_force is not None and v.pk == in_force.pk,
                "future": v.effective_from > now, "effective": _local(v.effective_from, store),
                "words": describe(v), "previous": previous,
            })
        roles.append({"role": role, "label": labels.get(role, role), "in_force": in_force, "rows": rows})
    return render(
        request, "coverage/policy_list.html",
        {
            "store": store, "stores": stores_for(request.user).order_by("name"), "roles": roles,
            "viewer": viewer, "zone": store.time_zone,
        },
    )


# --------------------------------------------------------------------------------------
# A new version
# --------------------------------------------------------------------------------------


class PolicyVersionForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    preset = forms.ChoiceField(
        label="Start from a preset", required=False,
        choices=[("", "(none)"), *[(name, name) for name in PRESETS]],
    )
    initial_two_way_required = forms.BooleanField(label="Two-way contact required first", required=False)
    keeps_alive = forms.ChoiceField(label="What keeps it alive", choices=KeepsAlive.choices)
    window_hours = forms.IntegerField(label="Window (hours)", min_value=1, max_value=MAX_WINDOW_HOURS)
    min_evidence = forms.ChoiceField(label="Minimum evidence", choices=MinEvidence.choices)
    share_when_other_closes = forms.DecimalField(
        label="Share when another closes (0 to 1)", min_value=0, max_value=1, max_digits=4, decimal_places=3,
        widget=forms.NumberInput(attrs={"step": "0.001"}),
    )
    pause_on_days_off = forms.BooleanField(label="Window pauses on days off", required=False)
    min_talk_seconds = forms.IntegerField(label="Minimum talk time (seconds)", min_value=0, max_value=32767)
    name = forms.CharField(max_length=100)
    note = forms.CharField(
        max_length=300, required=False, label="Why this version", widget=forms.Textarea(attrs={"rows": 2})
    )
    effective_from = forms.DateTimeField(
        label="Effective from", input_formats=[LOCAL_INPUT_FORMAT],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT_FORMAT),
    )

    def parameter_fields(self):
        return [self[f] for f, _label in COMPARED if f != "name"]


def _preset_initial(name: str) -> dict:
    params = PRESETS[name].to_dict()
    initial = {k: params[k] for k in services.POLICY_FIELDS if k in params}
    initial["share_when_other_closes"] = Decimal(str(initial["share_when_other_closes"]))
    initial["role"] = params.get("role") or ""
    initial["preset"] = name
    return initial


@login_required
def policy_new(request):
    viewer = _require_store_wide(request)
    store = page_store(request, viewer)
    now_local = timezone.localtime(timezone.now(), store.tz).replace(second=0, microsecond=0, tzinfo=None)
    with timezone.override(store.tz):
        if request.method == "POST" and "load_preset" not in request.POST:
            form = PolicyVersionForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    policy = services.policy_version_create(
                        store=store, role=data["role"], effective_from=data["effective_from"],
                        created_by=viewer.staff, note=data["note"].strip(),
                        **{k: data[k] for k in services.POLICY_FIELDS},
                    )
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.success(
                        request,
                        f"Version {policy.version} of {policy.get_role_display()} policy from "
                        f"{_local(policy.effective_from, store)}",
                    )
                    return redirect(f"{reverse('coverage_policies:list')}?store={store.pk}")
        else:
            source = request.POST if request.method == "POST" else request.GET
            initial = {"effective_from": now_local, "min_talk_seconds": 30, "share_when_other_closes": Decimal("0.5")}
            name = source.get("preset")
            if name in PRESETS:
                initial.update(_preset_initial(name))
            for key in ("role", "note", "effective_from", *(() if name in PRESETS else ("name",))):
                if source.get(key):
                    initial[key] = source[key]
            form = PolicyVersionForm(initial=initial)
        # Rendered inside the override so the datetime-local shows the store's wall clock.
        return render(
            request, "coverage/policy_new.html",
            {"form": form, "store": store, "stores": stores_for(request.user).order_by("name"), "viewer": viewer},
        )


# --------------------------------------------------------------------------------------
# Two versions side by side
# --------------------------------------------------------------------------------------


def _version(request, key: str) -> CoveragePolicy:
    try:
        pk = int(request.GET.get(key, ""))
    except ValueError:
        raise Http404(f"Pick two versions to compare ({key} is missing).") from None
    return get_object_or_404(coverage_policies_for(request.user).select_related("store", "created_by__user"), pk=pk)


@login_required
def policy_compare(request):
    viewer = _require_store_wide(request)
    a, b = _version(request, "a"), _version(request, "b")
    rows = [
        {
            "field": field, "label": label, "a": _value_words(a, field), "b": _value_words(b, field),
            "differs": getattr(a, field) != getattr(b, field),
        }
        for field, label in COMPARED
    ]
    sides = [
        {
            "policy": p, "effective": _local(p.effective_from, p.store),
            "created_by": p.created_by.display_name if p.created_by else "—",
        }
        for p in (a, b)
    ]
    return render(
        request, "coverage/policy_compare.html",
        {"a": sides[0], "b": sides[1], "rows": rows, "viewer": viewer,
         "differences": sum(r["differs"] for r in rows)},
    )
