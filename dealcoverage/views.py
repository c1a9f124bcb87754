"""Browser pages for coverage: live coverage on a lead, coverage ending soon, deals with their frozen
credit, overrides and disputes. Thin: scope the query, validate the form, call a service."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import InvalidPage
from django.db.models import Exists, OuterRef, Prefetch, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from common.pagination import paginate_ids, paginate_without_count
from dealcoverage import live, permissions, selectors, services
from dealcoverage.formatting import percent_number
from dealcoverage.models import Deal, DealCredit, DisputeStatus
from dealcoverage.scoping import deals_disputable_by, deals_for, disputes_for
from dealcoverage.verdicts import viewer_verdict
from leads.scoping import leads_for, leads_recordable_for
from leads.services import lead_search_q
from org.models import Role, Staff
from org.scoping import staff_for, viewer_for

# Who may do what: dealcoverage.permissions (the API and the services ask the same predicates).


# --------------------------------------------------------------------------------------
# Live coverage and coverage ending soon
# --------------------------------------------------------------------------------------


@login_required
def lead_live(request, pk: int):
    """The lead page's coverage card (loaded by htmx so the lead page itself stays as it is)."""
    lead = get_object_or_404(leads_for(request.user).select_related("customer", "store"), pk=pk)
    coverage = live.lead_coverage(request.user, lead)
    viewer = viewer_for(request.user)
    return render(
        request, "coverage/_lead_coverage_body.html",
        {"lead": lead, "coverage": coverage, "can_set_up": viewer.is_store_wide},
    )


@login_required
def ending(request):
    viewer = viewer_for(request.user)
    if viewer.staff is None:
        raise Http404("Only staff of a store have customers.")
    has_policy, rows = live.coverage_ending(request.user, viewer.staff)
    return render(request, "coverage/ending.html", {"has_policy": has_policy, "rows": rows})


# --------------------------------------------------------------------------------------
# Deals
# --------------------------------------------------------------------------------------


def _month_start(user) -> dt.datetime:
    viewer = viewer_for(user)
    zone = viewer.staff.store.tz if viewer.staff else timezone.get_current_timezone()
    local = timezone.now().astimezone(zone)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _credits_prefetch():
    return Prefetch(
        "credits", queryset=DealCredit.objects.filter(active=True).select_related("staff__user"), to_attr="active_credits"
    )


NEAR_MISS_HOURS = 24
NEAR_MISS_SCAN = 500  # the month's latest deals the near misses are read from
DEALS_PAGE = 50
CLOSER_ROLES = (Role.INTERNET_AGENT, Role.RETAIL, Role.FLEET, Role.SALES_MANAGER)


