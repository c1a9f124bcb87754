"""Texts through dealer numbers: send one, record its delivery callbacks, receive replies and
opt-outs. The one write path for TextMessage and OptOut and for the text ContactEvents.

Every write for one MessageSid runs under a transaction-scoped advisory lock on that sid, so a
status callback that overtakes the send (Twilio can call back before our INSERT commits) is
kept as a receipt and applied when the send writes its row, instead of being lost.
"""

from __future__ import annotations

import logging
import re

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import dateformat, timezone
from twilio.base.exceptions import TwilioException, TwilioRestException

from leads.events import contact_event_record
from leads.models import (
    OPEN_STATUSES,
    Channel,
    ContactEvent,
    Customer,
    CustomerPhone,
    Direction,
    IntakeChannel,
    Lead,
    Outcome,
    SourceType,
)
from leads.normalize import phone_to_e164
from leads.services import LeadData, customer_for_number, lead_create
from org.alerts import AlertRefused
from org.models import Staff, Store
from telephony import twilio as telephony_twilio
from telephony.models import DealerNumber, MessageStatus, NumberPurpose, OptOut, TextMessage, WebhookReceipt

log = logging.getLogger("telephony.sms")

MAX_BODY_CHARS = 1600  # Twilio refuses longer bodies (error 21617)

# Twilio's default opt-out and opt-in keywords: the whole body, trimmed, any case.
# REVOKE and OPTOUT joined the opt-out list in 2025 (FCC revocation rule).
OPT_OUT_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
OPT_IN_KEYWORDS = {"START", "YES", "UNSTOP"}

STATUS_RECEIPT = "sms-status"
INBOUND_RECEIPT = "sms-inbound"

# How far along a message is. A callback only ever moves a message forward, so a late "sent"
# after "delivered" is kept as a receipt and changes nothing.
STATUS_RANK = {
    "accepted": 0, "scheduled": 0, "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3, "undelivered": 3, "failed": 3, "canceled": 3,
    "read": 4,
}
CALLBACK_STATUSES = set(STATUS_RANK) | {"partially_delivered", "receiving", "received"}
# What a status becomes on TextMessage (others leave the stored status alone).
STORED_STATUS = {
    "queued": MessageStatus.QUEUED, "accepted": MessageStatus.QUEUED, "scheduled": MessageStatus.QUEUED,
    "sending": MessageStatus.QUEUED,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED, "canceled": MessageStatus.FAILED,
}
# The statuses that settle the "sent" event with a superseding one.
SETTLING_OUTCOME = {
    "delivered": Outcome.DELIVERED,
    "undelivered": Outcome.FAILED,
    "failed": Outcome.FAILED,
    "canceled": Outcome.FAILED,
}
# What the agent needs to know about the commonest delivery failures.
ERROR_HINTS = {
    "21610": "the customer texted STOP",
    "21614": "not a mobile number",
    "30003": "phone off or unreachable",
    "30004": "the customer blocked the number",
    "30005": "unknown or inactive number",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier as spam",
    "30008": "unknown carrier error",
}

MESSAGE_SID_RE = re.compile(r"^(SM|MM)[0-9a-zA-Z]{8,62}$")


class TextRefused(AlertRefused):
    """Nothing was sent; the message says why, in words for the agent. An AlertRefused, so the
    apps that alert staff through org.alerts hear why a text was not sent."""


def _lock_message(sid: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"sms:{sid}"])


def sending_number_for(*, staff: Staff, store: Store) -> DealerNumber | None:
    """The agent's own line, else the store's main line."""
    numbers = DealerNumber.objects.filter(store=store, is_active=True)
    own = numbers.filter(purpose=NumberPurpose.AGENT, staff=staff).order_by("pk").first()
    return own or numbers.filter(purpose=NumberPurpose.MAIN).order_by("pk").first()


def opt_out_message(*, customer: Customer | None, number: str, opt_out: OptOut, store: Store) -> str:
    who = (customer.full_name if customer else "") or number
    when = dateformat.format(timezone.localtime(opt_out.changed_at, store.tz), "M j, Y")
    return f"{who} texted {opt_out.keyword or 'STOP'} on {when}; texting is blocked until they text START."


def opt_out_set(*, store: Store, number: str, active: bool, keyword: str) -> OptOut:
    opt_out, _ = OptOut.objects.update_or_create(
        store=store, number=number,
        defaults={"active": active, "keyword": keyword[:20], "changed_at": timezone.now()},
    )
    return opt_out


