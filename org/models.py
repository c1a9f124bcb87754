"""The organization: dealer group -> stores (rooftops) -> teams -> staff, with schedules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def default_business_hours() -> dict:
    weekday = [["09:00", "20:00"]]
    return {
        "mon": weekday, "tue": weekday, "wed": weekday, "thu": weekday,
        "fri": weekday, "sat": [["09:00", "18:00"]], "sun": [],
    }


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}; use an IANA name like America/Chicago.")


def validate_business_hours(value: dict) -> None:
    if not isinstance(value, dict):
        raise ValidationError("Business hours must map weekday (mon..sun) to [[open, close], ...].")
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(f"Unknown weekday {day!r}; use mon, tue, wed, thu, fri, sat, sun.")
        for span in spans:
            try:
                opens, closes = (dt.time.fromisoformat(part) for part in span)
            except (TypeError, ValueError):
                raise ValidationError(f"{day}: {span!r} is not an [\"HH:MM\", \"HH:MM\"] pair.") from None
            if opens >= closes:
                raise ValidationError(f"{day}: opening {opens} must be before closing {closes}.")


class DealerGroup(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    """A rooftop. Everything a user sees is scoped to one store (or to a group for admins)."""

    group = models.ForeignKey(DealerGroup, on_delete=models.PROTECT, related_name="stores")
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True, help_text="Used in the public web form address and the intake API.")
    time_zone = models.CharField(max_length=64, default="America/Chicago", validators=[validate_time_zone])
    business_hours = models.JSONField(default=default_business_hours, validators=[validate_business_hours])
    duplicate_window_days = models.PositiveSmallIntegerField(
        default=30, help_text="A second lead from the same customer within this many days is a duplicate."
    )
    web_form_enabled = models.BooleanField(default=True)
    # Automatic merges (leads.identity.auto_merge), off by default: a lead that shares a phone or
    # email with a customer under a name the rule calls different is merged into that customer, and
    # recorded and undoable like a manual merge, only inside all three limits.
    auto_merge = models.BooleanField(
        default=False, help_text="Merge a possible duplicate automatically when it is inside the limits below."
    )
    auto_merge_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Automatic merge: the customer had a lead from the same provider within this many days.",
    )
    auto_merge_similarity = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(50), MaxValueValidator(100)],
        help_text="Automatic merge: the names are at least this alike (pg_trgm similarity, in percent).",
    )
    main_phone = PhoneNumberField(blank=True)
    min_talk_seconds = models.PositiveSmallIntegerField(
        default=30, help_text="A connected call answered by a person is two-way from this talk time on."
    )
    voicemail_script = models.TextField(
        default="Hi {customer_first_name}, this is {agent_name} with {store_name}. "
        "Please call me back at {callback_number}. Thank you!",
        help_text="What a voicemail drop says; {agent_name}, {store_name}, {callback_number}, {customer_first_name}.",
    )
    response_limit_minutes = models.PositiveSmallIntegerField(
        default=20,
        help_text="A lead without a first outbound attempt within this many business minutes is a breach.",
    )
    daily_call_target = models.PositiveSmallIntegerField(
        default=120, help_text="Calls a salesperson is expected to make in a day (the sales board's target)."
    )
    notify_owner_by_sms = models.BooleanField(
        default=False, help_text="Also text a new lead's owner on their cell phone (from the store's main line)."
    )
    ring_receptionist_by_sms = models.BooleanField(
        default=False,
        help_text="Also text the receptionist's phone when a lead lands on the receptionist board, so it rings.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    INTERNET_AGENT = "internet_agent", "Internet agent"
    RETAIL = "retail", "Retail salesperson"
    FLEET = "fleet", "Fleet"
    SALES_MANAGER = "sales_manager", "Sales manager"
    INTERNET_DIRECTOR = "internet_director", "Internet director"
    RECEPTIONIST = "receptionist", "Receptionist"
    ADMIN = "admin", "Admin / dealer principal"


SALES_ROLES = {Role.INTERNET_AGENT, Role.RETAIL, Role.FLEET}


class Team(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(max_length=100)
    manager = models.ForeignKey(
        "Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_teams"
    )

    class Meta:
        ordering = ["store", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="team_unique_name_per_store")]

    def __str__(self) -> str:
        return f"{self.name} ({self.store})"

    def clean(self) -> None:
        if self.manager_id and self.manager.store_id != self.store_id:
            raise ValidationError({"manager": "The manager must be staff of the same store."})


class Staff(models.Model):
    """A user's role in a store, with the phones used to bridge click-to-call."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(max_length=32, choices=Role.choices)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    desk_phone = PhoneNumberField(blank=True)
    cell_phone = PhoneNumberField(blank=True)
    is_active = models.BooleanField(default=True)
    available = models.BooleanField(default=True, help_text="The 'available now' toggle.")
    lead_weight = models.PositiveSmallIntegerField(
        default=1, help_text="In a weighted round robin, a weight of 2 gets twice the leads of a weight of 1."
    )

    class Meta:
        ordering = ["store", "user__first_name", "user__last_name"]
        verbose_name_plural = "staff"
        indexes = [models.Index(fields=["store", "role"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    def clean(self) -> None:
        if self.team_id and self.team.store_id != self.store_id:
            raise ValidationError({"team": "The team must belong to the staff member's store."})

    def days_off(self) -> set[int]:
        """Weekdays (0 = Monday) with no scheduled shift."""
        worked = {shift.weekday for shift in self.shifts.all()}
        return set(range(7)) - worked


class Shift(models.Model):
    """One weekly shift in the store's time zone; a weekday without a shift is a day off.

    A shift whose end is before its start runs overnight into the next day (22:00-02:00)."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="shifts")
    weekday = models.PositiveSmallIntegerField(choices=[(i, d.capitalize()) for i, d in enumerate(WEEKDAYS)])
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["staff", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(starts=models.F("ends")), name="shift_not_empty"),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="shift_weekday_range"),
        ]

    def __str__(self) -> str:
        overnight = " (overnight)" if self.ends < self.starts else ""
        return f"{WEEKDAYS[self.weekday]} {self.starts:%H:%M}-{self.ends:%H:%M}{overnight}"


class ScheduleVersion(models.Model):
    """A person's weekly shifts as they stood from `effective_from` (a local date in the store's
    zone) until the next version's: the sales board reads each past day's targets from the
    version in force that day, so editing a schedule never rewrites past targets.

    Written only by org.schedules.week_save, in the transaction that replaces the Shift rows:
    the first edit also records the schedule it replaces, in force since always (BEGINNING).
    `shifts` is [[weekday, "HH:MM:SS[.ffffff]", "HH:MM:SS[.ffffff]"], ...]; [] means no shift
    entered (the board then counts the store's open days, as it does for the Shift rows)."""

    BEGINNING = dt.date.min

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="schedule_versions")
    effective_from = models.DateField()
    shifts = models.JSONField(default=list, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["staff", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["staff", "effective_from"], name="schedule_version_one_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.staff}: from {self.effective_from}"

    def as_shifts(self) -> list[tuple[int, dt.time, dt.time]]:
        return [(int(day), dt.time.fromisoformat(starts), dt.time.fromisoformat(ends)) for day, starts, ends in self.shifts]

    @staticmethod
    def encode(shifts) -> list[list]:
        return [[int(day), starts.isoformat(), ends.isoformat()] for day, starts, ends in sorted(shifts)]


class TimeOff(models.Model):
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="time_off")
    first_day = models.DateField()
    last_day = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["staff", "first_day"]
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(condition=models.Q(first_day__lte=models.F("last_day")), name="timeoff_range_order")
        ]

    def __str__(self) -> str:
        return f"{self.staff}: {self.first_day} - {self.last_day}"