def _parse_when(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when if timezone.is_aware(when) else None


def near_misses(deals, credited: dict[int, set[int]]) -> list[dict]:
    """People judged on a deal, not credited on it, whose coverage ended less than 24 h before the
    sale (read from the frozen decision, never re-judged). Sorted closest miss first."""
    misses = []
    for deal in deals:
        for staff_id, d in ((deal.decision or {}).get("decisions") or {}).items():
            try:
                staff_id = int(staff_id)
            except (TypeError, ValueError):
                continue
            if d.get("covered") or staff_id in credited.get(deal.pk, set()) or staff_id == deal.closer_id:
                continue
            until = _parse_when(d.get("covered_until"))
            if until is None:
                continue
            gap = deal.sold_at - until
            if dt.timedelta(0) < gap < dt.timedelta(hours=NEAR_MISS_HOURS):
                hours = max(1, round(gap.total_seconds() / 3600))
                misses.append({"deal": deal, "staff_id": staff_id, "until": until, "gap": gap, "hours": hours})
    misses.sort(key=lambda m: (m["gap"], -m["deal"].pk))
    return misses


def month_near_misses(month) -> list[dict]:
    """near_misses over the month's latest NEAR_MISS_SCAN deals, whatever page the list shows:
    the uncovered judgements read inside PostgreSQL (dealcoverage.selectors.uncovered_judgements) and
    the active credits as bare values, then only the deals with a miss are loaded, with their
    customers, for the links."""
    latest = list(month.order_by("-sold_at", "-id").values_list("pk", "sold_at", "closer_id")[:NEAR_MISS_SCAN])
    judged = selectors.uncovered_judgements([pk for pk, _, _ in latest])
    recent = [
        SimpleNamespace(pk=pk, decision={"decisions": judged[pk]}, sold_at=sold_at, closer_id=closer_id)
        for pk, sold_at, closer_id in latest if pk in judged
    ]
    credited: dict[int, set[int]] = defaultdict(set)
    for deal_id, staff_id in DealCredit.objects.filter(active=True, deal_id__in=[d.pk for d in recent]).values_list(
        "deal_id", "staff_id"
    ):
        credited[deal_id].add(staff_id)
    misses = near_misses(recent, credited)
    loaded = Deal.objects.select_related("customer").in_bulk({m["deal"].pk for m in misses})
    for miss in misses:
        miss["deal"] = loaded[miss["deal"].pk]
    return misses


def _credit_totals(deals_qs) -> tuple[list[dict], list[dict], set[int]]:
    """Sum of active shares this month per credited person and per team (the credit's team manager),
    from one grouped query."""
    per_person: dict[int, Decimal] = defaultdict(Decimal)
    per_team: dict[int, Decimal] = defaultdict(Decimal)
    grouped = (
        DealCredit.objects.filter(active=True, deal__in=deals_qs)
        .values_list("staff_id", "team_manager_id").annotate(total=Sum("share")).order_by()
    )
    for staff_id, team_manager_id, total in grouped:
        per_person[staff_id] += total
        if team_manager_id is not None:
            per_team[team_manager_id] += total
    people = [{"staff_id": k, "total": v} for k, v in sorted(per_person.items(), key=lambda kv: (-kv[1], kv[0]))]
    teams = [{"team_manager_id": k, "total": v} for k, v in sorted(per_team.items(), key=lambda kv: (-kv[1], kv[0]))]
    ids = set(per_person) | set(per_team)
    return people, teams, ids


@login_required
def deal_list(request):
    viewer = viewer_for(request.user)
    since = _month_start(request.user)
    month = deals_for(request.user).filter(sold_at__gte=since)
    reviewing = permissions.may_review(request.user)
    # A manager's month, decided once (deals_for's rule is not cheap for a manager's teams): the
    # page, the totals and the near misses read it by id. A director's is a plain filter already.
    seen = None
    if reviewing and not viewer.is_store_wide:
        seen = [pk for _, pk in sorted(month.values_list("sold_at", "pk"), reverse=True)]  # newest first, as the list

    def rows(deals):
        return (deals.select_related("customer", "closer__user").prefetch_related(_credits_prefetch())
                .annotate(overridden=Exists(DealCredit.objects.filter(deal_id=OuterRef("pk"), active=False))))

    try:
        if seen is None:
            page = paginate_without_count(rows(month).order_by("-sold_at", "-id"), request.GET.get("page"), DEALS_PAGE)
        else:
            page = paginate_ids(seen, request.GET.get("page"), DEALS_PAGE,
                                fetch=lambda ids: rows(deals_for(request.user).filter(pk__in=ids)))
    except InvalidPage:
        raise Http404("No such page.") from None
    deals = list(page)
    for deal in deals:  # what the frozen decision says about the viewer, and why
        deal.verdict = viewer_verdict(deal, viewer.staff.pk if viewer.staff else None)
    disputes = None
    dashboard = None
    if reviewing:
        # The same scope the API's review queue reads (GET /disputes/?status=open), narrowed to
        # the disputes this reviewer may settle (the agent's manager and the closer's alike).
        disputes = [
            d for d in disputes_for(request.user).filter(status=DisputeStatus.OPEN)
            .select_related("deal__customer", "raised_by__user").order_by("created_at")
            if permissions.can_resolve_dispute(request.user, d)
        ]
        if seen is None:
            in_month = latest = month
        else:
            in_month = Deal.objects.filter(pk__in=seen)
            latest = Deal.objects.filter(pk__in=seen[:NEAR_MISS_SCAN])
        people, teams, ids = _credit_totals(in_month)
        misses = month_near_misses(latest)
        ids |= {m["staff_id"] for m in misses}
        names = {
            s.pk: s for s in Staff.objects.filter(pk__in=ids).select_related("user").prefetch_related("managed_teams")
        } if ids else {}
        for row in people:
            row["staff"] = names.get(row["staff_id"])
        for row in teams:
            row["manager"] = names.get(row["team_manager_id"])
            row["teams"] = [t.name for t in row["manager"].managed_teams.all()] if row["manager"] else []
        for miss in misses:
            miss["staff"] = names.get(miss["staff_id"])
        dashboard = {"people": people, "teams": teams, "near_misses": misses}
    return render(
        request, "coverage/deal_list.html",
        {
            "deals": deals, "page": page, "query": "", "since": since, "disputes": disputes, "viewer": viewer, "dashboard": dashboard,
            "can_record": can_record(request.user),
        },
    )


def can_record(user) -> bool:
    return permissions.can_record_deal(user)


class DealForm(forms.Form):
    """A sale entered in the browser. The lead's customer is the deal's customer; sold_at is read
    in the store's time zone (the form is validated with that zone active)."""

    lead = forms.ModelChoiceField(
        queryset=None, widget=forms.NumberInput(attrs={"inputmode": "numeric"}), label="Lead #",
        error_messages={
            "invalid_choice": "No lead of this store with that number: search the customer by name, phone or email.",
            "required": "Pick the customer: search by name, phone or email.",
        },
    )
    closer = forms.ModelChoiceField(queryset=None, label="Closer", empty_label="Who closed the sale?")
    sold_at = forms.DateTimeField(
        label="Sold at", input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    vehicle = forms.CharField(max_length=200, required=False, label="Vehicle")
    stock_number = forms.CharField(max_length=40, required=False, label="Stock number")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = leads_recordable_for(user).select_related("customer", "store", "owner")
        self.fields["closer"].queryset = (
            staff_for(user).filter(is_active=True, role__in=CLOSER_ROLES).select_related("user")
            .order_by("user__first_name", "user__last_name", "pk")
        )
        self.fields["closer"].label_from_instance = lambda s: f"{s.display_name} ({s.get_role_display().lower()})"


SEARCH_LIMIT = 20


def sale_search(user, term: str) -> list:
    """The record-sale search: leads of the stores the user records for whose customer matches
    the name, phone or email (leads.services.lead_search_q), newest first."""
    term = (term or "").strip()
    if len(term) < 2:
        return []
    return list(
        leads_recordable_for(user).filter(lead_search_q(term), duplicate_of__isnull=True)
        .select_related("customer", "owner__user").prefetch_related("customer__phones", "customer__emails")
        .order_by("-received_at", "-pk")[:SEARCH_LIMIT]
    )


@login_required
def deal_new(request):
    viewer = viewer_for(request.user)
    if not can_record(request.user):
        raise PermissionDenied(permissions.RECORD_REFUSED)
    zone = viewer.staff.store.tz
    lead = None
    term = request.GET.get("q", "").strip()
    lead_id = request.POST.get("lead") if request.method == "POST" else request.GET.get("lead")
    if request.method == "GET" and lead_id:
        if not str(lead_id).isdigit():
            raise Http404("No such lead.")
        lead = get_object_or_404(leads_recordable_for(request.user).select_related("customer", "store"), pk=lead_id)
        zone = lead.store.tz
    status = 200
    with timezone.override(zone):
        if request.method == "POST":
            form = DealForm(request.POST, user=request.user)
            if form.is_valid():
                data = form.cleaned_data
                lead = data["lead"]
                try:
                    deal = services.deal_record(
                        store=lead.store, customer=lead.customer, lead=lead, closer=data["closer"],
                        sold_at=data["sold_at"], vehicle=data["vehicle"].strip(),
                        stock_number=data["stock_number"].strip(), source="browser", recorded_by=viewer.staff,
                    )
                except ValidationError as exc:
                    for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                        form.add_error("lead" if field == "customer" else field if field in form.fields else None, errors)
                except PermissionDenied as exc:  # who may record this sale: said on the form, nothing stored
                    form.add_error("closer", str(exc))
                    status = 403
                else:
                    messages.success(request, "Sale recorded; its credit is frozen as judged now.")
                    return redirect("coverage:deal_detail", pk=deal.pk)
            else:
                lead = form.cleaned_data.get("lead")
            status = status if status != 200 else 422
        else:
            initial = {"sold_at": timezone.localtime(timezone.now(), zone).replace(second=0, microsecond=0)}
            if lead is not None:
                initial["lead"] = lead.pk
            if viewer.staff.role in (Role.INTERNET_AGENT, Role.RETAIL, Role.FLEET):
                initial["closer"] = viewer.staff.pk  # a manager records others' sales: they pick the closer
            form = DealForm(initial=initial, user=request.user)
        response = render(
            request, "coverage/deal_new.html",
            {"form": form, "lead": lead, "zone": zone, "q": term, "results": sale_search(request.user, term) if term and lead is None else None},
            status=status,
        )
    return response


class OverrideForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=True,
        error_messages={"required": "An override needs a written reason."},
    )

    def __init__(self, *args, people: list[Staff], initial_shares: dict[int, Decimal], **kwargs):
        super().__init__(*args, **kwargs)
        self.people = people
        for person in people:
            self.fields[f"share_{person.pk}"] = forms.DecimalField(
                label=person.display_name, min_value=0, max_value=100, decimal_places=1, required=False,
                initial=percent_number(initial_shares.get(person.pk, Decimal(0))),  # "50", not "5E+1"
                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            )

    def share_fields(self):
        return [(person, self[f"share_{person.pk}"]) for person in self.people]

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("An override needs a written reason.")
        return reason

    def clean(self):
        cleaned = super().clean()
        shares = {}
        for person in self.people:
            value = cleaned.get(f"share_{person.pk}")
            if value:
                shares[person.pk] = (Decimal(value) / 100).quantize(Decimal("0.001"))
        if not self.errors and sum(shares.values(), Decimal(0)) != Decimal(1):
            raise ValidationError("The shares must add up to 100 %.")
        cleaned["shares"] = shares
        return cleaned


class DisputeForm(forms.Form):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), error_messages={"required": "Say what you dispute."},
        label="What is wrong with this split?",
    )


