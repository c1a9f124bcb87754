"""Customers, leads, contact events and intake records."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Upper
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

from org.models import Staff, Store


class Customer(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="customers")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Merged into another customer (leads.merge): every read of a customer's history follows it
    # (leads.aliases), since contact events are never rewritten. Always points at a customer that
    # is not merged itself (a merge re-points the ones merged into the customer it merges).
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="aliases",
                                    db_index=False)  # the partial index customer_merged_into: the merged are few

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["store", "last_name", "first_name"]),
            # The lead search's name prefixes (leads.services.lead_search_q: UPPER(name) LIKE 'GARC%'),
            # so a rare name is found from its customers, not by reading every lead of the store.
            models.Index(OpClass(Upper("last_name"), name="text_pattern_ops"), name="customer_last_name_prefix"),
            models.Index(OpClass(Upper("first_name"), name="text_pattern_ops"), name="customer_first_name_prefix"),
            models.Index(fields=["merged_into"], condition=Q(merged_into__isnull=False), name="customer_merged_into"),
        ]

    def __str__(self) -> str:
        return self.full_name or f"Customer #{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class CustomerPhone(models.Model):
    """An E.164 number of a customer. Households share landlines: several customers of a store may
    have the same number (leads.identity decides whether a lead is one of them)."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = PhoneNumberField()
    kind = models.CharField(max_length=16, default="mobile")

    class Meta:
        # Once per customer (a customer is of one store); led by the store and number, so the one
        # index also serves intake's match and inbound callers.
        constraints = [models.UniqueConstraint(fields=["store", "number", "customer"], name="customer_phone_unique")]
        # Search by phone runs across the stores a user may see (a group admin sees many).
        indexes = [models.Index(fields=["number"], name="customer_phone_number")]

    def __str__(self) -> str:
        return str(self.number)


class CustomerEmail(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(help_text="Stored normalized: stripped and lowercased.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "email", "customer"], name="customer_email_unique")]
        indexes = [models.Index(fields=["email"], name="customer_email_address")]

    def __str__(self) -> str:
        return self.email


class DuplicateStatus(models.TextChoices):
    PENDING = "pending", "To review"
    DIFFERENT = "different", "Different people"
    MERGED = "merged", "Merged"


class PossibleDuplicate(models.Model):
    """Two customers of a store that may be one person: a lead shared a phone or an email with
    `other` under a clearly different name, so it got a new customer (`customer`, leads.identity).
    A manager decides; "different people" is remembered and never asked again."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey("Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300)
    score = models.PositiveSmallIntegerField(help_text="Match percentage (leads.identity.score).")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=DuplicateStatus.choices, default=DuplicateStatus.PENDING)
    decided_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "other"], name="possible_duplicate_pair"),
            models.CheckConstraint(condition=~Q(customer=F("other")), name="possible_duplicate_two_customers"),
        ]
        indexes = [
            models.Index(fields=["store", "created_at"], condition=Q(status="pending"), name="possible_duplicate_pending"),
            models.Index(fields=["other"], name="possible_duplicate_other"),
        ]

    def __str__(self) -> str:
        return self.reason


class CustomerMerge(models.Model):
    """One merge of `merged` into `survivor` (leads.merge): who, when, why, and the ids of every row
    it moved, per kind ("lead", "task", ..., and what higher apps moved: "deal"), so a split puts
    back exactly those. Contact events are not moved: reads follow Customer.merged_into."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_in")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_out")
    pair = models.ForeignKey(PossibleDuplicate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pair_status = models.CharField(max_length=12, blank=True, help_text="The pair's status before the merge.")
    reason = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    moved = models.JSONField(default=dict)
    split_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    split_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["store", "-at"], name="customer_merge_store_at")]

    def __str__(self) -> str:
        return f"{self.merged} into {self.survivor}"


