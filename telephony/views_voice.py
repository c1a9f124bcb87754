"""Voice: Twilio's webhooks and the lead page's call actions. Thin: check, parse, call
telephony.calls, answer.

Every webhook goes through `twilio_webhook` (POST, signed, or 403 with nothing stored),
answers 400 for missing or malformed parameters, 200 for a CallSid we do not know (so Twilio
stops retrying), and does no slow work: fetching a recording is a Celery task.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from common.http import HtmxHttpRequest
from leads.models import CustomerPhone
from leads.scoping import can_work_lead, leads_for
from org.scoping import viewer_for
from telephony import call_verdicts, calls
from telephony.models import TERMINAL_CALL_STATUSES, Call, CallStatus
from telephony.twilio import twilio_webhook, twiml_response

CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
CALL_STATUSES = set(CallStatus.values)
DIAL_STATUSES = {"completed", "answered", "busy", "no-answer", "failed", "canceled"}
RECORDING_STATUSES = {"in-progress", "completed", "absent", "failed"}


class BadParams(ValueError):
    pass


def _sid(data, key: str, pattern: re.Pattern, *, required: bool = True) -> str:
    value = (data.get(key) or "").strip()
    if not value and not required:
        return ""
    if not pattern.match(value):
        raise BadParams(f"{key} is missing or malformed.")
    return value


def _choice(data, key: str, allowed: set[str]) -> str:
    value = (data.get(key) or "").strip()
    if value not in allowed:
        raise BadParams(f"{key} is missing or not one of {', '.join(sorted(allowed))}.")
    return value


def _seconds(data, key: str) -> int | None:
    value = (data.get(key) or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise BadParams(f"{key} must be a whole number of seconds.")
    return int(value)


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: request.POST.get(key, "") for key in request.POST}


def _parent_sid(request: HttpRequest) -> str:
    """The click-to-call or inbound call a <Dial>ed leg belongs to: Twilio's ParentCallSid,
    else the ?parent= we put in the callback URL ourselves."""
    parent = request.POST.get("ParentCallSid") or request.GET.get("parent") or ""
    return _sid({"ParentCallSid": parent}, "ParentCallSid", CALL_SID, required=False)


def _ok() -> HttpResponse:
    return HttpResponse(status=200)


def _bad(exc: BadParams) -> HttpResponse:
    return HttpResponseBadRequest(str(exc), content_type="text/plain")


# --------------------------------------------------------------------------------------
# Twilio webhooks
# --------------------------------------------------------------------------------------


@twilio_webhook
def voice_inbound(request: HttpRequest) -> HttpResponse:
    """A dealer number's voice URL: answer with TwiML forwarding the call."""
    try:
        call_sid = _sid(request.POST, "CallSid", CALL_SID)
        to_number = (request.POST.get("To") or "").strip()
        if not to_number:
            raise BadParams("To is missing.")
    except BadParams as exc:
        return _bad(exc)
    twiml = calls.call_inbound(
        call_sid=call_sid, from_number=request.POST.get("From", ""), to_number=to_number, params=_params(request)
    )
    return twiml_response(twiml)


@twilio_webhook
def voice_outbound(request: HttpRequest) -> HttpResponse:
    """Click-to-call's `url`: the agent answered; dial the customer."""
    try:
        call_sid = _sid(request.POST, "CallSid", CALL_SID)
    except BadParams as exc:
        return _bad(exc)
    return twiml_response(calls.outbound_twiml(call_sid=call_sid))


@twilio_webhook
def voice_status(request: HttpRequest) -> HttpResponse:
    """The parent leg's status callback."""
    try:
        call_sid = _sid(request.POST, "CallSid", CALL_SID)
        status = _choice(request.POST, "CallStatus", CALL_STATUSES)
        _seconds(request.POST, "CallDuration")
    except BadParams as exc:
        return _bad(exc)
    calls.call_status_record(call_sid=call_sid, status=status, params=_params(request))
    return _ok()


