"""The what-if replay page: a proposed policy per role against a store's past deals.

GET /coverage/replay/ shows the form; with its parameters it shows the result, and
`?format=csv` / `?format=json` give the same result as a per-person CSV or as JSON.
POST /coverage/replay/api/ takes JSON ({"store", "start", "end", "policies": {role: preset or
parameters}}) and answers the same JSON. Directors, admins and sales managers, in their stores.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
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

from coverage.presets import PRESETS
from coverage.replay import ReplayResult, fmt, replay
from coverage.serializers import PolicyField
from org.models import Role
from org.scoping import stores_for, viewer_for

ROLES = [(Role.INTERNET_AGENT, "Internet agent"), (Role.RETAIL, "Retail salesperson"), (Role.FLEET, "Fleet")]


def may_replay(user) -> bool:
    viewer = viewer_for(user)
    return viewer.everything or viewer.is_store_wide or viewer.is_manager


def _policy(value, role: str):
    """PolicyField's parsing, reused; a ValidationError's message goes to the form."""
    field = PolicyField()
    try:
        policy = field.to_internal_value(value)
    except serializers.ValidationError as exc:
        raise forms.ValidationError(" ".join(str(m) for m in exc.detail)) from None
    if not policy.role:
        policy = dataclasses.replace(policy, role=role)
    return policy


class ReplayForm(forms.Form):
    store = forms.ModelChoiceField(queryset=None, empty_label=None)
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="First day, inclusive.")
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="Last day, inclusive.")

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        choices = [("", "(keep the current policy)"), *[(name, name) for name in PRESETS]]
        for role, label in ROLES:
            self.fields[f"preset_{role}"] = forms.ChoiceField(label=f"{label}: preset", choices=choices, required=False)
            self.fields[f"params_{role}"] = forms.CharField(
                label=f"{label}: parameters (JSON, optional)", required=False,
                widget=forms.TextInput(attrs={"placeholder": '{"preset": "internet-72h", "window_hours": 96}'}),
            )

    def role_fields(self):
        return [(label, self[f"preset_{role}"], self[f"params_{role}"]) for role, label in ROLES]

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end is before the start.")
        proposed = {}
        for role, _label in ROLES:
            raw = (data.get(f"params_{role}") or "").strip()
            name = data.get(f"preset_{role}")
            try:
                if raw:
                    try:
                        value = json.loads(raw)
                    except ValueError:
                        raise forms.ValidationError("Not valid JSON.") from None
                    if isinstance(value, dict) and name and "preset" not in value and "keeps_alive" not in value:
                        value = {"preset": name, **value}
                    proposed[role] = _policy(value, role)
                elif name:
                    proposed[role] = _policy(name, role)
            except forms.ValidationError as exc:
                self.add_error(f"params_{role}", exc)
        if not proposed and not self.errors:
            raise forms.ValidationError("Propose a policy for at least one role.")
        data["proposed"] = proposed
        return data

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        zone = ZoneInfo(self.cleaned_data["store"].time_zone)
        start = dt.datetime.combine(self.cleaned_data["start"], dt.time(), tzinfo=zone)
        end = dt.datetime.combine(self.cleaned_data["end"] + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return start, end


def _chart(result: ReplayResult) -> dict:
    """Bars for an inline SVG: now and proposed per person, scaled to the largest."""
    rows = result.people[:20]
    top = max([r.now for r in rows] + [r.proposed for r in rows] + [Decimal(1)])
    width, bar = 300, 10
    bars = []
    for index, row in enumerate(rows):
        y = index * (2 * bar + 8)
        bars.append({
            "name": row.name, "y": y, "text_y": y + bar + 4,
            "now": round(float(row.now / top) * width, 1), "proposed": round(float(row.proposed / top) * width, 1),
            "now_y": y, "proposed_y": y + bar, "now_value": fmt(row.now), "proposed_value": fmt(row.proposed),
        })
    return {"bars": bars, "height": max(1, len(rows)) * (2 * bar + 8), "bar": bar, "width": width}


def _csv(result: ReplayResult) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="replay-{result.store.slug}-{result.start:%Y%m%d}-{result.end:%Y%m%d}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(["staff_id", "name", "team", "deals", "credit_now", "credit_proposed", "difference"])
    for row in result.people:
        writer.writerow([row.key, row.name, row.team, row.deals, fmt(row.now), fmt(row.proposed), fmt(row.difference)])
    return response


@login_required
def replay_page(request):
    if not may_replay(request.user):
        raise PermissionDenied("The replay is for directors, admins and sales managers.")
    stores = stores_for(request.user).order_by("name")
    viewer = viewer_for(request.user)
    result = None
    if request.GET.get("start") or request.GET.get("end"):
        form = ReplayForm(request.GET, stores=stores)
    else:
        today = timezone.localdate()
        initial = {"start": today - dt.timedelta(days=30), "end": today,
                   "store": viewer.staff.store_id if viewer.staff else None}
        form = ReplayForm(initial=initial, stores=stores)
    wanted = request.GET.get("format", "")
    if form.is_bound and form.is_valid():
        start, end = form.bounds()
        result = replay(store=form.cleaned_data["store"], proposed=form.cleaned_data["proposed"], start=start, end=end)
        if wanted == "csv":
            return _csv(result)
        if wanted == "json":
            return JsonResponse(result.to_dict())
    elif form.is_bound and wanted in ("csv", "json"):
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "coverage/replay.html", {
        "form": form, "result": result, "chart": _chart(result) if result and not result.empty else None,
        "query": query.urlencode(),
    }, status=400 if form.is_bound and not form.is_valid() else 200)


class ReplayRequestSerializer(serializers.Serializer):
    store = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    policies = serializers.DictField(child=PolicyField(), allow_empty=False)

    def validate_policies(self, value):
        unknown = set(value) - {role for role, _ in ROLES}
        if unknown:
            raise serializers.ValidationError(f"Unknown role(s): {', '.join(sorted(unknown))}.")
        return {role: p if p.role else dataclasses.replace(p, role=role) for role, p in value.items()}

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
            return Response({"store": ["No such store."]}, status=404)
        result = replay(store=store, proposed=data["policies"], start=data["start"], end=data["end"])
        return Response(result.to_dict())