class SourceType(models.TextChoices):
    OEM = "oem", "OEM"
    THIRD_PARTY = "third_party", "Third-party site"
    DEALER_WEBSITE = "dealer_website", "Dealer website"
    PHONE_UP = "phone_up", "Phone-up"
    WALK_IN = "walk_in", "Walk-in"
    CHAT = "chat", "Chat"


class IntakeChannel(models.TextChoices):
    API = "api", "JSON API"
    ADF = "adf", "ADF/XML post"
    EMAIL = "email", "ADF by email"
    WEB_FORM = "web_form", "Web form"
    MANUAL = "manual", "Entered by staff"
    PHONE = "phone", "Inbound call"


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    APPOINTMENT_SET = "appointment_set", "Appointment set"
    SHOWN = "shown", "Shown"
    SOLD = "sold", "Sold"
    LOST = "lost", "Lost"


# Forward moves only, plus "lost" from any open status; sold and lost are final.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    LeadStatus.NEW: {LeadStatus.CONTACTED, LeadStatus.LOST},
    LeadStatus.CONTACTED: {LeadStatus.APPOINTMENT_SET, LeadStatus.LOST},
    LeadStatus.APPOINTMENT_SET: {LeadStatus.SHOWN, LeadStatus.LOST},
    LeadStatus.SHOWN: {LeadStatus.SOLD, LeadStatus.LOST},
    LeadStatus.SOLD: set(),
    LeadStatus.LOST: set(),
}
OPEN_STATUSES = [LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.APPOINTMENT_SET, LeadStatus.SHOWN]


class Lead(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="leads")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="leads")
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    provider = models.CharField(max_length=120, blank=True, help_text="Lead provider, e.g. the OEM or site name.")
    provider_lead_id = models.CharField(max_length=120, blank=True)
    intake_channel = models.CharField(max_length=12, choices=IntakeChannel.choices)
    comments = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    owner = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_leads")
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    in_claim_pool = models.BooleanField(default=False)
    # Deadline column: the sweeper routes every lead whose routing_due_at has passed and that
    # has no routed_at, so a lead accepted while Redis or the workers were down is routed later.
    routing_due_at = models.DateTimeField(null=True, blank=True)
    routed_at = models.DateTimeField(null=True, blank=True)
    # When the first outbound attempt on the customer was recorded while this lead was new (set by
    # leads.events with the event). With status and duplicate_of it marks the leads waiting for a
    # first contact, so the Today page reads a partial index of what waits, not the owner's history.
    attempted_at = models.DateTimeField(null=True, blank=True)
    original_document = models.TextField(blank=True, help_text="The ADF/XML or JSON as received.")
    created_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Who the lead said the customer was, whatever customer it was matched to (leads.identity):
    # normalized phones (E.164) and emails. Empty on leads stored before they were kept.
    first_name = models.CharField(max_length=100, blank=True, default="", db_default="")
    last_name = models.CharField(max_length=100, blank=True, default="", db_default="")
    phones = ArrayField(models.CharField(max_length=32), blank=True, default=list, db_default=[])
    emails = ArrayField(models.CharField(max_length=254), blank=True, default=list, db_default=[])

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "provider", "provider_lead_id"],
                condition=~Q(provider_lead_id=""),
                name="lead_unique_provider_id_per_store",
            )
        ]
        indexes = [
            models.Index(fields=["store", "-received_at", "-id"], name="lead_store_received"),
            models.Index(fields=["owner", "-received_at", "-id"], name="lead_owner_received"),
            models.Index(fields=["store", "status", "-received_at"], name="lead_store_status"),
            models.Index(fields=["customer", "-received_at"], name="lead_customer_received"),
            models.Index(
                fields=["routing_due_at"], condition=Q(routed_at__isnull=True), name="lead_routing_due"
            ),
            # Each pool member's open new leads, counted on every routing (the rule's cap).
            models.Index(
                fields=["owner"], condition=Q(status="new", duplicate_of__isnull=True), name="lead_owner_new"
            ),
            # Each salesperson's new leads with no attempt yet: the Today page's first section. An
            # agent may own 100,000 old leads and thousands still "new" after unanswered attempts;
            # this index holds only the handful waiting.
            models.Index(
                fields=["owner", "-received_at"],
                condition=Q(status="new", duplicate_of__isnull=True, attempted_at__isnull=True),
                # Covering the Today query (an index-only scan): its plan costs what waits even
                # where the planner overestimates the rows (leads/migrations/0014).
                include=["id", "customer", "store"],
                name="lead_owner_waiting",
            ),
            # The store's walk-ins by time (followup.services.busiest_hour, read by the cadence editor
            # and each walk-in's first task): the walk-ins alone, not every lead of 90 days.
            models.Index(
                fields=["store", "received_at"], condition=Q(source_type="walk_in"), name="lead_store_walk_in_received",
            ),
        ]

    def __str__(self) -> str:
        return f"Lead #{self.pk} {self.customer}"

    @property
    def received_phones_national(self) -> list[str]:
        """The phones the lead came with, as the pages show numbers: (312) 555-0142."""
        return [PhoneNumber.from_string(number).as_national for number in self.phones]

    @property
    def as_received_differs(self) -> bool:
        """The lead named someone other than its customer's record (leads.identity kept what it came with)."""
        name = f"{self.first_name} {self.last_name}".strip()
        return bool(name) and name.lower() != self.customer.full_name.lower()

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def allowed_next_statuses(self) -> list[str]:
        return sorted(ALLOWED_TRANSITIONS[self.status], key=lambda s: list(LeadStatus.values).index(s))