def _deal_people(deal: Deal, credits: list[DealCredit], user) -> list[Staff]:
    ids = {deal.closer_id, *(c.staff_id for c in credits)}
    ids |= {int(k) for k in (deal.decision or {}).get("decisions", {})}
    ids |= {int(s["staff_id"]) for s in (deal.decision or {}).get("skipped", [])}
    return list(staff_for(user).filter(pk__in=ids).select_related("user").order_by("user__first_name", "pk"))


@login_required
def deal_detail(request, pk: int, override_form=None, dispute_form=None, status: int = 200):
    deal = get_object_or_404(
        deals_for(request.user).select_related("customer", "closer__user", "lead", "store", "recorded_by__user"), pk=pk
    )
    credits = list(
        deal.credits.select_related("staff__user", "created_by__user").order_by("-active", "created_at", "-share", "id")
    )
    active = [c for c in credits if c.active]
    replaced = [c for c in credits if not c.active]
    override = next((c for c in active if c.override_reason), None)
    people = _deal_people(deal, credits, request.user)
    names = {p.pk: p for p in people}
    decision = deal.decision or {}
    judged = []
    for staff_id, d in decision.get("decisions", {}).items():
        judged.append({
            "staff": names.get(int(staff_id)), "staff_id": staff_id, "covered": d.get("covered"),
            "policy": d.get("policy", {}), "explanation": d.get("explanation", ""),
            "is_closer": int(staff_id) == deal.closer_id,
        })
    judged.sort(key=lambda j: (not j["is_closer"], not j["covered"]))
    summary = decision.get("explanation", "")
    winner = names.get(decision.get("winner_id") or 0)
    if winner is not None:  # the engine speaks of ids; the page of people
        summary = summary.replace(f"Staff {winner.pk} shares the deal", f"{winner.display_name} shares the deal", 1)
    skipped = [{"staff": names.get(int(s["staff_id"])), "reason": s["reason"]} for s in decision.get("skipped", [])]
    # Others covered at the sale whom the policy did not pick (the latest two-way contact won):
    # listed for the manager to review.
    also_covered = [names.get(int(staff_id)) or f"Staff {staff_id}" for staff_id in decision.get("also_covered", [])]
    viewer = viewer_for(request.user)
    may_override = permissions.may_review(request.user)
    may_dispute = permissions.can_raise_dispute(request.user, deal)
    disputes = list(deal.disputes.select_related("raised_by__user", "resolved_by__user", "deal"))
    if dispute_form is None and any(d.status == DisputeStatus.OPEN for d in disputes):
        may_dispute = False  # one open dispute per deal: the form would only answer "already disputed"
    for d in disputes:
        d.can_resolve = d.status == DisputeStatus.OPEN and permissions.can_resolve_dispute(request.user, d)
    if may_override and override_form is None:
        override_form = OverrideForm(people=people, initial_shares={c.staff_id: c.share for c in active})
    if may_dispute and dispute_form is None:
        dispute_form = DisputeForm()
    context = {
        "deal": deal, "active": active, "replaced": replaced, "override": override, "judged": judged,
        "skipped": skipped, "decision": decision, "summary": summary, "also_covered": also_covered,
        "override_form": override_form if may_override else None,
        "dispute_form": dispute_form if may_dispute else None,
        "disputes": disputes,
        "can_see_lead": deal.lead_id is not None and leads_for(request.user).filter(pk=deal.lead_id).exists(),
        "viewer": viewer,
        "merged_since": selectors.merges_since_decision(deal),
    }
    return render(request, "coverage/deal_detail.html", context, status=status)


