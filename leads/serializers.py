"""API input/output shapes. They validate and translate; services do the writing."""

from __future__ import annotations

from rest_framework import serializers

from leads.models import (
    Channel,
    ContactEvent,
    Customer,
    CustomerMerge,
    Lead,
    LeadAssignment,
    LeadStatus,
    LeadStatusChange,
    LeadVehicle,
    Outcome,
    PossibleDuplicate,
    RejectedIntake,
    SourceType,
    VehicleInterest,
)
from leads.services import (
    MAX_COMMENTS,
    MAX_EMAILS,
    MAX_PHONES,
    MAX_VEHICLES,
    LeadData,
    VehicleData,
    implausible_odometer,
)


class VehicleSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadVehicle
        fields = ["interest", "condition", "year", "make", "model", "trim", "stock_number", "vin", "odometer"]


class CustomerSerializer(serializers.ModelSerializer):
    phones = serializers.SerializerMethodField()
    emails = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["id", "store", "first_name", "last_name", "phones", "emails", "created_at", "merged_into"]
        read_only_fields = ["id", "store", "created_at", "merged_into"]

    def get_phones(self, obj) -> list[str]:
        return [str(p.number) for p in obj.phones.all()]

    def get_emails(self, obj) -> list[str]:
        return [e.email for e in obj.emails.all()]


class StatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadStatusChange
        fields = ["from_status", "to_status", "changed_by", "changed_at"]


class AssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadAssignment
        fields = ["from_staff", "to_staff", "assigned_by", "reason", "assigned_at"]


class LeadSerializer(serializers.ModelSerializer):
    customer = CustomerSerializer(read_only=True)
    vehicles = VehicleSerializer(many=True, read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id", "store", "customer", "source_type", "provider", "provider_lead_id", "intake_channel",
            "comments", "received_at", "status", "owner", "duplicate_of", "in_claim_pool", "vehicles",
        ]
        read_only_fields = fields


class IntakeReceiptSerializer(serializers.Serializer):
    """What an intake post answers: the stored lead's identity and where it went.

    A receipt rather than the full lead: providers need the id and whether it was new, and
    building the full lead would cost four more queries on the busiest endpoint. A plain
    Serializer, as ModelSerializer introspects the model again on every request."""

    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    store = serializers.IntegerField(source="store_id")
    customer = serializers.IntegerField(source="customer_id")
    source_type = serializers.CharField()
    provider = serializers.CharField()
    provider_lead_id = serializers.CharField()
    received_at = serializers.DateTimeField()
    status = serializers.CharField()
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True)
    created = serializers.BooleanField()
    duplicate = serializers.BooleanField(help_text="A repeat lead of the same customer, following their open lead.")
    possible_duplicate_of = serializers.IntegerField(
        allow_null=True,
        help_text="The lead shared a phone or an email with this existing customer under a different name: it got "
                  "a customer of its own, and the pair waits for a manager's review (/api/v1/possible-duplicates/).",
    )

    def get_url(self, obj) -> str:
        return f"/api/v1/leads/{obj.pk}/"


class LeadDetailSerializer(LeadSerializer):
    status_changes = StatusChangeSerializer(many=True, read_only=True)
    assignments = AssignmentSerializer(many=True, read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = LeadSerializer.Meta.fields + ["status_changes", "assignments", "original_document"]
        read_only_fields = fields


class IntakeVehicleSerializer(serializers.Serializer):
    interest = serializers.ChoiceField(choices=VehicleInterest.choices, default=VehicleInterest.BUY)
    condition = serializers.ChoiceField(choices=[("new", "New"), ("used", "Used"), ("", "Unknown")], default="")
    year = serializers.IntegerField(min_value=1900, max_value=2100, required=False, allow_null=True, default=None)
    make = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    model = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    trim = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    stock_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    vin = serializers.CharField(max_length=17, required=False, allow_blank=True, default="")
    odometer = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)

    def validate_odometer(self, value):
        if implausible_odometer(value):
            raise serializers.ValidationError(f"{value} is not a plausible odometer reading.")
        return value


class IntakeCustomerSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    phones = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list, max_length=MAX_PHONES,
        error_messages={"max_length": f"A lead may carry at most {MAX_PHONES} phone numbers."},
    )
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    emails = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, default=list, max_length=MAX_EMAILS,
        error_messages={"max_length": f"A lead may carry at most {MAX_EMAILS} email addresses."},
    )

    def validate(self, attrs):
        if len([p for p in [attrs["phone"], *attrs["phones"]] if p.strip()]) > MAX_PHONES:
            raise serializers.ValidationError({"phones": f"A lead may carry at most {MAX_PHONES} phone numbers."})
        if len([e for e in [attrs["email"], *attrs["emails"]] if e.strip()]) > MAX_EMAILS:
            raise serializers.ValidationError({"emails": f"A lead may carry at most {MAX_EMAILS} email addresses."})
        if not any(p.strip() for p in [attrs["phone"], *attrs["phones"], attrs["email"], *attrs["emails"]]):
            raise serializers.ValidationError("A lead needs a phone number or an email address to answer it.")
        return attrs


class LeadIntakeSerializer(serializers.Serializer):
    """JSON lead intake: POST /api/v1/leads/."""

    store = serializers.SlugField(help_text="The store's slug.")
    source_type = serializers.ChoiceField(choices=SourceType.choices)
    provider = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    provider_lead_id = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    comments = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_COMMENTS)
    customer = IntakeCustomerSerializer()
    # max_length is checked before any vehicle is validated, so 2,000 vehicles cost nothing.
    vehicles = IntakeVehicleSerializer(many=True, required=False, default=list, max_length=MAX_VEHICLES)

    def to_lead_data(self, *, intake_channel: str, original_document: str) -> LeadData:
        data = self.validated_data
        customer = data["customer"]
        phones = [p for p in [customer["phone"], *customer["phones"]] if p.strip()]
        emails = [e for e in [customer["email"], *customer["emails"]] if e.strip()]
        return LeadData(
            source_type=data["source_type"],
            intake_channel=intake_channel,
            first_name=customer["first_name"].strip(),
            last_name=customer["last_name"].strip(),
            phones=[(p, "mobile") for p in phones],
            emails=emails,
            provider=data["provider"].strip(),
            provider_lead_id=data["provider_lead_id"].strip(),
            comments=data["comments"],
            received_at=data["received_at"],
            vehicles=[VehicleData(**v) for v in data["vehicles"]],
            original_document=original_document,
        )


class LeadTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=LeadStatus.choices)


class LeadAssignSerializer(serializers.Serializer):
    owner = serializers.IntegerField(help_text="Staff id of the new owner.")
    reason = serializers.CharField(max_length=300, required=False, default="Assigned by hand.")


class ContactEventSerializer(serializers.ModelSerializer):
    staff_name = serializers.CharField(source="staff.display_name", read_only=True, default="")

    class Meta:
        model = ContactEvent
        fields = [
            "id", "store", "customer", "lead", "staff", "staff_name", "channel", "direction", "outcome",
            "occurred_at", "recorded_at", "evidence_level", "outside_company_channels", "body", "talk_seconds",
            "answered_by_person", "call_sid", "message_sid", "recording_sid", "email_message_id",
            "source_system", "external_id", "is_attempt", "is_two_way", "min_talk_seconds",
        ]
        read_only_fields = fields


LOGGABLE_CHANNELS = [(Channel.NOTE, "Note"), (Channel.CALL, "Call"), (Channel.VISIT, "Visit")]


