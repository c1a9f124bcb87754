"""Coverage policies as versioned data, deals, and their frozen credit decisions.

A policy version is never edited: an edit is a new version with its own effective_from. A deal
is judged once, by the versions in force at sold_at, and the decision is stored with the
policy versions and the evidence; a later version never re-judges it. An override is a new
row beside the original credit, with its written reason.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from leads.models import Customer, Lead
from org.models import Role, Staff, Store


class KeepsAlive(models.TextChoices):
    ANY_ATTEMPT = "any_attempt", "Any follow-up attempt"
    TWO_WAY = "two_way", "Two-way contact only"


class MinEvidence(models.TextChoices):
    VERIFIED = "verified", "Verified only"
    SELF_REPORTED = "self_reported", "Self-reported allowed"


class CoveragePolicy(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="coverage_policies")
    role = models.CharField(max_length=32, choices=Role.choices)
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    effective_from = models.DateTimeField()
    initial_two_way_required = models.BooleanField()
    keeps_alive = models.CharField(max_length=12, choices=KeepsAlive.choices)
    window_hours = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    min_evidence = models.CharField(max_length=16, choices=MinEvidence.choices)
    share_when_other_closes = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.5"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    pause_on_days_off = models.BooleanField(default=False)
    min_talk_seconds = models.PositiveSmallIntegerField(default=30)
    created_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True, help_text="Why this version (shown when comparing).")

    class Meta:
        ordering = ["store", "role", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "role", "effective_from"], name="coverage_policy_one_version_per_moment"
            ),
            models.UniqueConstraint(fields=["store", "role", "version"], name="coverage_policy_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.get_role_display()}, from {self.effective_from:%Y-%m-%d})"


class DealSource(models.TextChoices):
    BROWSER = "browser", "Entered in the browser"
    API = "api", "API"
    DMS_CSV = "dms_csv", "DMS export"


class Deal(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="deals")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="deals")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.PROTECT, related_name="deals")
    vehicle = models.CharField(max_length=200, blank=True)
    stock_number = models.CharField(max_length=40, blank=True)
    closer = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="deals_closed")
    sold_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=DealSource.choices)
    external_id = models.CharField(max_length=120, blank=True, help_text="The DMS deal number, for idempotent imports.")
    recorded_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    # The frozen judgement: engine output (decisions, explanations, evidence) and the versions used.
    decision = models.JSONField(default=dict)
    policy_versions = models.ManyToManyField(CoveragePolicy, related_name="deals", blank=True)

    class Meta:
        ordering = ["-sold_at", "-id"]
        indexes = [models.Index(fields=["store", "-sold_at"], name="deal_store_sold")]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"], condition=~models.Q(external_id=""), name="deal_unique_dms_id"
            )
        ]

    def __str__(self) -> str:
        return f"Deal #{self.pk} {self.customer} ({self.sold_at:%Y-%m-%d})"


class DealCredit(models.Model):
    """One person's share of a deal. An override is a new credit row that replaces the original
    (`overrides`), never an edit: the original stays beside it."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="credits")
    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="deal_credits")
    share = models.DecimalField(max_digits=4, decimal_places=3)
    reason = models.CharField(max_length=300)
    policy = models.ForeignKey(CoveragePolicy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    team_manager = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="team_credits",
        help_text="The credited person's sales manager, who gets team credit for this share.",
    )
    overrides = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="overridden_by")
    override_reason = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["deal", "-share", "id"]
        indexes = [models.Index(fields=["staff", "active"], name="credit_staff_active")]

    def __str__(self) -> str:
        return f"{self.staff} {self.share} of deal {self.deal_id}"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    UPHELD = "upheld", "Decision upheld"
    CHANGED = "changed", "Credit changed"


class Dispute(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="disputes")
    raised_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="disputes_raised")
    comment = models.TextField()
    status = models.CharField(max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["deal", "status"], name="dispute_deal_status")]

    def __str__(self) -> str:
        return f"Dispute on deal {self.deal_id} by {self.raised_by} ({self.status})"