def text_send(*, staff: Staff, lead: Lead, to: str, body: str) -> TextMessage:
    """Send a text to one of the lead's customer's numbers from a dealer number.

    Raises TextRefused (nothing sent) for an empty or too long body, a number that is invalid
    or not the customer's, an opted-out number, a store without a texting number, or Twilio
    refusing the request. The Twilio request is made outside any transaction; the rows are
    written after it succeeds.
    """
    body = body.strip()
    if not body:
        raise TextRefused("Write the text first.")
    if len(body) > MAX_BODY_CHARS:
        raise TextRefused(f"A text can be at most {MAX_BODY_CHARS} characters; this one has {len(body)}.")
    if staff.store_id != lead.store_id:
        raise TextRefused("That lead belongs to another store.")
    try:
        number = phone_to_e164(to)
    except ValidationError:
        raise TextRefused(f"{to.strip()!r} is not a valid phone number; nothing was sent.") from None
    store, customer = lead.store, lead.customer
    if not CustomerPhone.objects.filter(store=store, customer=customer, number=number).exists():
        raise TextRefused(f"{number} is not a number of {customer}; nothing was sent.")
    opt_out = OptOut.objects.filter(store=store, number=number, active=True).first()
    if opt_out is not None:
        raise TextRefused(opt_out_message(customer=customer, number=number, opt_out=opt_out, store=store))
    dealer_number = sending_number_for(staff=staff, store=store)
    if dealer_number is None:
        raise TextRefused(f"{store} has no texting number yet (an agent's line or the main line); ask an admin.")

    try:
        sent = telephony_twilio.client().messages.create(
            to=number,
            from_=str(dealer_number.number),
            body=body,
            status_callback=telephony_twilio.public_url(reverse("telephony:sms-status")),
        )
    except TwilioRestException as exc:
        if str(exc.code) == "21610":
            # Twilio already blocks this number (a STOP we never saw): remember it here too.
            opt_out_set(store=store, number=number, active=True, keyword="STOP")
            raise TextRefused(f"{customer} has opted out of texts (Twilio 21610); nothing was sent.") from None
        log.warning("Twilio refused a text to %s: %s %s", number, exc.code, exc.msg)
        raise TextRefused(f"Twilio refused the text ({exc.code}: {exc.msg}); nothing was sent.") from None
    except (TwilioException, OSError) as exc:
        log.warning("texting service unreachable: %r", exc)
        raise TextRefused("Could not reach the texting service; nothing was sent. Try again in a minute.") from None

    now = timezone.now()
    with transaction.atomic():
        _lock_message(sent.sid)
        text = TextMessage.objects.create(
            store=store, message_sid=sent.sid, direction=Direction.OUTBOUND, staff=staff, customer=customer,
            lead=lead, dealer_number=dealer_number, customer_number=number, body=body,
            status=STORED_STATUS.get(sent.status or "", MessageStatus.QUEUED), created_at=now,
        )
        contact_event_record(
            store=store, customer_id=customer.pk, lead_id=lead.pk if lead else None, staff_id=staff.pk,
            channel=Channel.TEXT, direction=Direction.OUTBOUND, outcome=Outcome.SENT, occurred_at=now,
            recorded_at=now, evidence_level=telephony_twilio.evidence_level(), body=body, message_sid=sent.sid,
        )
        # Callbacks that arrived before this row existed.
        early = WebhookReceipt.objects.filter(kind=STATUS_RECEIPT, sid=sent.sid)
        for receipt in sorted(early, key=lambda r: STATUS_RANK.get(r.status, -1)):
            _apply_status(text, receipt.status, receipt.params.get("ErrorCode", ""))
    return text


def staff_alert_send(*, store: Store, staff: Staff, body: str) -> str:
    """Text an alert (a new lead, a lead on the board) to a staff member's cell phone from the
    store's main line, so a phone rings. Not a customer contact: no contact event. Returns the
    message SID; raises TextRefused when it cannot be sent."""
    if not staff.cell_phone:
        raise TextRefused(f"{staff.display_name} has no cell phone on file.")
    main = DealerNumber.objects.filter(store=store, is_active=True, purpose=NumberPurpose.MAIN).order_by("pk").first()
    if main is None:
        raise TextRefused(f"{store} has no main line to send alerts from.")
    try:
        sent = telephony_twilio.client().messages.create(
            to=str(staff.cell_phone), from_=str(main.number), body=body[:MAX_BODY_CHARS]
        )
    except TwilioRestException as exc:
        raise TextRefused(f"Twilio refused the alert ({exc.code}: {exc.msg}).") from None
    except (TwilioException, OSError) as exc:
        log.warning("texting service unreachable for a staff alert: %r", exc)
        raise TextRefused("Could not reach the texting service.") from None
    return sent.sid