class VehicleInterest(models.TextChoices):
    BUY = "buy", "Interested in"
    TRADE_IN = "trade-in", "Trade-in"
    LEASE = "lease", "Lease"
    OTHER = "other", "Other"


class LeadVehicle(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="vehicles")
    interest = models.CharField(max_length=12, choices=VehicleInterest.choices, default=VehicleInterest.BUY)
    condition = models.CharField(max_length=8, choices=[("new", "New"), ("used", "Used"), ("", "Unknown")], blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    make = models.CharField(max_length=60, blank=True)
    model = models.CharField(max_length=80, blank=True)
    trim = models.CharField(max_length=80, blank=True)
    stock_number = models.CharField(max_length=40, blank=True)
    vin = models.CharField(max_length=17, blank=True)
    odometer = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["lead", "id"]

    def __str__(self) -> str:
        label = " ".join(str(part) for part in [self.year or "", self.make, self.model, self.trim] if part)
        return label or "Vehicle"


class LeadStatusChange(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=LeadStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=LeadStatus.choices)
    changed_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"


class LeadAssignment(models.Model):
    """One step of a lead's ownership history: who got it, from whom, by whom, and why."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="assignments")
    from_staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assigned_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=300)
    assigned_at = models.DateTimeField(default=timezone.now)
    # The explanation of an automatic assignment: which routing rule and strategy chose, and
    # who was passed over and why ([{"staff": id, "name": "...", "reason": "off shift"}]).
    rule_name = models.CharField(max_length=120, blank=True)
    strategy = models.CharField(max_length=30, blank=True)
    skipped = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["assigned_at", "id"]

    def __str__(self) -> str:
        return f"lead {self.lead_id} -> staff {self.to_staff_id}: {self.reason}"


class Channel(models.TextChoices):
    CALL = "call", "Call"
    TEXT = "text", "Text"
    EMAIL = "email", "Email"
    VISIT = "visit", "Visit"
    NOTE = "note", "Note"


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"
    NONE = "", "-"


class Outcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    VOICEMAIL = "voicemail", "Voicemail"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    REPLY = "reply", "Reply"
    ATTEMPT = "attempt", "Attempt"
    VISITED = "visited", "Visited"
    NOTE = "note", "Note"


class EvidenceLevel(models.TextChoices):
    VERIFIED = "verified", "Verified"
    SELF_REPORTED = "self_reported", "Self-reported"
    IMPORTED = "imported", "Imported"
    # Made by the local telephony sandbox or a non-delivering email backend: it looks like a
    # recorded call, text or email, but nothing reached a customer. Never verified.
    SIMULATED = "simulated", "Simulated (sandbox)"


# The SQL form of leads.contact's rule, stored by PostgreSQL in generated columns when an event
# is written (whatever writes it: the ORM, COPY, a shell). The property test in
# tests/leads/test_contact_classification.py holds these and leads.contact to one answer.
ATTEMPT_SQL = (
    Q(channel__in=["call", "text", "email"], direction="outbound", staff__isnull=False) & ~Q(outcome="failed")
)
TWO_WAY_SQL = (
    Q(
        Q(talk_seconds__gte=F("min_talk_seconds"))
        | Q(talk_seconds__isnull=True, evidence_level__in=["self_reported", "imported"]),
        channel="call", outcome="connected", answered_by_person=True,
    )
    | (Q(channel__in=["text", "email"]) & ~Q(outcome="failed") & Q(Q(direction="inbound") | Q(outcome="reply")))
    | Q(channel="visit")
)


class ContactEvent(models.Model):
    """An append-only fact. PostgreSQL refuses UPDATE and DELETE (migration 0002's trigger):
    a correction is a new event."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="contact_events")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.PROTECT, related_name="contact_events")
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="contact_events")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    recorded_at = models.DateTimeField(default=timezone.now)
    evidence_level = models.CharField(max_length=16, choices=EvidenceLevel.choices)
    # True when staff said it was done outside company channels (personal cell or address).
    outside_company_channels = models.BooleanField(default=False)
    body = models.TextField(blank=True)
    talk_seconds = models.PositiveIntegerField(null=True, blank=True)
    answered_by_person = models.BooleanField(null=True, blank=True)
    # The store's minimum talk time when the event was written: the classification below is
    # a property of the event, not of a setting that may change later.
    min_talk_seconds = models.PositiveSmallIntegerField(default=30, db_default=30)
    is_attempt = models.GeneratedField(
        expression=Case(When(ATTEMPT_SQL, then=Value(True)), default=Value(False)),
        output_field=models.BooleanField(), db_persist=True,
    )
    is_two_way = models.GeneratedField(
        expression=Case(When(TWO_WAY_SQL, then=Value(True)), default=Value(False)),
        output_field=models.BooleanField(), db_persist=True,
    )
    # Evidence: the provider's identifiers and links.
    call_sid = models.CharField(max_length=64, blank=True)
    message_sid = models.CharField(max_length=64, blank=True)
    recording_sid = models.CharField(max_length=64, blank=True)
    email_message_id = models.CharField(max_length=255, blank=True)
    # A later event that settles or corrects this one points back at it (a call's attempt is
    # settled by its outcome; a text's "sent" by "delivered"); the timeline and the metrics
    # count only events nothing supersedes.
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    source_system = models.CharField(max_length=60, blank=True, help_text="For imported events: where from.")
    external_id = models.CharField(max_length=120, blank=True, help_text="For imported events: id there.")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"], name="event_customer_time"),
            models.Index(fields=["lead", "-occurred_at"], name="event_lead_time"),
            models.Index(fields=["staff", "-occurred_at"], name="event_staff_time"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "source_system", "external_id"],
                condition=~Q(external_id=""),
                name="event_unique_import_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.get_outcome_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("Contact events are append-only: record a new event instead.")
        super().save(*args, **kwargs)


class TaskKind(models.TextChoices):
    CALL_BACK = "call_back", "Call back"
    FOLLOW_UP = "follow_up", "Follow up"
    CADENCE = "cadence", "New-lead cadence"
    KEEP_IN_TOUCH = "keep_in_touch", "Keep in touch"


class Task(models.Model):
    """Something a staff member must do by a time; due_at is a column the beat sweeper reads.

    A task with a channel completes itself when a matching contact event arrives (an outbound
    call, text or email to the customer by anyone, or any two-way contact for a call task)."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tasks")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    kind = models.CharField(max_length=20, choices=TaskKind.choices)
    channel = models.CharField(
        max_length=8, blank=True,
        choices=[(Channel.CALL, "Call"), (Channel.TEXT, "Text"), (Channel.EMAIL, "Email")],
    )
    step_day = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Cadence day (0 = arrival day).")
    reason = models.CharField(max_length=300)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by_event = models.ForeignKey(
        ContactEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    canceled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    # The sweeper tells the owner when a task falls due, once.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["staff", "due_at"], condition=Q(completed_at__isnull=True), name="task_open_due"),
            models.Index(
                fields=["due_at"], condition=Q(completed_at__isnull=True, canceled_at__isnull=True, notified_at__isnull=True),
                name="task_due_unnotified",
            ),
            models.Index(fields=["customer", "due_at"], condition=Q(completed_at__isnull=True), name="task_customer_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.customer} by {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.canceled_at is None

    @property
    def overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()


class Cadence(models.Model):
    """A store's follow-up plan for a new lead: steps per day until a two-way contact, then
    keep-in-touch tasks spaced to keep the customer inside the agent's coverage window."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="cadence")
    name = models.CharField(max_length=100, default="New lead: call, text and email daily for 5 days")
    keep_in_touch_every_hours = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="Hours between keep-in-touch tasks after contact. Blank: the agents' coverage window minus the margin.",
    )
    keep_in_touch_margin_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Keep-in-touch tasks fall due this long before coverage would lapse."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.store}: {self.name}"