@twilio_webhook
def voice_leg_status(request: HttpRequest) -> HttpResponse:
    """A <Dial>ed <Number>'s status callback (the customer's leg, or a forwarded staff phone)."""
    try:
        leg_sid = _sid(request.POST, "CallSid", CALL_SID)
        parent_sid = _parent_sid(request)
        status = _choice(request.POST, "CallStatus", CALL_STATUSES)
        duration = _seconds(request.POST, "CallDuration")
    except BadParams as exc:
        return _bad(exc)
    calls.call_leg_status_record(
        parent_sid=parent_sid, leg_sid=leg_sid, status=status, duration=duration,
        answered_by=request.POST.get("AnsweredBy", "").strip(), params=_params(request),
    )
    return _ok()


@twilio_webhook
def voice_amd(request: HttpRequest) -> HttpResponse:
    """Answering-machine detection on the customer's leg."""
    try:
        leg_sid = _sid(request.POST, "CallSid", CALL_SID)
        parent_sid = _parent_sid(request)
        answered_by = (request.POST.get("AnsweredBy") or "").strip()
        if not re.fullmatch(r"[a-z_]{1,32}", answered_by):
            raise BadParams("AnsweredBy is missing or malformed.")
    except BadParams as exc:
        return _bad(exc)
    calls.call_amd_record(parent_sid=parent_sid, leg_sid=leg_sid, answered_by=answered_by, params=_params(request))
    return _ok()


@twilio_webhook
def voice_dial_complete(request: HttpRequest) -> HttpResponse:
    """<Dial action>: the dialed leg ended; settle if not yet, and tell the parent what next."""
    try:
        call_sid = _sid(request.POST, "CallSid", CALL_SID)
        dial_sid = _sid(request.POST, "DialCallSid", CALL_SID, required=False)
        dial_status = _choice(request.POST, "DialCallStatus", DIAL_STATUSES)
        dial_duration = _seconds(request.POST, "DialCallDuration")
    except BadParams as exc:
        return _bad(exc)
    twiml = calls.call_dial_complete(
        call_sid=call_sid, dial_sid=dial_sid, dial_status=dial_status, dial_duration=dial_duration,
        params=_params(request),
    )
    return twiml_response(twiml)


@twilio_webhook
def voice_recording(request: HttpRequest) -> HttpResponse:
    """<Dial recordingStatusCallback>: the recording of a call is ready (CallSid is the parent)."""
    try:
        call_sid = _sid(request.POST, "CallSid", CALL_SID)
        recording_sid = _sid(request.POST, "RecordingSid", RECORDING_SID)
        status = _choice(request.POST, "RecordingStatus", RECORDING_STATUSES)
        duration = _seconds(request.POST, "RecordingDuration")
        recording_url = (request.POST.get("RecordingUrl") or "").strip()
        if status == "completed" and (
            urlsplit(recording_url).scheme not in ("http", "https") or not calls.recording_url_allowed(recording_url)
        ):
            raise BadParams("RecordingUrl is missing or not a Twilio URL.")
    except BadParams as exc:
        return _bad(exc)
    calls.call_recording_record(
        call_sid=call_sid, recording_sid=recording_sid, recording_url=recording_url, status=status,
        duration=duration, params=_params(request),
    )
    return _ok()


# --------------------------------------------------------------------------------------
# The lead page
# --------------------------------------------------------------------------------------

CALL_STATE_LABELS = {
    CallStatus.QUEUED: "Ringing your phone…",
    CallStatus.INITIATED: "Ringing your phone…",
    CallStatus.RINGING: "Ringing your phone…",
}


def call_state_label(call: Call) -> str:
    if call.settled_at is not None or call.status in TERMINAL_CALL_STATUSES:
        return "Call ended"
    if call.voicemail_dropped_at is not None:
        return "Leaving the store's voicemail…"
    if call.status in CALL_STATE_LABELS:
        return CALL_STATE_LABELS[call.status]
    leg = call.customer_leg_status
    if leg == CallStatus.IN_PROGRESS:
        person = call_verdicts.person_answered(call.answered_by)
        if person is False:
            return "Voicemail picked up"
        return "Connected" if person else "Connected (listening for a voicemail greeting…)"
    return "Calling the customer…"


