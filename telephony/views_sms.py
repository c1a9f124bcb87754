"""Texts: the agent's send form on the lead page, and Twilio's SMS webhooks (inbound texts to a
dealer number and status callbacks of the texts we send). Thin: parse, call telephony.sms."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST
from twilio.twiml.messaging_response import MessagingResponse

from common.http import HtmxHttpRequest
from leads.forms import LogContactForm
from leads.models import Lead
from leads.normalize import phone_to_e164
from leads.scoping import can_work_lead, leads_for
from leads.selectors import lead_timeline
from org.scoping import viewer_for
from telephony import sms
from telephony.twilio import twilio_webhook, twiml_response

log = logging.getLogger("telephony.webhooks")

NOT_ALLOWED = "Only the lead's owner, their manager or the director can message this customer."


# --- The lead page's message forms ---------------------------------------------------------------


def message_forms_response(request: HttpRequest, lead: Lead, *, status: int = 200, with_timeline: bool = False, **extra):
    """The message forms partial (for htmx), followed by the refreshed timeline block when an
    event was recorded; the forms pick it up with hx-select-oob."""
    context = {
        "lead": lead,
        "phones": lead.customer.phones.all(),
        "emails": lead.customer.emails.all(),
        "can_work": can_work_lead(request.user, lead),
        **extra,
    }
    html = render_to_string("telephony/_message_forms.html", context, request=request)
    if with_timeline:
        html += render_to_string(
            "leads/_timeline_block.html",
            {"lead": lead, "log_form": LogContactForm(), "timeline": lead_timeline(lead, request.user)},
            request=request,
        )
    return HttpResponse(html, status=status)


def workable_lead(request: HttpRequest, pk: int) -> tuple[Lead, str | None]:
    """The lead (404 outside the viewer's scope) and why the viewer may not message it, if so."""
    lead = get_object_or_404(leads_for(request.user).select_related("customer", "store", "owner"), pk=pk)
    if not can_work_lead(request.user, lead):
        return lead, NOT_ALLOWED
    if viewer_for(request.user).staff is None:
        return lead, "Only staff of a store can message customers."
    return lead, None


@login_required
@require_POST
def text_send(request: HtmxHttpRequest, pk: int):
    lead, refusal = workable_lead(request, pk)
    to, body = request.POST.get("to", ""), request.POST.get("body", "")
    if refusal is None:
        try:
            sms.text_send(staff=viewer_for(request.user).staff, lead=lead, to=to, body=body)
        except sms.TextRefused as exc:
            refusal = str(exc)
    if request.htmx:
        if refusal:
            return message_forms_response(request, lead, status=422, text_error=refusal, text_to=to, text_body=body)
        return message_forms_response(request, lead, with_timeline=True, text_notice="Text sent.")
    if refusal:
        messages.error(request, refusal)
    else:
        messages.success(request, "Text sent.")
    return redirect("leads:detail", pk=lead.pk)


# --- Twilio webhooks ------------------------------------------------------------------------------


def _e164_or_none(raw: str) -> str | None:
    try:
        return phone_to_e164(raw)
    except ValidationError:
        return None


def _params(request: HttpRequest) -> dict[str, str]:
    return {key: request.POST.get(key, "") for key in request.POST}


@twilio_webhook
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """The SMS webhook of every dealer number. Answers empty TwiML: no auto-reply (Twilio itself
    answers STOP/START/HELP)."""
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid", "")
    from_number = _e164_or_none(request.POST.get("From", ""))
    to_number = _e164_or_none(request.POST.get("To", ""))
    if not sms.MESSAGE_SID_RE.match(sid) or from_number is None or to_number is None:
        log.warning("inbound text with missing or malformed parameters: %s", _params(request))
        return HttpResponseBadRequest("MessageSid, From and To are required.")
    try:
        num_media = int(request.POST.get("NumMedia") or 0)
    except ValueError:
        return HttpResponseBadRequest("NumMedia must be a number.")
    sms.text_inbound_receive(
        message_sid=sid, from_number=from_number, to_number=to_number, body=request.POST.get("Body", ""),
        num_media=num_media, opt_out_type=request.POST.get("OptOutType", ""), params=_params(request),
    )
    return twiml_response(MessagingResponse())


@twilio_webhook
def sms_status(request: HttpRequest) -> HttpResponse:
    """Status callback of a text we sent (the status_callback of messages.create)."""
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid", "")
    status = (request.POST.get("MessageStatus") or request.POST.get("SmsStatus", "")).strip().lower()
    if not sms.MESSAGE_SID_RE.match(sid) or status not in sms.CALLBACK_STATUSES:
        log.warning("text status callback with missing or malformed parameters: %s", _params(request))
        return HttpResponseBadRequest("MessageSid and a known MessageStatus are required.")
    result = sms.text_status_record(message_sid=sid, status=status, params=_params(request))
    if result == "unknown":
        log.info("status %s for unknown message %s answered 200", status, sid)
    return HttpResponse("", content_type="text/plain")
