"""Browser pages for leads. Thin: scope the query, validate the form, call a service."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import InvalidPage
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from common.pagination import paginate_branches
from leads import lead_page, ownership, services
from leads.forms import LeadEntryForm, LeadFilterForm, LogContactForm, WebLeadForm
from leads.models import Channel, IntakeChannel, Lead, LeadStatus, Outcome, SourceType
from leads.scoping import can_work_lead, leads_for, leads_for_branches
from leads.selectors import lead_timeline
from org.clientip import client_ip
from org.models import SALES_ROLES, Staff, Store
from org.scoping import can_assign_leads, viewer_for

PAGE_SIZE = 50


@login_required
def lead_list(request):
    viewer = viewer_for(request.user)
    form = LeadFilterForm(request.GET or None)

    def refine(leads):
        if form.is_valid():
            data = form.cleaned_data
            if data["q"]:
                leads = leads.filter(services.lead_search_q(data["q"]))
            if data["status"]:
                leads = leads.filter(status=data["status"])
            if data["source_type"]:
                leads = leads.filter(source_type=data["source_type"])
            if data["owner"] == "me" and viewer.staff:
                leads = leads.filter(owner=viewer.staff)
            elif data["owner"] == "none":
                leads = leads.filter(owner__isnull=True)
        return leads.order_by("-received_at", "-id")

    try:
        page = paginate_branches(
            [refine(branch) for branch in leads_for_branches(request.user)], request.GET.get("page"), PAGE_SIZE,
            fetch=lambda leads: leads.select_related("customer", "owner__user").prefetch_related("vehicles"),
        )
    except InvalidPage:
        raise Http404("No such page.") from None
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "leads/lead_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
def lead_detail(request, pk: int):
    return lead_page.render_lead_page(request, pk)


@login_required
def lead_timeline_list(request, pk: int):
    """The timeline list alone, for htmx to refresh when a call or message settles."""
    lead = get_object_or_404(leads_for(request.user), pk=pk)
    return render(request, "leads/_timeline_list.html", {"lead": lead, "timeline": lead_timeline(lead, request.user)})


@login_required
@require_POST
def lead_log_contact(request, pk: int):
    lead = get_object_or_404(leads_for(request.user).select_related("customer"), pk=pk)
    staff = viewer_for(request.user).staff
    form = LogContactForm(request.POST)
    if staff is None:
        form.add_error(None, "Only staff of a store can log contacts.")
    if form.is_valid():
        try:
            services.contact_event_log(
                staff=staff,
                lead=lead,
                channel=form.cleaned_data["channel"],
                outcome=form.cleaned_data["outcome"],
                body=form.cleaned_data["body"],
                outside_company_channels=form.cleaned_data["outside_company_channels"],
                # "Spoke with the customer" is what a conversation typed by hand says.
                spoke_with_customer=form.cleaned_data["channel"] == Channel.CALL
                and form.cleaned_data["outcome"] == Outcome.CONNECTED,
                talk_minutes=float(form.cleaned_data["talk_minutes"]) if form.cleaned_data.get("talk_minutes") else None,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    if request.htmx:
        context = {"lead": lead, "log_form": form if form.errors else LogContactForm(), "timeline": lead_timeline(lead, request.user)}
        return render(request, "leads/_timeline_block.html", context, status=422 if form.errors else 200)
    if form.errors:
        return lead_page.render_lead_page(request, pk, log_form=form, status=422)
    messages.success(request, "Logged.")
    return redirect("leads:detail", pk=pk)


@login_required
@require_POST
def lead_status(request, pk: int):
    lead = get_object_or_404(leads_for(request.user).select_related("owner"), pk=pk)
    if not can_work_lead(request.user, lead):
        messages.error(request, "Only the lead's owner, their manager or the director can change its status.")
        return redirect("leads:detail", pk=pk)
    to_status = request.POST.get("status", "")
    try:
        services.lead_transition(lead=lead, to_status=to_status, by=viewer_for(request.user).staff)
        messages.success(request, f"Status changed to {LeadStatus(to_status).label.lower()}.")
    except ValidationError:
        lead.refresh_from_db()
        messages.error(
            request, f"This lead is {lead.get_status_display().lower()} now (changed elsewhere?); pick again below."
        )
    return redirect("leads:detail", pk=pk)


@login_required
@require_POST
def lead_claim(request, pk: int):
    staff = viewer_for(request.user).staff
    lead = leads_for(request.user).filter(pk=pk).first()
    if lead is None:
        # Claimed by someone else since this page showed it, so no longer visible to this agent:
        # say who has it (as a lost race does) rather than "Not Found".
        taken = Lead.objects.filter(pk=pk, store_id=staff.store_id, owner__isnull=False).select_related(
            "owner__user").first() if staff else None
        if taken is None:
            raise Http404("No such lead.")
        messages.error(request, str(ownership.LeadTaken(taken.owner)))
        return redirect("leads:list")
    try:
        ownership.writer().lead_claim(lead=lead, staff=staff)
        messages.success(request, "The lead is yours. Make your first call now: the response clock is running.")
    except ownership.LeadTaken as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if leads_for(request.user).filter(pk=pk).exists():
        return redirect("leads:detail", pk=pk)
    return redirect("leads:list")


@login_required
@require_POST
def lead_assign(request, pk: int):
    lead = get_object_or_404(leads_for(request.user), pk=pk)
    if not can_assign_leads(request.user):
        messages.error(request, "Only managers, the director, admins and the receptionist assign leads.")
        return redirect("leads:detail", pk=pk)
    to_staff = assignable_staff(lead.store_id).filter(pk=request.POST.get("owner") or 0).first()
    if to_staff is None:
        messages.error(request, "Pick a salesperson of this store.")
        return redirect("leads:detail", pk=pk)
    viewer = viewer_for(request.user)
    try:
        ownership.writer().lead_owner_set(
            lead=lead, to_staff=to_staff, by=viewer.staff, reason=request.POST.get("reason", "").strip()[:300] or f"Assigned by {viewer.staff or request.user}."
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("leads:detail", pk=pk)
    messages.success(request, f"Assigned to {to_staff.display_name}.")
    if leads_for(request.user).filter(pk=pk).exists():
        return redirect("leads:detail", pk=pk)
    return redirect("leads:list")


def assignable_staff(store_id: int):
    return (
        Staff.objects.filter(store_id=store_id, is_active=True, role__in=list(SALES_ROLES))
        .select_related("user")
        .order_by("user__first_name", "user__last_name")
    )


@login_required
def lead_new(request):
    viewer = viewer_for(request.user)
    if viewer.staff is None:
        raise Http404("Only staff of a store enter leads.")
    form = LeadEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        vehicle = services.VehicleData(
            condition=data["condition"], year=data["year"], make=data["make"], model=data["model"],
            stock_number=data["stock_number"],
        )
        lead_data = services.LeadData(
            source_type=data["source_type"], intake_channel=IntakeChannel.MANUAL,
            first_name=data["first_name"], last_name=data["last_name"],
            phones=[(data["phone"], "mobile")] if data["phone"] else [],
            emails=[data["email"]] if data["email"] else [],
            comments=data["comments"],
            vehicles=[vehicle] if any([data["make"], data["model"], data["stock_number"], data["year"]]) else [],
        )
        # A salesperson logging their own walk-in or phone-up keeps it, from its first moment.
        owner = viewer.staff if viewer.staff.role in SALES_ROLES else None
        try:
            result = services.lead_create(store=viewer.staff.store, data=lead_data, created_by=viewer.staff, owner=owner)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            lead = result.lead
            if owner is not None:
                services.met_customer_log(staff=owner, lead=lead)
            if result.duplicate:
                # Work the customer's open lead, not a second "new" one; the duplicate is kept, linked.
                messages.info(
                    request, f"{lead.customer} already has this open lead; the new inquiry is linked to it (#{lead.pk})."
                )
                lead = lead.duplicate_of
            else:
                messages.success(request, "Lead saved.")
            if leads_for(request.user).filter(pk=lead.pk).exists():
                return redirect("leads:detail", pk=lead.pk)
            return redirect("leads:list")
    return render(request, "leads/lead_new.html", {"form": form})


def web_form(request, store_slug: str):
    """The public inquiry form a store links from its website (no login)."""
    store = get_object_or_404(Store, slug=store_slug, web_form_enabled=True)
    form = WebLeadForm(request.POST or None)
    status = 200
    if request.method == "POST":
        limited = is_ratelimited(
            request, group="web-form", key="ip", rate=settings.WEB_FORM_RATE, method="POST", increment=True
        )
        if limited:
            form.is_valid()
            form.add_error(None, "Too many submissions from your address. Please wait a minute or call us.")
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            if data["website"]:
                # A bot filled the hidden field: thank it and store nothing but the rejection.
                services.rejected_intake_record(
                    store=store, channel=IntakeChannel.WEB_FORM, reason="honeypot",
                    message="The hidden field was filled in.", body=str(dict(request.POST)),
                    remote_addr=client_ip(request),
                )
                return render(request, "leads/web_form_thanks.html", {"store": store})
            lead_data = services.LeadData(
                source_type=SourceType.DEALER_WEBSITE, intake_channel=IntakeChannel.WEB_FORM, provider="Web form",
                first_name=data["first_name"], last_name=data["last_name"],
                phones=[(data["phone"], "mobile")] if data["phone"] else [],
                emails=[data["email"]] if data["email"] else [],
                comments=data["comments"],
                vehicles=[services.vehicle_from_text(data["vehicle"])] if data["vehicle"].strip() else [],
            )
            try:
                services.lead_create(store=store, data=lead_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                status = 400
            else:
                return render(request, "leads/web_form_thanks.html", {"store": store})
        else:
            status = 400
    return render(request, "leads/web_form.html", {"store": store, "form": form}, status=status)
