"""Email: the agent's compose/send form on the lead page, and the guard in front of anymail's
inbound webhooks. Replies come in through `email_inbound` (mounted in urls_email), which hands
an authenticated request to anymail's view for the provider; telephony.mail's signal receiver
records the reply."""

from __future__ import annotations

import logging

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.utils import get_request_basic_auth
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.shortcuts import get_object_or_404, redirect
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from common.http import HtmxHttpRequest
from org.clientip import client_ip
from org.scoping import viewer_for
from telephony import mail
from telephony.models import EmailTemplate
from telephony.views_sms import message_forms_response, workable_lead

log = logging.getLogger("telephony.mail")

# anymail's inbound webhook view of each provider it knows, by name ("mailgun", "postmark"...).
INBOUND_WEBHOOKS = {
    pattern.name.removesuffix("_inbound_webhook"): pattern.callback
    for pattern in anymail_urls.urlpatterns
    if (pattern.name or "").endswith("_inbound_webhook")
}


def _template(lead, raw: str) -> EmailTemplate | None:
    if not raw.isdigit():
        return None
    return get_object_or_404(EmailTemplate, pk=int(raw), store_id=lead.store_id)


@login_required
@require_GET
def email_compose(request: HttpRequest, pk: int):
    """The email fields filled from a store template, for the agent to read and edit (htmx
    swaps #email-fields); "(write your own)" keeps what is in the fields."""
    lead, refusal = workable_lead(request, pk)
    template = _template(lead, request.GET.get("template", ""))
    context = {
        "email_template_id": template.pk if template else None, "email_open": True,
        "email_subject": request.GET.get("subject", ""), "email_body": request.GET.get("body", ""),
    }
    if refusal:
        return message_forms_response(request, lead, status=422, email_error=refusal, **context)
    if template is not None:
        try:
            subject, body = mail.email_template_render(template=template, lead=lead, staff=viewer_for(request.user).staff)
        except mail.EmailRefused as exc:
            return message_forms_response(request, lead, status=422, email_error=str(exc), **context)
        context.update(email_subject=subject, email_body=body)
    return message_forms_response(request, lead, **context)


@login_required
@require_POST
def email_send(request: HtmxHttpRequest, pk: int):
    lead, refusal = workable_lead(request, pk)
    to = request.POST.get("to", "")
    subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
    template = _template(lead, request.POST.get("template", ""))
    if refusal is None:
        try:
            mail.email_send(
                staff=viewer_for(request.user).staff, lead=lead, to=to, subject=subject, body=body, template=template
            )
        except mail.EmailRefused as exc:
            refusal = str(exc)
    if request.htmx:
        if refusal:
            return message_forms_response(
                request, lead, status=422, email_error=refusal, email_to=to, email_subject=subject, email_body=body,
                email_template_id=template.pk if template else None, email_open=True,
            )
        return message_forms_response(request, lead, with_timeline=True, email_notice="Email sent.", email_open=True)
    if refusal:
        messages.error(request, refusal)
    else:
        messages.success(request, "Email sent.")
    return redirect("leads:detail", pk=lead.pk)


def _webhook_secrets() -> list[str]:
    secret = getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET") or []
    return [secret] if isinstance(secret, str) else [value for value in secret if value]


def inbound_request_authenticated(request: HttpRequest) -> bool:
    """HTTP basic auth against ANYMAIL WEBHOOK_SECRET ("user:password"). Nothing configured means
    nobody is authenticated: an open webhook would let anyone record a "verified" reply."""
    secrets = _webhook_secrets()
    given = get_request_basic_auth(request) or ""
    return bool(secrets and given) and any(constant_time_compare(given, secret) for secret in secrets)


@csrf_exempt
def email_inbound(request: HttpRequest, esp: str, mime: str = "") -> HttpResponse:
    """anymail/<esp>/inbound/ (and Mailgun's inbound_mime/): 404 for a provider anymail does not
    know, 403 without the webhook's basic auth or with a bad provider signature, 404 for a
    provider whose settings are missing; else anymail's own view, which sends the inbound signal."""
    view = INBOUND_WEBHOOKS.get(esp)
    if view is None or (mime and esp != "mailgun"):
        raise Http404("No inbound email webhook for that provider.")
    if not inbound_request_authenticated(request):
        log.warning(
            "refused inbound email webhook for %s from %s: %s", esp, client_ip(request),
            "no ANYMAIL_WEBHOOK_SECRET configured" if not _webhook_secrets() else "missing or wrong basic auth",
        )
        return HttpResponseForbidden("Not authenticated.")
    try:
        return view(request)
    except AnymailWebhookValidationFailure as exc:
        log.warning("refused inbound email webhook for %s: %s", esp, exc)
        return HttpResponseForbidden("Not authenticated.")
    except ImproperlyConfigured as exc:
        log.error("inbound email webhook for %s is not configured: %s", esp, exc)
        return HttpResponseNotFound("That provider's inbound webhook is not configured.")