class CadenceStep(models.Model):
    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="steps")
    day = models.PositiveSmallIntegerField(help_text="0 = the day the lead arrived.")
    channel = models.CharField(
        max_length=8, choices=[(Channel.CALL, "Call"), (Channel.TEXT, "Text"), (Channel.EMAIL, "Email")]
    )

    class Meta:
        ordering = ["cadence", "day", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cadence", "day", "channel"], name="cadence_step_unique"),
            models.CheckConstraint(condition=Q(day__lte=60), name="cadence_step_day_range"),
        ]

    def __str__(self) -> str:
        return f"day {self.day}: {self.channel}"


class AppointmentStatus(models.TextChoices):
    SET = "set", "Set"
    CONFIRMED = "confirmed", "Confirmed"
    SHOWN = "shown", "Shown"
    NO_SHOW = "no_show", "No-show"
    CANCELED = "canceled", "Canceled"


class Appointment(models.Model):
    """A customer's visit to the store; the receptionist's check-in makes it shown (a verified visit)."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="appointments")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="appointments")
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.SET)
    note = models.CharField(max_length=300, blank=True)
    outside_hours = models.BooleanField(default=False, help_text="Set outside store hours, confirmed on purpose.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    shown_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visit_event = models.ForeignKey(ContactEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it became no-show or canceled.")
    # Deadline columns for the sweeper: the reminder text, and marking a no-show.
    reminder_due_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    reminder_error = models.CharField(max_length=300, blank=True)
    no_show_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["staff", "starts_at"], name="appointment_staff_time"),
            models.Index(fields=["store", "starts_at"], name="appointment_store_time"),
            models.Index(fields=["reminder_due_at"], condition=Q(reminder_due_at__isnull=False), name="appointment_reminder_due"),
            models.Index(fields=["no_show_due_at"], condition=Q(no_show_due_at__isnull=False), name="appointment_no_show_due"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} at {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"


class RejectedIntake(models.Model):
    """A lead submission that was refused, kept (truncated) so an admin can see why."""

    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=12, choices=IntakeChannel.choices)
    reason = models.CharField(max_length=40)
    message = models.TextField()
    body_excerpt = models.TextField(blank=True)
    body_size = models.PositiveIntegerField(default=0)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.channel} rejected ({self.reason}) at {self.received_at:%Y-%m-%d %H:%M}"