def text_status_record(*, message_sid: str, status: str, params: dict[str, str]) -> str:
    """One status callback. Answers "recorded", "duplicate", "stale" (older than what we know)
    or "unknown" (no such message yet: the receipt is kept and applied if the send lands)."""
    with transaction.atomic():
        _lock_message(message_sid)
        _, created = WebhookReceipt.objects.get_or_create(
            kind=STATUS_RECEIPT, sid=message_sid, status=status, defaults={"params": params}
        )
        if not created:
            return "duplicate"
        text = TextMessage.objects.select_for_update().filter(message_sid=message_sid).first()
        if text is None:
            log.warning("status callback for unknown message %s (%s); receipt kept", message_sid, status)
            return "unknown"
        return _apply_status(text, status, params.get("ErrorCode", ""))


def _apply_status(text: TextMessage, status: str, error_code: str) -> str:
    if text.direction != Direction.OUTBOUND:
        return "stale"
    if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(text.status, 99):
        return "stale"
    fields = []
    if status in STORED_STATUS:
        text.status = STORED_STATUS[status]
        fields.append("status")
    if error_code:
        text.error_code = str(error_code)[:12]
        fields.append("error_code")
    if fields:
        text.save(update_fields=fields)
    outcome = SETTLING_OUTCOME.get(status)
    if outcome is None:
        return "recorded"
    head = (
        ContactEvent.objects.filter(store_id=text.store_id, message_sid=text.message_sid, superseded_by__isnull=True)
        .order_by("-id")
        .first()
    )
    if head is None:
        return "recorded"
    body = head.body
    if outcome == Outcome.FAILED:
        hint = ERROR_HINTS.get(str(error_code), "")
        body = f"{body}\n[Not delivered: {status}" + (f", Twilio {error_code}" if error_code else "") + (
            f", {hint}]" if hint else "]"
        )
    contact_event_record(
        store=head.store_id, customer_id=head.customer_id, lead_id=head.lead_id, staff_id=head.staff_id,
        channel=Channel.TEXT, direction=Direction.OUTBOUND, outcome=outcome,
        # The contact happened when the text went out; delivery only settles how it went.
        occurred_at=head.occurred_at, recorded_at=timezone.now(),
        evidence_level=head.evidence_level, body=body, message_sid=text.message_sid, supersedes=head,
    )
    return "recorded"


def _newest_open_lead(customer: Customer) -> Lead | None:
    return (
        Lead.objects.filter(customer=customer, status__in=OPEN_STATUSES)
        .select_related("owner")
        .order_by("-received_at", "-id")
        .first()
    )


def _responder(*, dealer_number: DealerNumber, number: str, lead: Lead | None) -> Staff | None:
    """Whom an inbound text answers: the owner of the agent's line it came to, else whoever
    last texted this customer from that number, else the lead's owner."""
    if dealer_number.purpose == NumberPurpose.AGENT and dealer_number.staff_id:
        return dealer_number.staff
    last = (
        TextMessage.objects.filter(
            dealer_number=dealer_number, customer_number=number, direction=Direction.OUTBOUND, staff__isnull=False
        )
        .select_related("staff")
        .order_by("-created_at", "-id")
        .first()
    )
    if last is not None:
        return last.staff
    return lead.owner if lead is not None else None


def _lead_from_unknown_texter(*, dealer_number: DealerNumber, number: str, body: str) -> Lead:
    tracking = dealer_number.purpose == "tracking"
    data = LeadData(
        source_type=(dealer_number.source_type or SourceType.PHONE_UP) if tracking else SourceType.PHONE_UP,
        intake_channel=IntakeChannel.PHONE,
        phones=[(number, "mobile")],
        provider=dealer_number.provider if tracking and dealer_number.provider else f"Text to {dealer_number.number}",
        comments=f"First text: {body}"[:2000],
    )
    result = lead_create(store=dealer_number.store, data=data)
    log.info("inbound text from unknown %s to %s became lead %s", number, dealer_number.store, result.lead.pk)
    return result.lead.duplicate_of or result.lead


