"""The what-if replay page: a proposed policy per role against a store's past deals.

GET /coverage/replay/ shows the form: per role, a start (one of the store's saved versions or a
preset) and its parameters as edited; picking another start loads its parameters and computes
nothing. With valid parameters it shows the result; `?format=deals_csv` (a row per deal),
`?format=csv` (per person) and `?format=json` give the same result. Bad parameters are field
errors (400), checked by replay.parameter_errors, the API's rule too.
POST /coverage/replay/api/ takes JSON ({"store", "start", "end", "policies": {role: preset or
parameters}}) and answers the same JSON. Directors, admins and sales managers, in their stores.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from dealcoverage import formatting
from dealcoverage import replay as replay_rules
from dealcoverage.models import KeepsAlive, MinEvidence
from dealcoverage.presets import PRESETS
from dealcoverage.replay import ReplayResult, fmt, replay
from dealcoverage.serializers import PolicyField
from org.models import Role
from org.scoping import stores_for, viewer_for

ROLES = [(Role.INTERNET_AGENT, "Internet agent"), (Role.RETAIL, "Retail salesperson"), (Role.FLEET, "Fleet")]


def may_replay(user) -> bool:
    viewer = viewer_for(user)
    return viewer.everything or viewer.is_store_wide or viewer.is_manager


def _choices(bases: list[replay_rules.Base]) -> list:
    saved = [(b.key, b.label) for b in bases if b.key.startswith("version:")]
    presets = [(b.key, b.label) for b in bases if b.key.startswith("preset:")]
    groups: list = [("", "(no change)")]
    if saved:
        groups.append(("This store's saved versions", saved))
    if presets:
        groups.append(("Presets", presets))
    return groups


class ReplayForm(forms.Form):
    """The proposal as a form: per role, a starting point (one of the store's saved versions or a
    preset) and its parameters, as edited. Changing the starting point loads its parameters
    (`load_from`); checking them is replay.parameter_errors, the JSON API's rule too."""

    store = forms.ModelChoiceField(queryset=None, empty_label=None)
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="First day, inclusive.")
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="Last day, inclusive.")

    def __init__(self, *args, stores, now: dt.datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.now = now
        raw_store = self.data.get("store") if self.is_bound else self.initial.get("store")
        try:
            self.base_store = stores.filter(pk=int(getattr(raw_store, "pk", raw_store))).first()
        except (TypeError, ValueError):
            self.base_store = None
        self.base_store = self.base_store or stores.first()
        roles = [role for role, _label in ROLES]
        self.bases = replay_rules.bases(self.base_store, roles, now) if self.base_store else {r: [] for r in roles}
        labels = replay_rules.PARAMETER_LABELS
        for role, label in ROLES:
            self.fields[f"{role}-source"] = forms.ChoiceField(
                label=f"{label}: start from", choices=_choices(self.bases[role]), required=False,
            )
            self.fields[f"{role}-loaded"] = forms.CharField(widget=forms.HiddenInput, required=False)
            self.fields[f"{role}-initial_two_way_required"] = forms.BooleanField(
                label=labels["initial_two_way_required"], required=False)
            self.fields[f"{role}-keeps_alive"] = forms.ChoiceField(
                label=labels["keeps_alive"], choices=[("", "—"), *KeepsAlive.choices], required=False)
            self.fields[f"{role}-window_hours"] = forms.IntegerField(
                label=labels["window_hours"], required=False,
                error_messages={"invalid": "Window (hours): give a whole number of hours."},
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            self.fields[f"{role}-min_evidence"] = forms.ChoiceField(
                label=labels["min_evidence"], choices=[("", "—"), *MinEvidence.choices], required=False)
            self.fields[f"{role}-share_when_other_closes"] = forms.DecimalField(
                label=labels["share_when_other_closes"], required=False,
                error_messages={"invalid": "Share when another closes: give a number from 0 to 1."},
                widget=forms.NumberInput(attrs={"step": "0.05", "inputmode": "decimal"}),
            )
            self.fields[f"{role}-pause_on_days_off"] = forms.BooleanField(
                label=labels["pause_on_days_off"], required=False)

    # -- loading a starting point ---------------------------------------------------------

    def base(self, role: str, key: str) -> replay_rules.Base | None:
        return next((b for b in self.bases.get(role, []) if b.key == key), None)

    def load_from(self, role: str, key: str) -> replay_rules.Base | None:
        """Put the base's parameters into the (unbound) form's initial values."""
        base = self.base(role, key)
        self.initial[f"{role}-source"] = key if base else ""
        self.initial[f"{role}-loaded"] = key if base else ""
        if base is not None:
            for name in replay_rules.PROPOSAL_PARAMETERS:
                value = getattr(base.policy, name)
                self.initial[f"{role}-{name}"] = fmt(value) if isinstance(value, Decimal) else value  # "0.5"
        return base

    @classmethod
    def reloaded(cls, query, *, stores, now) -> tuple[ReplayForm, list[str]]:
        """The query back as an unbound form, with the starting points that changed (or whose
        Load button was pressed) loaded; the roles loaded."""
        form = cls(stores=stores, now=now)
        for name, field in form.fields.items():
            if isinstance(field, forms.BooleanField):
                form.initial[name] = query.get(name) in ("on", "true", "True", "1")
            elif name in query:
                form.initial[name] = query.get(name)
        form = cls(initial=form.initial, stores=stores, now=now)  # the store asked for, its versions
        loaded = []
        for role, _label in ROLES:
            key = query.get(f"{role}-source", "")
            if query.get("load") == role or key != query.get(f"{role}-loaded", ""):
                form.load_from(role, key)
                loaded.append(role)
        return form, loaded

    @staticmethod
    def needs_loading(query) -> bool:
        return bool(query.get("load")) or any(
            query.get(f"{role}-source", "") != query.get(f"{role}-loaded", "") for role, _label in ROLES
        )

    # -- the page -------------------------------------------------------------------------

    def roles(self):
        out = []
        for role, label in ROLES:
            source = self[f"{role}-source"]
            value = source.value() or ""
            out.append({
                "role": role, "label": label, "source": source, "loaded": self[f"{role}-loaded"],
                "active": bool(value),
                "params": [self[f"{role}-{name}"] for name in replay_rules.PROPOSAL_PARAMETERS],
            })
        return out

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        store = data.get("store")
        if store is not None and store != self.base_store:
            self.add_error("store", "The store changed: pick the starting points again.")
            return data
        proposed = {}
        for role, label in ROLES:
            key = data.get(f"{role}-source") or ""
            if not key:
                continue
            base = self.base(role, key)
            if base is None:
                self.add_error(f"{role}-source", f"{label}: pick one of this store's versions or a preset.")
                continue
            values, problems = {}, 0
            for name in replay_rules.PROPOSAL_PARAMETERS:
                field = f"{role}-{name}"
                value = data.get(field)
                if field in self.errors:
                    problems += 1
                elif value is None or value == "":
                    self.add_error(field, f"{replay_rules.PARAMETER_LABELS[name]} is required.")
                    problems += 1
                else:
                    values[name] = value
            for name, message in replay_rules.parameter_errors(values).items():
                self.add_error(f"{role}-{name}", message)
                problems += 1
            if not problems:
                proposed[role] = replay_rules.build_proposal(base, values, role)
        if not proposed and not self.errors:
            raise forms.ValidationError("Pick a starting policy for at least one role and change what you propose.")
        data["proposed"] = proposed
        return data

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        zone = ZoneInfo(self.cleaned_data["store"].time_zone)
        start = dt.datetime.combine(self.cleaned_data["start"], dt.time(), tzinfo=zone)
        end = dt.datetime.combine(self.cleaned_data["end"] + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return start, end


def _chart(result: ReplayResult) -> dict:
    """Bars, now and proposed, for EVERYONE whose credit changes (no top-N: the trial's chart
    showed 20 of 23), as percentages of the largest value so they fit any screen."""
    rows = [r for r in result.people if r.difference]
    top = max([r.now for r in rows] + [r.proposed for r in rows] + [Decimal(1)])
    bars = [{
        "name": row.name, "team": row.team,
        "now": round(float(row.now / top) * 85, 1), "proposed": round(float(row.proposed / top) * 85, 1),
        "now_value": formatting.deals(row.now), "proposed_value": formatting.deals(row.proposed),
        "difference": fmt(row.difference, sign=True), "gain": row.difference > 0,
    } for row in rows]
    return {"bars": bars, "unchanged": len(result.people) - len(rows)}


def _csv_response(result: ReplayResult, kind: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="replay-{kind}-{result.store.slug}-{result.start:%Y%m%d}-{result.end:%Y%m%d}.csv"'
    )
    return response


def _csv(result: ReplayResult) -> HttpResponse:
    """Per person: credit now, proposed and the difference, in deals."""
    response = _csv_response(result, "people")
    writer = csv.writer(response)
    writer.writerow(["staff_id", "name", "team", "deals", "credit_now", "credit_proposed", "difference"])
    for row in result.people:
        writer.writerow([row.key, row.name, row.team, row.deals, fmt(row.now), fmt(row.proposed), fmt(row.difference)])
    return response


def _deals_csv(result: ReplayResult) -> HttpResponse:
    """Per deal: who closed it, the split as it stands and under the proposal, and each person's
    share (a fraction of the deal, 0.5 = half) now and proposed, a column pair per person."""
    response = _csv_response(result, "deals")
    writer = csv.writer(response)
    people = result.people
    writer.writerow([
        "deal_id", "sold_at", "customer", "closer", "changed", "overridden", "split_now", "split_proposed",
        *[f"{label} {row.name} (#{row.key})" for row in people for label in ("now:", "proposed:")],
    ])
    zone = result.store.tz
    for deal in result.deals:
        writer.writerow([
            deal.deal_id, deal.sold_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), deal.customer, deal.closer,
            "yes" if deal.changed else "no", "yes" if deal.overridden else "no",
            deal.split_words("now"), deal.split_words("proposed"),
            *[fmt(shares.get(row.key, Decimal(0))) for row in people for shares in (deal.now, deal.proposed)],
        ])
    return response


@login_required
def replay_page(request):
    if not may_replay(request.user):
        raise PermissionDenied("The replay is for directors, admins and sales managers.")
    stores = stores_for(request.user).order_by("name")
    viewer = viewer_for(request.user)
    now = timezone.now()
    query = request.GET
    result, loaded = None, []
    wanted = query.get("format", "")
    if query.get("start") or query.get("end"):
        if ReplayForm.needs_loading(query) and wanted not in ("csv", "deals_csv", "json"):
            form, loaded = ReplayForm.reloaded(query, stores=stores, now=now)
        else:
            form = ReplayForm(query, stores=stores, now=now)
    else:
        store = stores.filter(pk=viewer.staff.store_id).first() if viewer.staff else None
        today = timezone.localdate(now, (store or stores.first()).tz) if (store or stores.first()) else now.date()
        form = ReplayForm(initial={"start": today - dt.timedelta(days=30), "end": today,
                                   "store": (store or stores.first())}, stores=stores, now=now)
        # The internet agents' version in force is where a director's what-if usually starts.
        current = next((b for b in form.bases.get(Role.INTERNET_AGENT, []) if b.in_force), None)
        if current is not None:
            form.load_from(Role.INTERNET_AGENT, current.key)
    if form.is_bound and form.is_valid():
        start, end = form.bounds()
        result = replay(store=form.cleaned_data["store"], proposed=form.cleaned_data["proposed"], start=start, end=end)
        if wanted == "csv":
            return _csv(result)
        if wanted == "deals_csv":
            return _deals_csv(result)
        if wanted == "json":
            return JsonResponse(result.to_dict())
    elif form.is_bound and wanted in ("csv", "deals_csv", "json"):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    link = query.copy()
    link.pop("format", None)
    link.pop("load", None)
    return render(request, "coverage/replay.html", {
        "form": form, "result": result, "chart": _chart(result) if result and not result.empty else None,
        "query": link.urlencode(), "loaded": [label for role, label in ROLES if role in loaded],
        "proposals": [
            {"role": label, "policy": p, "summary": replay_rules.summary(p)}
            for role, label in ROLES if (p := result.proposed.get(role)) is not None
        ] if result else [],
    }, status=400 if form.is_bound and not form.is_valid() else 200)


class ReplayRequestSerializer(serializers.Serializer):
    store = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    policies = serializers.DictField(child=PolicyField(), allow_empty=False)

    def to_internal_value(self, data):
        # The page's rule first, on the raw parameters, so a window of 0 or a share over 1 is
        # reported per field in the same words: {"policies": {"internet_agent": {"window_hours": [...]}}}.
        raw = data.get("policies") if hasattr(data, "get") else None
        if isinstance(raw, dict):
            errors = {
                role: {name: [message] for name, message in replay_rules.parameter_errors(value).items()}
                for role, value in raw.items() if isinstance(value, dict) and replay_rules.parameter_errors(value)
            }
            if errors:
                raise serializers.ValidationError({"policies": errors})
        return super().to_internal_value(data)

    def validate_policies(self, value):
        unknown = set(value) - {role for role, _ in ROLES}
        if unknown:
            raise serializers.ValidationError(f"Unknown role(s): {', '.join(sorted(unknown))}.")
        raw = self.initial_data.get("policies", {})
        named = {}
        for role, policy in value.items():
            policy = policy if policy.role else dataclasses.replace(policy, role=role)
            given = raw.get(role)
            given = {"preset": given} if isinstance(given, str) else given
            if isinstance(given, dict) and given.get("preset") in PRESETS and not given.get("name"):
                # Named for what it is, as on the page: 'internet-72h + days-off pause', not 'internet-72h'.
                base = dataclasses.replace(PRESETS[given["preset"]], role=role)
                policy = replay_rules.name_proposal(base, given["preset"], policy)
            named[role] = policy
        return named

    def validate(self, attrs):
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": "The end must be after the start."})
        return attrs


@extend_schema(tags=["coverage"], request=ReplayRequestSerializer, responses={200: OpenApiTypes.OBJECT})
class ReplayApiView(APIView):
    """POST the proposal as JSON; the same result as the page's ?format=json."""

    def post(self, request):
        if not may_replay(request.user):
            raise PermissionDenied("The replay is for directors, admins and sales managers.")
        serializer = ReplayRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        store = stores_for(request.user).filter(pk=data["store"]).first()
        if store is None:
            # A body's field naming nothing the caller may see: 400, as every API body answers it.
            return Response({"store": [f"Unknown store {data['store']}."]}, status=400)
        result = replay(store=store, proposed=data["policies"], start=data["start"], end=data["end"])
        return Response(result.to_dict())
