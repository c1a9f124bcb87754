"""Call review: managers, the director and admins list recorded calls of the people they may see,
filter them by person, outcome and date, and play them in place.

Who may listen is telephony.calls.can_play_recording; the list below selects exactly the calls that
rule lets the viewer play (so every row's player is playable without a query per row), and the
audio streams through the same permission-checked view (telephony:call_recording).
Paginated without COUNT; a fixed number of queries per page.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import InvalidPage
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from common.pagination import paginate_without_count
from leads.models import Channel, ContactEvent, Outcome
from leads.scoping import leads_for
from org import hours
from org.models import Role, Staff
from org.scoping import staff_for, stores_for, viewer_for
from telephony.call_verdicts import duration_text
from telephony.models import Call

PAGE_SIZE = 25
OUTCOMES = [Outcome.CONNECTED, Outcome.VOICEMAIL, Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED]
CALLING_ROLES = [Role.INTERNET_AGENT, Role.RETAIL, Role.FLEET, Role.SALES_MANAGER, Role.INTERNET_DIRECTOR]
PEOPLE_LIMIT = 2000


def may_review_calls(viewer) -> bool:
    return viewer.everything or viewer.is_store_wide or viewer.is_manager


def _team_people(viewer) -> list[int]:
    """A manager's people: the members of the teams they manage, and themselves."""
    ids = list(Staff.objects.filter(team__manager=viewer.staff).values_list("pk", flat=True))
    return [*ids, viewer.staff.pk]


def recorded_calls_for(user, people: list[int] | None = None):
    """Recorded calls (the audio is here or being fetched) the user may play, mirroring
    telephony.calls.can_play_recording: the director and admins their store's (group's), a
    manager the calls made or answered by their people or on leads their people own."""
    viewer = viewer_for(user)
    calls = Call.objects.filter(Q(recording_file__gt="") | Q(recording_sid__gt=""))
    if viewer.everything:
        return calls
    if viewer.staff is None or not may_review_calls(viewer):
        return calls.none()
    calls = calls.filter(store__in=stores_for(user))
    if viewer.is_store_wide:
        return calls
    people = people if people is not None else _team_people(viewer)
    return calls.filter(Q(staff_id__in=people) | Q(lead__owner_id__in=people))


class CallFilterForm(forms.Form):
    staff = forms.TypedChoiceField(label="Person", required=False, coerce=int, empty_value=None)
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any outcome"), *[(o.value, o.label) for o in OUTCOMES]]
    )
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, people: list[Staff], many_stores: bool, **kwargs):
        super().__init__(*args, **kwargs)
        label = (lambda p: f"{p.display_name} · {p.store.name}") if many_stores else (lambda p: p.display_name)
        self.fields["staff"].choices = [("", "Everyone")] + [(p.pk, label(p)) for p in people]
        self.fields["staff"].error_messages["invalid_choice"] = "Pick a person from the list (someone whose calls you review)."

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data


def _people(user, viewer, many_stores: bool) -> list[Staff]:
    if viewer.is_store_wide or viewer.everything:
        people = staff_for(user).filter(role__in=CALLING_ROLES)
    else:
        people = Staff.objects.filter(pk__in=_team_people(viewer))
    people = people.select_related("user", "store")
    return list(people.order_by("store__name", "user__first_name", "user__last_name", "pk")[:PEOPLE_LIMIT])


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=timezone.get_current_timezone())


@login_required
@require_GET
def call_list(request):
    viewer = viewer_for(request.user)
    if not may_review_calls(viewer):
        raise PermissionDenied("Call review is for sales managers, the internet director and admins.")
    many_stores = viewer.everything or viewer.is_group_admin
    people = _people(request.user, viewer, many_stores)
    form = CallFilterForm(request.GET or None, people=people, many_stores=many_stores)
    calls = recorded_calls_for(
        request.user, people=[p.pk for p in people] if viewer.is_manager and not viewer.is_store_wide else None
    )
    status = 200
    if form.is_bound and not form.is_valid():
        status = 400
        calls = calls.none()
    elif form.is_bound:
        data = form.cleaned_data
        if data["staff"]:
            calls = calls.filter(staff_id=data["staff"])
        if data["date_from"]:
            calls = calls.filter(created_at__gte=_day_start(data["date_from"]))
        if data["date_to"]:
            calls = calls.filter(created_at__lt=_day_start(data["date_to"] + dt.timedelta(days=1)))
    # The call's outcome is its current (unsuperseded) contact event's: the same fact the timeline shows.
    current = ContactEvent.objects.filter(
        customer_id=OuterRef("customer_id"), call_sid=OuterRef("call_sid"), channel=Channel.CALL,
        superseded_by__isnull=True,
    ).order_by("-id")
    calls = calls.annotate(
        outcome=Subquery(current.values("outcome")[:1]),
        event_talk_seconds=Subquery(current.values("talk_seconds")[:1]),
        answered_by_person=Subquery(current.values("answered_by_person")[:1]),
    )
    if form.is_bound and form.is_valid() and form.cleaned_data["outcome"]:
        calls = calls.filter(outcome=form.cleaned_data["outcome"])
    calls = calls.select_related("staff__user", "customer", "lead__customer", "store").order_by("-created_at", "-id")
    try:
        page = paginate_without_count(calls, request.GET.get("page"), PAGE_SIZE)
    except InvalidPage:
        raise Http404("No such page.") from None
    lead_ids = {call.lead_id for call in page if call.lead_id}
    visible = set(leads_for(request.user).filter(pk__in=lead_ids).values_list("pk", flat=True)) if lead_ids else set()
    labels = dict(Outcome.choices)
    now = timezone.now()
    for call in page:
        day = hours.local_date(call.store.tz, call.created_at)
        today = hours.local_date(call.store.tz, now)
        call.day_label = "Today" if day == today else ("Yesterday" if day == today - dt.timedelta(days=1) else "")
        talk = call.talk_seconds if call.talk_seconds is not None else call.event_talk_seconds
        call.talk_text = duration_text(talk) if talk is not None else ""
        call.outcome_label = labels.get(call.outcome) or call.get_status_display()
        call.who = call.customer or (call.lead.customer if call.lead_id else None)
        call.lead_visible = call.lead_id in visible
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "many_stores": many_stores,
        "filtered": any(request.GET.get(k) for k in ("staff", "outcome", "date_from", "date_to")),
        "presets": _presets(request),
    }
    return render(request, "leads/calls_review.html", context, status=status)


def _presets(request) -> list[tuple[str, str, bool]]:
    """Quick date ranges keeping the other filters: (label, query string, is it the one shown)."""
    today = timezone.localdate()
    ranges = [
        ("Today", today, today),
        ("Yesterday", today - dt.timedelta(days=1), today - dt.timedelta(days=1)),
        ("Last 7 days", today - dt.timedelta(days=6), today),
        ("Last 30 days", today - dt.timedelta(days=29), today),
    ]
    presets = []
    for label, start, end in ranges:
        query = request.GET.copy()
        query.pop("page", None)
        query["date_from"], query["date_to"] = start.isoformat(), end.isoformat()
        current = request.GET.get("date_from") == start.isoformat() and request.GET.get("date_to") == end.isoformat()
        presets.append((label, query.urlencode(), current))
    return presets