def text_inbound_receive(
    *, message_sid: str, from_number: str, to_number: str, body: str, num_media: int = 0,
    opt_out_type: str = "", params: dict[str, str] | None = None,
) -> TextMessage | None:
    """An inbound text to a dealer number (numbers already E.164).

    A customer's reply becomes a verified two-way event on their newest open lead; STOP and
    its synonyms set the opt-out (a system note, not a reply); START/YES/UNSTOP clear it and
    count as a reply; an unknown sender becomes a new lead (like a phone-up). Returns
    None when the number is not ours. A repeated MessageSid records nothing new.

    opt_out_type is Twilio's OptOutType (STOP/START/HELP, sent with Advanced Opt-Out): it also
    covers keywords an admin configured in Twilio beyond the defaults.
    """
    dealer_number = (
        DealerNumber.objects.select_related("store", "staff__user").filter(number=to_number, is_active=True).first()
    )
    if dealer_number is None:
        log.warning("inbound text %s to %s, which is not an active dealer number; ignored", message_sid, to_number)
        return None
    store = dealer_number.store
    keyword = body.strip().upper()
    opting_out = keyword in OPT_OUT_KEYWORDS or opt_out_type.upper() == "STOP"
    opting_in = not opting_out and (keyword in OPT_IN_KEYWORDS or opt_out_type.upper() == "START")
    if opting_out or opting_in:  # what the agent is told: the keyword, or Twilio's type for a custom one
        keyword = keyword if keyword in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS else ("STOP" if opting_out else "START")
    if num_media:
        body = f"{body}\n[{num_media} picture(s)/attachment(s)]".strip()
    with transaction.atomic():
        _lock_message(message_sid)
        _, created = WebhookReceipt.objects.get_or_create(
            kind=INBOUND_RECEIPT, sid=message_sid, status="received", defaults={"params": params or {}}
        )
        if not created:
            return TextMessage.objects.filter(message_sid=message_sid).first()
        customer = customer_for_number(store=store, number=from_number)
        lead = _newest_open_lead(customer) if customer else None
        staff = _responder(dealer_number=dealer_number, number=from_number, lead=lead)
        now = timezone.now()
        text = TextMessage.objects.create(
            store=store, message_sid=message_sid, direction=Direction.INBOUND, staff=staff, customer=customer,
            lead=lead, dealer_number=dealer_number, customer_number=from_number, body=body,
            status=MessageStatus.RECEIVED, created_at=now,
        )
        if opting_out:
            opt_out_set(store=store, number=from_number, active=True, keyword=keyword)
            log.info("%s texted %s to %s: opted out", from_number, keyword, store)
            if customer is not None:
                # Not a reply: an opt-out must not count as two-way contact or keep coverage alive.
                contact_event_record(
                    store=store, customer_id=customer.pk, lead_id=lead.pk if lead else None, channel=Channel.NOTE,
                    direction=Direction.NONE, outcome=Outcome.NOTE, occurred_at=now, recorded_at=now,
                    evidence_level=telephony_twilio.evidence_level(), message_sid=message_sid,
                    body=f"Texted {keyword}: texting is blocked until they text START.",
                )
            return text
        if opting_in:
            cleared = OptOut.objects.filter(store=store, number=from_number, active=True).exists()
            if cleared:
                opt_out_set(store=store, number=from_number, active=False, keyword=keyword)
                log.info("%s texted %s to %s: opted back in", from_number, keyword, store)
        if customer is None:
            # A stranger texting a dealer number is a new prospect: a lead like a phone-up
            # (a tracking number gives its source), so the text is never lost in a table.
            lead = _lead_from_unknown_texter(dealer_number=dealer_number, number=from_number, body=body)
            customer = lead.customer
            staff = lead.owner
            text.customer, text.lead, text.staff = customer, lead, staff
            text.save(update_fields=["customer", "lead", "staff"])
        contact_event_record(
            store=store, customer_id=customer.pk, lead_id=lead.pk if lead else None,
            staff_id=staff.pk if staff else None, channel=Channel.TEXT, direction=Direction.INBOUND,
            outcome=Outcome.REPLY, occurred_at=now, recorded_at=now,
            evidence_level=telephony_twilio.evidence_level(), body=body, message_sid=message_sid,
        )
    return text