class ContactEventLogSerializer(serializers.Serializer):
    """A self-reported note, call or visit, logged by the requesting staff member."""

    lead = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=LOGGABLE_CHANNELS)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    direction = serializers.ChoiceField(choices=[("outbound", "Outbound"), ("inbound", "Inbound")], default="outbound")
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    outside_company_channels = serializers.BooleanField(
        default=False, help_text="True when the call was made from a personal phone."
    )
    spoke_with_customer = serializers.BooleanField(
        default=False,
        help_text="A call: you spoke with the customer (a conversation, two-way at the self-reported level).",
    )
    talk_minutes = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=0.1, max_value=600,
        help_text="With spoke_with_customer: how long you talked; under the store's minimum it is not two-way.",
    )

    def validate(self, attrs):
        defaults = {Channel.NOTE: Outcome.NOTE, Channel.VISIT: Outcome.VISITED}
        if attrs.get("spoke_with_customer") and attrs["channel"] == Channel.CALL:
            defaults[Channel.CALL] = Outcome.CONNECTED
        if "outcome" not in attrs:
            if attrs["channel"] not in defaults:
                raise serializers.ValidationError({"outcome": "A call needs an outcome."})
            attrs["outcome"] = defaults[attrs["channel"]]
        return attrs


class ImportEventSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=120)
    customer = serializers.IntegerField()
    lead = serializers.IntegerField(required=False, allow_null=True, default=None)
    staff = serializers.IntegerField(required=False, allow_null=True, default=None)
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=[("outbound", "Outbound"), ("inbound", "Inbound"), ("", "-")], default="")
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    occurred_at = serializers.DateTimeField()
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)
    talk_seconds = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)


class ContactEventImportSerializer(serializers.Serializer):
    store = serializers.SlugField()
    source_system = serializers.CharField(max_length=60)
    events = ImportEventSerializer(many=True, allow_empty=False, max_length=5000)


class RejectedIntakeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RejectedIntake
        fields = ["id", "store", "channel", "reason", "message", "body_excerpt", "body_size", "remote_addr", "received_at"]
        read_only_fields = fields


class DuplicateCustomerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "first_name", "last_name"]


class PossibleDuplicateSerializer(serializers.ModelSerializer):
    """Two customers who may be one person (leads.duplicates): `customer` is the one the lead made."""

    customer = DuplicateCustomerSerializer(read_only=True)
    other = DuplicateCustomerSerializer(read_only=True)

    class Meta:
        model = PossibleDuplicate
        fields = ["id", "store", "customer", "other", "lead", "reason", "score", "status", "created_at",
                  "decided_by", "decided_at"]
        read_only_fields = fields


class CustomerMergeSerializer(serializers.ModelSerializer):
    """A merge (leads.merge): `moved` lists the ids of every row it moved, per kind; `split_at` is set once undone."""

    survivor = DuplicateCustomerSerializer(read_only=True)
    merged = DuplicateCustomerSerializer(read_only=True)

    class Meta:
        model = CustomerMerge
        fields = ["id", "store", "survivor", "merged", "pair", "reason", "by", "at", "moved", "split_by", "split_at"]
        read_only_fields = fields


class CustomerMergeRequestSerializer(serializers.Serializer):
    """Merge `merged` into `survivor`: two customers of a store you review."""

    survivor = serializers.IntegerField(min_value=1)
    merged = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def _customer(self, value: int):
        from leads.scoping import customers_for

        found = customers_for(self.context["request"].user).filter(pk=value).first()
        if found is None:
            raise serializers.ValidationError(f"No customer #{value} in your store(s).")
        return found

    def validate_survivor(self, value: int):
        return self._customer(value)

    def validate_merged(self, value: int):
        return self._customer(value)


class ConflictSerializer(serializers.Serializer):
    """409: someone else already holds the lead."""

    detail = serializers.CharField()
    holder = serializers.IntegerField(allow_null=True)


class LeadReassignSerializer(serializers.Serializer):
    to = serializers.IntegerField(allow_null=True, help_text="Staff id of the new owner; null: the next in line.")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
