"""Email: the agent's compose/send form on the lead page. Replies come in through anymail's
inbound webhook (mounted in urls_email) and telephony.mail's signal receiver."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST

from org.scoping import viewer_for
from telephony import mail
from telephony.models import EmailTemplate
from telephony.views_sms import message_forms_response, workable_lead


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
def email_send(request: HttpRequest, pk: int):
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
