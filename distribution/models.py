"""Routing rules, round-robin state, each lead's routing clocks, and in-app notifications.

Every deadline here is a column with a partial index; the beat sweeper (distribution.sweeper)
reads them, so a lost Celery message or a dead worker only delays what is due.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models import Lead, SourceType
from org.models import Role, Staff, Store, Team


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin (next in line)"
    ROUND_ROBIN_REASSIGN = "round_robin_reassign", "Round robin with reassignment"
    CLAIM_POOL = "claim_pool", "Claim pool"
    MANAGER = "manager", "Manager assigns"
    RECEPTIONIST = "receptionist", "Receptionist board"


class LeadKind(models.TextChoices):
    """What the customer asked for, from the lead's first vehicle."""

    PURCHASE = "buy", "Purchase"
    LEASE = "lease", "Lease"
    TRADE_IN = "trade-in", "Trade-in appraisal"


POOL_ROLES = [(Role.INTERNET_AGENT.value, Role.INTERNET_AGENT.label), (Role.RETAIL.value, Role.RETAIL.label),
              (Role.FLEET.value, Role.FLEET.label)]


class OnCoverageLapse(models.TextChoices):
    KEEP = "keep", "Keep it with its owner"
    POOL = "pool", "Back to the claim pool"
    NEXT_IN_LINE = "next_in_line", "To the next in line"


class RoutingRule(models.Model):
    """When a lead matches (every non-blank field must match), the strategy hands it to the pool."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="routing_rules")
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0, help_text="Rules are tried in this order; the fallback last.")
    enabled = models.BooleanField(default=True)
    is_fallback = models.BooleanField(default=False, help_text="Catches every lead no other rule matched.")
    # The match; a blank field matches anything.
    source_type = models.CharField(max_length=20, choices=SourceType.choices, blank=True)
    provider = models.CharField(max_length=120, blank=True, help_text="Matches the provider name, any case.")
    condition = models.CharField(max_length=8, choices=[("new", "New"), ("used", "Used")], blank=True)
    make = models.CharField(max_length=60, blank=True, help_text="Matches the vehicle's make, any case.")
    lead_kind = models.CharField(max_length=10, choices=LeadKind.choices, blank=True)
    stock_numbers = models.CharField(
        max_length=400, blank=True, help_text="Comma-separated stock numbers; a lead asking for one of them matches."
    )
    # What happens.
    strategy = models.CharField(max_length=30, choices=Strategy.choices)
    pool_teams = models.ManyToManyField(Team, blank=True, related_name="+")
    pool_staff = models.ManyToManyField(Staff, blank=True, related_name="+")
    pool_role = models.CharField(max_length=32, choices=POOL_ROLES, blank=True, help_text="Everyone with this role.")
    weighted = models.BooleanField(default=False, help_text="Round robin by each person's lead weight.")
    open_new_cap = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Skip whoever already holds this many open new (uncontacted) leads."
    )
    response_minutes = models.PositiveSmallIntegerField(
        default=20, help_text="Reassignment: business minutes the owner has for a first outbound attempt."
    )
    max_moves = models.PositiveSmallIntegerField(
        default=2, help_text="Reassignment: after this many moves the lead goes to the manager's queue."
    )
    claim_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Claim pool: unclaimed after this many business minutes, round robin."
    )
    on_coverage_lapse = models.CharField(
        max_length=12, choices=OnCoverageLapse.choices, default=OnCoverageLapse.KEEP,
        help_text="When an open lead's owner lets their coverage on the customer lapse (the store's coverage policy).",
    )
    lapse_warn_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Warn the owner this many hours before their coverage on an open lead lapses.",
    )
    after_hours_staff = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Who gets a lead when nobody in the pool is on shift. Blank: it waits for the next shift.",
    )
    manager = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Whose queue escalations and manager-assigned leads land on. Blank: the pool teams' managers.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "is_fallback", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store"], condition=Q(is_fallback=True, enabled=True), name="routing_one_fallback_per_store"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def stock_number_list(self) -> list[str]:
        return [part.strip().upper() for part in self.stock_numbers.split(",") if part.strip()]


class RotationSlot(models.Model):
    """One pool member's place in a rule's rotation (smooth weighted round robin): the pointer,
    persisted so that restarts and several workers keep the same order."""

    rule = models.ForeignKey(RoutingRule, on_delete=models.CASCADE, related_name="slots")
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="+")
    credit = models.IntegerField(default=0)
    assigned = models.PositiveIntegerField(default=0)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "staff"], name="rotation_slot_unique")]

    def __str__(self) -> str:
        return f"{self.rule}: staff {self.staff_id} credit {self.credit}"


class RoutingState(models.TextChoices):
    WAITING = "waiting", "Waiting for a shift"
    ASSIGNED = "assigned", "Assigned"
    POOL = "pool", "In the claim pool"
    MANAGER = "manager", "On the manager's queue"
    BOARD = "board", "On the receptionist board"


class LeadRouting(models.Model):
    """A lead's routing: the rule that took it, where it is, and its clocks (all columns)."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, primary_key=True, related_name="routing")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule_name = models.CharField(max_length=120, blank=True)
    strategy = models.CharField(max_length=30, choices=Strategy.choices, blank=True)
    state = models.CharField(max_length=10, choices=RoutingState.choices)
    warning = models.CharField(max_length=300, blank=True)
    moves = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(default=timezone.now, help_text="Since when it waits where it is.")
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The response clock: started when an owner is set and the store is open; business minutes.
    clock_started_at = models.DateTimeField(null=True, blank=True)
    breach_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    claim_due_at = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    first_two_way_at = models.DateTimeField(null=True, blank=True)
    # Coverage lapse (the rule's on_coverage_lapse): when the owner's coverage on the customer
    # ends, and when to warn them; recomputed whenever a contact event is recorded.
    coverage_lapse_at = models.DateTimeField(null=True, blank=True)
    lapse_warn_at = models.DateTimeField(null=True, blank=True)
    # The lead was sold or lost (final statuses): its breach, if any, is history. Kept by
    # distribution.services.lead_status_changed so the manager queue's breach list walks only the
    # open leads' breaches (routing_open_breach) instead of a year of closed ones.
    lead_closed = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["breach_at", "lead"],
                condition=Q(lead_closed=False, breach_at__isnull=False, first_two_way_at__isnull=True)
                & (Q(first_attempt_at__isnull=True) | Q(first_attempt_at__gt=models.F("breach_at"))),
                name="routing_open_breach",
            ),
            models.Index(fields=["coverage_lapse_at"], condition=Q(coverage_lapse_at__isnull=False),
                         name="routing_lapse_due"),
            models.Index(fields=["lapse_warn_at"], condition=Q(lapse_warn_at__isnull=False), name="routing_lapse_warn"),
            models.Index(fields=["response_due_at"], condition=Q(response_due_at__isnull=False), name="routing_response_due"),
            models.Index(fields=["warn_at"], condition=Q(warn_at__isnull=False), name="routing_warn_due"),
            models.Index(fields=["claim_due_at"], condition=Q(claim_due_at__isnull=False), name="routing_claim_due"),
            models.Index(fields=["store", "state", "queued_at"], name="routing_store_state"),
            # The manager queue's unowned leads (on the manager's queue, waiting for a shift): a few
            # rows among a year of assigned ones, found without the store (the lead carries it).
            models.Index(fields=["state", "queued_at"], condition=Q(state__in=["manager", "waiting"]),
                         name="routing_unowned"),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.state}"

    @property
    def breached(self) -> bool:
        return is_breach(self, timezone.now())


