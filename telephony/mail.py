"""Email from the company address and replies to it: the one write path for email events.

Outbound mail goes from DEFAULT_FROM_EMAIL (the agent's name as display name) through Django's
email backend, with Reply-To <local>+<token>@<EMAIL_REPLY_DOMAIN>. The token is the lead's
EmailThread; a reply to it arrives through anymail's inbound webhook, whose signal this module
receives, and is matched by that token, whatever the provider did to the Message-ID headers.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from anymail.signals import inbound
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, make_msgid
from django.db import transaction
from django.dispatch import receiver
from django.template import Context, Engine, TemplateSyntaxError
from django.utils import timezone
from django.utils.html import linebreaks, strip_tags
from django.utils.module_loading import import_string

from leads.events import contact_event_record
from leads.models import (
    Channel,
    ContactEvent,
    CustomerEmail,
    Direction,
    EvidenceLevel,
    Lead,
    Outcome,
    VehicleInterest,
)
from leads.normalize import email_normalize
from org.models import Staff
from telephony.models import DealerNumber, EmailTemplate, EmailThread, NumberPurpose, WebhookReceipt

log = logging.getLogger("telephony.mail")

INBOUND_RECEIPT = "email-inbound"
MAX_BODY_CHARS = 20000
TOKEN_RE = re.compile(r"\+([a-z0-9]{6,32})@", re.IGNORECASE)

# Templates are written by a store's admins and rendered as plain text: no autoescaping (an
# "O'Brien" must stay O'Brien) and no loaders, so {% include %} cannot reach any file.
_TEMPLATE_ENGINE = Engine(autoescape=False, dirs=[], app_dirs=False, loaders=[])


class EmailRefused(Exception):
    """Nothing was recorded; the message says why, in words for the agent."""


def email_thread_for(lead: Lead) -> EmailThread:
    """The lead's reply token, created on first use (one per lead)."""
    thread, _ = EmailThread.objects.get_or_create(lead=lead, defaults={"store_id": lead.store_id})
    return thread


def from_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def reply_address(thread: EmailThread) -> str:
    local = from_address().split("@")[0] or "reply"
    return f"{local}+{thread.token}@{settings.EMAIL_REPLY_DOMAIN}"


class _Values(dict):
    """What a template may read: named fields only ({{ customer.first_name }}), and itself as
    text ({{ customer }}). Model instances would let a template walk to agent.user.password."""

    def __init__(self, text: str, **fields) -> None:
        super().__init__(**fields)
        self.text = text

    def __str__(self) -> str:
        return self.text


def _national(number) -> str:
    return number.as_national if number else ""


def template_context(*, lead: Lead, staff: Staff) -> dict:
    customer, store, user = lead.customer, lead.store, staff.user
    vehicle = lead.vehicles.filter(interest=VehicleInterest.BUY).order_by("id").first()
    line = DealerNumber.objects.filter(store=store, staff=staff, purpose=NumberPurpose.AGENT, is_active=True).first()
    return {
        "customer": _Values(
            customer.full_name, first_name=customer.first_name, last_name=customer.last_name,
            full_name=customer.full_name,
        ),
        "vehicle": _Values(
            str(vehicle), year=vehicle.year or "", make=vehicle.make, model=vehicle.model, trim=vehicle.trim,
            condition=vehicle.get_condition_display() if vehicle.condition else "", stock_number=vehicle.stock_number,
            vin=vehicle.vin,
        ) if vehicle else "",
        "lead": _Values(
            f"#{lead.pk}", id=lead.pk, source=lead.get_source_type_display(), provider=lead.provider,
            received_at=lead.received_at,
        ),
        "agent": _Values(
            staff.display_name, first_name=user.first_name, last_name=user.last_name, full_name=staff.display_name,
            name=staff.display_name, phone=_national(line.number if line else store.main_phone),
        ),
        "store": _Values(store.name, name=store.name, phone=_national(store.main_phone)),
    }


def email_template_render(*, template: EmailTemplate, lead: Lead, staff: Staff) -> tuple[str, str]:
    """(subject, body) of a store template for this lead; EmailRefused if the template is broken."""
    if template.store_id != lead.store_id:
        raise EmailRefused("That template belongs to another store.")
    context = Context(template_context(lead=lead, staff=staff), autoescape=False)
    try:
        with timezone.override(lead.store.tz):  # dates in a template read in the store's zone
            subject = _TEMPLATE_ENGINE.from_string(template.subject).render(context)
            body = _TEMPLATE_ENGINE.from_string(template.body).render(context)
    except TemplateSyntaxError as exc:
        raise EmailRefused(f"The template {template.name!r} has an error ({exc}); ask an admin to fix it.") from None
    return " ".join(subject.split()), body.strip()


