"""Dealer phone numbers, calls, texts, emails and the webhook receipts that make them verified.

A ContactEvent is the fact a manager judges on; the rows here are the telephony state behind
it (a call's legs, status and recording; a text's delivery), keyed by the provider's ids.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField

from leads.models import Customer, Lead, SourceType
from org.models import Staff, Store


class NumberPurpose(models.TextChoices):
    MAIN = "main", "Main line"
    AGENT = "agent", "Agent's line"
    TRACKING = "tracking", "Tracking number for a lead source"


class DealerNumber(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="dealer_numbers")
    number = PhoneNumberField(unique=True)
    purpose = models.CharField(max_length=10, choices=NumberPurpose.choices)
    staff = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="dealer_numbers",
        help_text="For an agent's line: whose it is.",
    )
    source_type = models.CharField(
        max_length=20, choices=SourceType.choices, blank=True,
        help_text="For a tracking number: the source a phone-up on it gets.",
    )
    provider = models.CharField(max_length=120, blank=True, help_text="For a tracking number: e.g. 'Cars.com ad'.")
    twilio_sid = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["store", "purpose", "number"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(purpose="agent") | Q(staff__isnull=False), name="agent_line_has_staff"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.get_purpose_display()})"


class CallStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    INITIATED = "initiated", "Initiated"
    RINGING = "ringing", "Ringing"
    IN_PROGRESS = "in-progress", "In progress"
    COMPLETED = "completed", "Completed"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no-answer", "No answer"
    FAILED = "failed", "Failed"
    CANCELED = "canceled", "Canceled"


TERMINAL_CALL_STATUSES = {CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}


class Call(models.Model):
    """One call through a dealer number. For click-to-call the parent leg rings the agent and
    the child leg (<Dial>) reaches the customer; the customer leg decides the outcome."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    call_sid = models.CharField(max_length=64, unique=True)
    child_call_sid = models.CharField(max_length=64, blank=True, db_index=True)
    direction = models.CharField(max_length=8, choices=[("outbound", "Outbound"), ("inbound", "Inbound")])
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="calls")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="calls")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.PROTECT, related_name="calls")
    dealer_number = models.ForeignKey(DealerNumber, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    customer_number = PhoneNumberField(blank=True)
    agent_number = PhoneNumberField(blank=True)
    status = models.CharField(max_length=12, choices=CallStatus.choices, default=CallStatus.QUEUED)
    customer_leg_status = models.CharField(max_length=12, choices=CallStatus.choices, blank=True)
    answered_by = models.CharField(max_length=24, blank=True, help_text="Twilio AnsweredBy (machine detection).")
    talk_seconds = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    # Recording: the callback stores the sid; a Celery task fetches the audio into our storage.
    recording_sid = models.CharField(max_length=64, blank=True, db_index=True)
    recording_url = models.URLField(max_length=500, blank=True)
    recording_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording_file = models.FileField(upload_to="recordings/%Y/%m/", blank=True)
    recording_fetch_due_at = models.DateTimeField(null=True, blank=True)
    recording_fetch_attempts = models.PositiveSmallIntegerField(default=0)
    voicemail_dropped_at = models.DateTimeField(null=True, blank=True)
    # When to ask Twilio's REST API how the call ended if its callbacks have not settled it
    # (telephony.reconcile): set at creation, moved later while Twilio says it is still on.
    reconcile_due_at = models.DateTimeField(null=True, blank=True)
    reconcile_failures = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["reconcile_due_at"],
                condition=Q(settled_at__isnull=True, reconcile_due_at__isnull=False),
                name="call_reconcile_due",
            ),
            models.Index(
                fields=["recording_fetch_due_at"],
                condition=Q(recording_fetch_due_at__isnull=False),
                name="call_recording_fetch_due",
            ),
            models.Index(fields=["staff", "-created_at"], name="call_staff_time"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} call {self.call_sid} ({self.status})"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    RECEIVED = "received", "Received"


class TextMessage(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    message_sid = models.CharField(max_length=64, unique=True)
    direction = models.CharField(max_length=8, choices=[("outbound", "Outbound"), ("inbound", "Inbound")])
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="texts")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="texts")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.PROTECT, related_name="texts")
    dealer_number = models.ForeignKey(DealerNumber, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    customer_number = PhoneNumberField()
    body = models.TextField()
    status = models.CharField(max_length=12, choices=MessageStatus.choices)
    error_code = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.direction} text {self.message_sid} ({self.status})"


class OptOut(models.Model):
    """A number that texted STOP to the store; START clears it. Sending to it is refused."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    number = PhoneNumberField()
    active = models.BooleanField(default=True)
    changed_at = models.DateTimeField(default=timezone.now)
    keyword = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "number"], name="optout_unique_per_store")]

    def __str__(self) -> str:
        return f"{self.number} {'opted out' if self.active else 'opted in'}"


def new_reply_token() -> str:
    return secrets.token_urlsafe(12).replace("-", "x").replace("_", "y").lower()


class EmailThread(models.Model):
    """The per-lead reply token: mail goes out with Reply-To sales+<token>@<reply domain>, and
    an inbound reply to that address is matched to this lead, whatever the provider does to
    Message-ID headers."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    lead = models.OneToOneField(Lead, on_delete=models.PROTECT, related_name="email_thread")
    token = models.CharField(max_length=32, unique=True, default=new_reply_token)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"thread {self.token} for lead {self.lead_id}"


class EmailTemplate(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="email_templates")
    name = models.CharField(max_length=100)
    subject = models.CharField(max_length=200, help_text="Django template syntax: {{ customer.first_name }}, {{ vehicle }}")
    body = models.TextField(help_text="Django template syntax with customer, vehicle, lead, agent, store.")

    class Meta:
        ordering = ["store", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="email_template_unique_name")]

    def __str__(self) -> str:
        return self.name


class WebhookReceipt(models.Model):
    """Each (provider id, status) once: a retried or repeated callback finds its receipt and
    records nothing twice."""

    kind = models.CharField(max_length=20)
    sid = models.CharField(max_length=64)
    status = models.CharField(max_length=32)
    received_at = models.DateTimeField(default=timezone.now)
    params = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "sid", "status"], name="webhook_receipt_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.sid} {self.status}"