# --- the one definition of a breach ---------------------------------------------------------------
# A lead is a breach when the store's response limit (breach_at) passed with no first outbound
# attempt by then, and the customer has had no two-way contact (a connected call, a reply, a
# visit) since the lead arrived: a customer someone has talked to or met is never a breach. The
# badge on the lead page (LeadRouting.breached), the manager queue (breach_q) and the Today page
# all use these two, which tests/distribution/test_contact_stops_clocks.py checks agree.

def is_breach(routing, now) -> bool:
    if routing.breach_at is None or routing.first_two_way_at is not None:
        return False
    if routing.first_attempt_at is not None:
        return routing.first_attempt_at > routing.breach_at
    return now >= routing.breach_at


def breach_q(now, prefix: str = "") -> Q:
    """is_breach as a filter; `prefix` is the path to the LeadRouting ("routing__" from Lead)."""
    f = lambda name: f"{prefix}{name}"  # noqa: E731
    return (
        Q(**{f("breach_at__isnull"): False, f("first_two_way_at__isnull"): True})
        & (
            Q(**{f("first_attempt_at__isnull"): True, f("breach_at__lte"): now})
            | Q(**{f("first_attempt_at__gt"): models.F(f("breach_at"))})
        )
    )


def open_breach_q(now, prefix: str = "") -> Q:
    """breach_q on the routing rows of leads not yet sold or lost: the rows routing_open_breach
    holds, so the manager queue reads the open breaches in order instead of a year of closed ones
    (the caller still filters on the lead's open status)."""
    return breach_q(now, prefix) & Q(**{f"{prefix}lead_closed": False})


class NotificationKind(models.TextChoices):
    NEW_LEAD = "new_lead", "New lead"
    WARNING = "warning", "Response warning"
    REASSIGNED = "reassigned", "Lead moved"
    MANAGER = "manager", "Needs a manager"
    BOARD = "board", "On the board"
    TASK = "task", "Task due"
    CHECK_IN = "check_in", "Customer arrived"
    APPOINTMENT = "appointment", "Appointment"
    COVERAGE = "coverage", "Coverage ending"
    DEAL = "deal", "Deal recorded"
    DISPUTE = "dispute", "Deal dispute"


class Notification(models.Model):
    """An in-app message to one staff member (and, where the store enables it, a text)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="notifications")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=NotificationKind.choices)
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # A text to the staff member's cell: due until sent (or given up); the sweeper retries.
    sms_due_at = models.DateTimeField(null=True, blank=True)
    sms_sid = models.CharField(max_length=64, blank=True)
    sms_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["staff", "-created_at"], condition=Q(read_at__isnull=True), name="notification_unread"),
            models.Index(fields=["sms_due_at"], condition=Q(sms_due_at__isnull=False), name="notification_sms_due"),
        ]

    def __str__(self) -> str:
        return f"{self.staff}: {self.text}"
