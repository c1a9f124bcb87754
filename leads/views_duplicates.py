"""The possible duplicate customers' review queue (leads.duplicates): thin."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import InvalidPage
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.pagination import paginate_without_count
from leads import duplicates
from leads import merge as merge_services
from leads.models import DuplicateStatus
from leads.permissions import DUPLICATES_REFUSED, can_review_duplicates

PAGE = 25
RECENT_MERGES = 10


@login_required
@require_GET
def queue(request):
    if not can_review_duplicates(request.user):
        raise PermissionDenied(DUPLICATES_REFUSED)
    pending = (duplicates.duplicates_for(request.user).filter(status=DuplicateStatus.PENDING)
               .select_related("lead", "other").order_by("-created_at", "-pk"))
    try:
        page = paginate_without_count(pending, request.GET.get("page"), PAGE)
    except InvalidPage:
        raise Http404("No such page.") from None
    pairs = list(page)
    sides = duplicates.sides(pairs, request.user)
    rows = []
    for pair in pairs:
        new, existing = sides.get(pair.customer_id), sides.get(pair.other_id)
        lead_visible = any(lead.pk == pair.lead_id and lead.visible for side in (new, existing) if side for lead in side.leads)
        rows.append({"pair": pair, "new": new, "existing": existing, "lead_visible": lead_visible})
    merges = list(duplicates.merges_for(request.user).filter(split_at__isnull=True)
                  .select_related("survivor", "merged", "by__user").order_by("-at", "-pk")[:RECENT_MERGES])
    return render(request, "leads/duplicates.html", {"rows": rows, "page": page, "merges": merges})


@login_required
@require_POST
def different(request, pk: int):
    pair = get_object_or_404(duplicates.duplicates_for(request.user), pk=pk)
    try:
        duplicates.duplicate_mark_different(pair=pair, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Kept apart: {pair.customer} and {pair.other} are different people.")
    return redirect("leads_duplicates:queue")


@login_required
@require_POST
def merge(request, pk: int):
    """Merge the pair's new customer into the existing one (the older record survives)."""
    pair = get_object_or_404(duplicates.duplicates_for(request.user).select_related("customer", "other"), pk=pk)
    try:
        merge_services.customers_merge(survivor=pair.other, merged=pair.customer, user=request.user, pair=pair,
                                       reason=pair.reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Merged: {pair.customer} is now part of {pair.other}. Split it from Recent merges "
                                  "below if that was wrong.")
    return redirect("leads_duplicates:queue")


@login_required
@require_POST
def split(request, pk: int):
    record = get_object_or_404(duplicates.merges_for(request.user).select_related("survivor", "merged"), pk=pk)
    try:
        merge_services.merge_split(merge=record, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Split: {record.merged} and {record.survivor} are two customers again, as before.")
    return redirect("leads_duplicates:queue")