def _panel_context(request: HttpRequest, lead, *, error: str = "") -> dict:
    staff = viewer_for(request.user).staff
    phones = list(lead.customer.phones.order_by("pk"))
    context = {
        "call_panel": True,
        "lead": lead,
        "phones": phones,
        "emails": list(lead.customer.emails.order_by("pk")),
        "error": error,
        "can_call": False,
        "call": None,
    }
    if staff is None or not can_work_lead(request.user, lead):
        context["fallback_reason"] = ""
        return context
    dealer_number = calls.dealer_number_for(staff)
    agent_phone = calls.agent_phone_for(staff)
    if dealer_number is None:
        context["fallback_reason"] = "The store has no dealer number yet: this dials from your own phone, unrecorded."
    elif agent_phone is None:
        context["fallback_reason"] = "Add your desk or cell phone to call through the dealer number (recorded)."
    else:
        context.update(can_call=bool(phones), dealer_number=dealer_number, agent_phone=agent_phone[1])
    call = calls.call_recent_for(staff=staff, lead=lead)
    if call is not None:
        context.update(
            call=call,
            call_live=calls.call_is_live(call),
            call_state=call_state_label(call),
            can_drop_voicemail=calls.can_drop_voicemail(call),
            call_event=calls.call_current_event(call) if call.settled_at else None,
        )
    return context


def _panel(request: HttpRequest, lead, *, error: str = "", status: int = 200) -> HttpResponse:
    context = _panel_context(request, lead, error=error)
    response = render(request, "telephony/_call_actions.html", context, status=status)
    if request.GET.get("polling") and not context.get("call_live"):
        # The live call just ended: the lead page refreshes its timeline (leads/_timeline_list.html).
        response["HX-Trigger"] = "call-settled"
    return response


def _lead(request: HttpRequest, lead_pk: int):
    return get_object_or_404(leads_for(request.user).select_related("customer", "store", "owner"), pk=lead_pk)


@login_required
@require_GET
def call_panel(request: HttpRequest, lead_pk: int) -> HttpResponse:
    """The lead page's call area: the call button, or the live call (polled while live)."""
    return _panel(request, _lead(request, lead_pk))


@login_required
@require_POST
def call_start(request: HtmxHttpRequest, lead_pk: int) -> HttpResponse:
    lead = _lead(request, lead_pk)
    staff = viewer_for(request.user).staff
    error = ""
    if staff is None or not can_work_lead(request.user, lead):
        error = "Only the lead's owner, their manager or the director can call from this lead."
    else:
        phone = None
        if request.POST.get("phone"):
            phone = CustomerPhone.objects.filter(pk=request.POST["phone"] if request.POST["phone"].isdigit() else 0,
                                                 customer_id=lead.customer_id).first()
            if phone is None:
                error = "That number is not this customer's."
        if not error:
            try:
                calls.call_start(staff=staff, lead=lead, phone=phone)
            except calls.CallError as exc:
                error = str(exc)
    if request.htmx:
        return _panel(request, lead, error=error, status=422 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Calling: answer your phone and we'll connect the customer.")
    return redirect("leads:detail", pk=lead.pk)


def _own_call(request: HttpRequest, pk: int) -> Call:
    staff = viewer_for(request.user).staff
    if staff is None:
        raise Http404("No such call.")
    return get_object_or_404(Call.objects.select_related("lead", "store"), pk=pk, staff=staff)


@login_required
@require_POST
def call_voicemail_drop(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """'Leave our voicemail': the store's message plays to the customer's voicemail."""
    call = _own_call(request, pk)
    staff = viewer_for(request.user).staff
    error = ""
    try:
        calls.call_voicemail_drop(call_id=call.pk, staff=staff)
    except calls.CallError as exc:
        error = str(exc)
    lead = call.lead
    if request.htmx and lead is not None and leads_for(request.user).filter(pk=lead.pk).exists():
        return _panel(request, lead, error=error, status=422 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "The store's voicemail is playing to the customer.")
    return redirect("leads:detail", pk=lead.pk) if lead is not None else redirect("leads:list")


@login_required
@require_GET
def call_recording(request: HttpRequest, pk: int) -> HttpResponse:
    """Stream a call's recording to someone allowed to hear it; 404 for everyone else (and
    while the audio is still being fetched). Never a public link."""
    call = get_object_or_404(Call, pk=pk)
    if not calls.can_play_recording(request.user, call) or not call.recording_file:
        raise Http404("No such recording.")
    response = FileResponse(call.recording_file.open("rb"), content_type=calls.recording_content_type(call))
    response["Content-Disposition"] = f'inline; filename="{call.recording_file.name.rsplit("/", 1)[-1]}"'
    response["Cache-Control"] = "private, no-store"
    return response