@dataclass
class SentEmail:
    event: ContactEvent
    message_id: str
    reply_to: str


# Backends that deliver nothing: they print, keep, write or drop the message.
NON_DELIVERING_BACKENDS = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "anymail.backends.test.EmailBackend",
)


def sent_evidence_level() -> str:
    """Sent mail is verified only when a real backend (SMTP, an ESP) took it for delivery; a
    backend that delivers nothing (console, locmem, file, dummy, anymail's test) is simulated."""
    backend = import_string(settings.EMAIL_BACKEND)
    for path in NON_DELIVERING_BACKENDS:
        try:
            simulated = import_string(path)
        except ImportError:
            continue
        if issubclass(backend, simulated):
            return EvidenceLevel.SIMULATED
    return EvidenceLevel.VERIFIED


def email_send(
    *, staff: Staff, lead: Lead, to: str, subject: str = "", body: str = "", template: EmailTemplate | None = None
) -> SentEmail:
    """Send an email to one of the lead's customer's addresses and record the event (verified
    through a real backend, simulated through one that delivers nothing).

    With a template and no typed subject/body the template is rendered here; typed text is
    sent as typed (never rendered: only admins' templates are templates).
    """
    if staff.store_id != lead.store_id:
        raise EmailRefused("That lead belongs to another store.")
    try:
        address = email_normalize(to)
    except ValidationError:
        raise EmailRefused(f"{to.strip()!r} is not an email address; nothing was sent.") from None
    customer = lead.customer
    if not CustomerEmail.objects.filter(store_id=lead.store_id, customer=customer, email=address).exists():
        raise EmailRefused(f"{address} is not an address of {customer}; nothing was sent.")
    if template is not None and not subject.strip() and not body.strip():
        subject, body = email_template_render(template=template, lead=lead, staff=staff)
    subject = " ".join(subject.split())[:250]  # one line: a newline in a header is an injection
    body = body.strip()
    if not subject or not body:
        raise EmailRefused("An email needs a subject and a message.")
    if len(body) > MAX_BODY_CHARS:
        raise EmailRefused(f"The message is too long ({len(body)} characters; at most {MAX_BODY_CHARS}).")

    thread = email_thread_for(lead)
    reply_to = reply_address(thread)
    domain = from_address().split("@")[-1] or settings.EMAIL_REPLY_DOMAIN
    message_id = make_msgid(domain=domain)
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=formataddr((staff.display_name, from_address())),
        to=[address],
        reply_to=[reply_to],
        headers={"Message-ID": message_id},
    )
    message.attach_alternative(linebreaks(body, autoescape=True), "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - SMTP, network or any anymail ESP error: tell the agent
        log.warning("email to %s for lead %s failed: %r", address, lead.pk, exc)
        raise EmailRefused("The mail service did not accept the email; it was not recorded. Try again.") from None

    now = timezone.now()
    event = contact_event_record(
        store=lead.store_id, customer_id=customer.pk, lead_id=lead.pk, staff_id=staff.pk, channel=Channel.EMAIL,
        direction=Direction.OUTBOUND, outcome=Outcome.SENT, occurred_at=now, recorded_at=now,
        evidence_level=sent_evidence_level(), body=f"Subject: {subject}\n\n{body}", email_message_id=message_id,
    )
    return SentEmail(event=event, message_id=message_id, reply_to=reply_to)


# --- Inbound ---------------------------------------------------------------------------------


QUOTE_STARTS = [
    re.compile(r"^\s*On\b.{0,200}\bwrote:\s*$", re.IGNORECASE),  # Gmail, Apple Mail
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),  # Outlook
    re.compile(r"^\s*_{20,}\s*$"),  # Outlook's rule before the quoted header block
    re.compile(r"^\s*From:\s.+", re.IGNORECASE),  # quoted header block of a forward/reply
    re.compile(r"^\s*Sent from my \w+", re.IGNORECASE),
    re.compile(r"^\s*>"),
]