@login_required
@require_POST
def deal_override(request, pk: int):
    deal = get_object_or_404(deals_for(request.user), pk=pk)
    if viewer_for(request.user).staff is None or not permissions.can_override_credit(request.user, deal):
        raise PermissionDenied(permissions.OVERRIDE_REFUSED)
    credits = list(deal.credits.filter(active=True))
    people = _deal_people(deal, credits, request.user)
    form = OverrideForm(request.POST, people=people, initial_shares={})
    if form.is_valid():
        try:
            services.credit_override(
                deal=deal, shares=form.cleaned_data["shares"], reason=form.cleaned_data["reason"],
                by=viewer_for(request.user).staff,
            )
        except (ValidationError, InvalidOperation) as exc:
            for field, errors in getattr(exc, "message_dict", {None: [str(exc)]}).items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "Credit overridden; the original split stays on record.")
            return redirect("coverage:deal_detail", pk=pk)
    return deal_detail(request, pk, override_form=form, status=422)


@login_required
@require_POST
def deal_dispute(request, pk: int):
    """Dispute a deal's credit: looked up like the API (dealcoverage.scoping.deals_disputable_by: 404 outside
    it), allowed by dealcoverage.permissions.can_raise_dispute (403 otherwise)."""
    deal = get_object_or_404(deals_disputable_by(request.user), pk=pk)
    if not permissions.can_raise_dispute(request.user, deal):
        raise PermissionDenied(permissions.DISPUTE_RAISE_REFUSED)
    sees_deal = deals_for(request.user).filter(pk=pk).exists()
    form = DisputeForm(request.POST)
    if form.is_valid():
        try:
            services.dispute_raise(deal=deal, by=viewer_for(request.user).staff, comment=form.cleaned_data["comment"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():  # "deal": already disputed, said under the box
                form.add_error(field if field in form.fields else "comment", errors)
        else:
            messages.success(request, "Dispute sent to your manager.")
            return redirect("coverage:deal_detail", pk=pk) if sees_deal else redirect("coverage:deal_list")
    if not sees_deal:  # judged on the deal, not credited: no deal page to show the form on
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("coverage:deal_list")
    return deal_detail(request, pk, dispute_form=form, status=422)


@login_required
@require_POST
def dispute_uphold(request, pk: int):
    """A manager keeps the split: the dispute closes with the written reason. Looked up like the
    API (dealcoverage.scoping.disputes_for), allowed by dealcoverage.permissions.can_resolve_dispute."""
    dispute = get_object_or_404(disputes_for(request.user).select_related("deal"), pk=pk)
    if viewer_for(request.user).staff is None or not permissions.can_resolve_dispute(request.user, dispute):
        raise PermissionDenied(permissions.DISPUTE_RESOLVE_REFUSED)
    try:
        services.dispute_uphold(dispute=dispute, by=viewer_for(request.user).staff, resolution=request.POST.get("resolution", ""))
        messages.success(request, "The dispute is closed; the split stands.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if not deals_for(request.user).filter(pk=dispute.deal_id).exists():
        return redirect("coverage:deal_list")
    return redirect("coverage:deal_detail", pk=dispute.deal_id)