def reply_text(text: str) -> str:
    """The new part of a reply: everything before the first line that starts the quoted
    history. "On Mon ... <x@y>" wrapped over two lines before "wrote:" is caught too."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        joined = f"{line} {lines[index + 1]}" if index + 1 < len(lines) and line.strip().lower().startswith("on ") else line
        if any(p.search(line) for p in QUOTE_STARTS) or QUOTE_STARTS[0].search(joined):
            break
        kept.append(line)
    new_part = "\n".join(kept).strip()
    return new_part or text.strip()


def _recipients(message) -> list[str]:
    addresses = [a.addr_spec for header in ("To", "Cc", "Delivered-To", "X-Original-To") for a in _addresses(message, header)]
    if getattr(message, "envelope_recipient", None):
        addresses.insert(0, message.envelope_recipient)
    return addresses


def _addresses(message, header: str):
    try:
        return message.get_address_header(header)
    except Exception:  # noqa: BLE001 - a garbled header must not lose the reply
        return []


def thread_for_recipients(addresses: list[str]) -> EmailThread | None:
    tokens = [m.group(1).lower() for a in addresses if (m := TOKEN_RE.search(a or ""))]
    if not tokens:
        return None
    return EmailThread.objects.select_related("lead__customer", "store").filter(token__in=tokens).first()


def _is_auto_reply(message) -> bool:
    auto = (message.get("Auto-Submitted") or "no").strip().lower()
    precedence = (message.get("Precedence") or "").strip().lower()
    return auto != "no" or precedence in {"auto_reply", "bulk", "junk"} or bool(
        message.get("X-Autoreply") or message.get("X-Autorespond")
    )


def _receipt_key(value: str) -> str:
    # WebhookReceipt.sid holds 64 characters; a Message-ID can be far longer.
    return hashlib.sha256(value.encode()).hexdigest()


def _responder(lead: Lead) -> Staff | None:
    """Whom an emailed reply answers: whoever last emailed on this lead, else its owner."""
    last = (
        ContactEvent.objects.filter(
            lead=lead, channel=Channel.EMAIL, direction=Direction.OUTBOUND, staff__isnull=False
        )
        .select_related("staff")
        .order_by("-occurred_at", "-id")
        .first()
    )
    return last.staff if last else lead.owner


def email_inbound_receive(*, message, event_id: str | None = None, esp_name: str = "") -> ContactEvent | None:
    """A reply that reached our inbound webhook (an AnymailInboundMessage).

    Matched by the +token in any recipient; deduplicated on the Message-ID and the provider's
    event id, so a redelivery records nothing. An unknown token or an auto-reply (out of office
    is not a conversation) is logged and stored as nothing but the receipt."""
    message_id = (message.get("Message-ID") or "").strip()
    thread = thread_for_recipients(_recipients(message))
    if thread is None:
        log.warning(
            "inbound email %s via %s matches no reply token (to %s); ignored",
            message_id or event_id, esp_name, ", ".join(_recipients(message)) or "nobody",
        )
        return None
    keys = [f"mid:{message_id}"] if message_id else []
    if event_id:
        keys.append(f"evt:{esp_name}:{event_id}")
    if not keys:
        text_for_key = f"{message.get('From')}|{message.get('Date')}|{message.get('Subject')}|{message.text}"
        keys.append(f"raw:{text_for_key}")
    with transaction.atomic():
        duplicate = False
        for key in keys:
            _, created = WebhookReceipt.objects.get_or_create(
                kind=INBOUND_RECEIPT, sid=_receipt_key(key), status="received",
                defaults={"params": {"key": key[:500], "esp": esp_name, "token": thread.token}},
            )
            duplicate = duplicate or not created
        if duplicate:
            log.info("inbound email %s for thread %s already recorded", message_id or event_id, thread.token)
            return None
        if _is_auto_reply(message):
            log.info("auto-reply %s for thread %s not recorded as a reply", message_id or event_id, thread.token)
            return None
        raw = message.stripped_text or message.text or strip_tags(message.html or "")
        body = reply_text(raw or "")
        sender = message.from_email
        sender_address = (getattr(sender, "addr_spec", "") or "").lower()
        lead = thread.lead
        if sender_address and not CustomerEmail.objects.filter(
            store_id=thread.store_id, customer_id=lead.customer_id, email=sender_address
        ).exists():
            body = f"(from {sender_address})\n{body}"
        subject = " ".join((message.subject or "").split())
        if subject:
            body = f"Subject: {subject}\n\n{body}"
        now = timezone.now()
        responder = _responder(lead)
        return contact_event_record(
            store=thread.store_id, customer_id=lead.customer_id, lead_id=lead.pk,
            staff_id=responder.pk if responder else None,
            channel=Channel.EMAIL, direction=Direction.INBOUND, outcome=Outcome.REPLY, occurred_at=now,
            recorded_at=now, evidence_level=EvidenceLevel.VERIFIED, body=body[:MAX_BODY_CHARS],
            email_message_id=message_id[:255],
        )


@receiver(inbound, dispatch_uid="telephony.mail.inbound")
def _on_inbound(sender, event, esp_name, **kwargs) -> None:
    email_inbound_receive(message=event.message, event_id=event.event_id, esp_name=esp_name)
