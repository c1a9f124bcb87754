"""API shapes for distribution: routing rules and their preview, the receptionist's board, the
manager's queue, notifications, and the bodies of reassign / release / hand. They validate and
translate; distribution.services and distribution.pools do the work."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from distribution import pools
from distribution.models import LeadKind, Notification, RoutingRule, Strategy
from leads.models import Lead, SourceType, VehicleInterest
from org.models import Staff, Store, Team
from org.scoping import staff_for, stores_for, teams_for

UNKNOWN = {"does_not_exist": "Unknown id {pk_value}.", "incorrect_type": "Give an id (a number)."}


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SkippedSerializer(serializers.Serializer):
    staff = serializers.IntegerField()
    name = serializers.CharField()
    reason = serializers.CharField()


def vehicle_label(lead: Lead) -> str:
    """The vehicle the customer asked about (prefetch `vehicles`): "2024 Honda Civic, stock T123"."""
    vehicles = list(lead.vehicles.all())
    wanted = [v for v in vehicles if v.interest in (VehicleInterest.BUY, VehicleInterest.LEASE)] or vehicles
    if not wanted:
        return ""
    first = wanted[0]
    label = str(first) if str(first) != "Vehicle" else ""
    if first.condition:
        label = f"{first.get_condition_display()} {label}".strip()
    if first.stock_number:
        label = f"{label}, stock {first.stock_number}" if label else f"Stock {first.stock_number}"
    return label


# --- Routing rules ----------------------------------------------------------------------------


class RoutingRuleSerializer(serializers.ModelSerializer):
    """A routing rule. Saved through distribution.pools.rule_save, which refuses an empty pool,
    a pool with nobody active in it, a missing strategy, members of another store and a second
    fallback rule: each a 400 naming the field, with nothing saved."""

    store = serializers.PrimaryKeyRelatedField(
        queryset=Store.objects.none(), required=False, error_messages=UNKNOWN,
        help_text="The store's id; defaults to the caller's store. A rule stays in its store.",
    )
    strategy = serializers.ChoiceField(choices=Strategy.choices, required=False, allow_blank=True)
    pool_teams = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Team.objects.none(), required=False, error_messages=UNKNOWN
    )
    pool_staff = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Staff.objects.none(), required=False, error_messages=UNKNOWN
    )
    after_hours_staff = serializers.PrimaryKeyRelatedField(
        queryset=Staff.objects.none(), required=False, allow_null=True, error_messages=UNKNOWN
    )
    manager = serializers.PrimaryKeyRelatedField(
        queryset=Staff.objects.none(), required=False, allow_null=True, error_messages=UNKNOWN
    )

    class Meta:
        model = RoutingRule
        fields = [
            "id", "store", "name", "position", "enabled", "is_fallback",
            "source_type", "provider", "condition", "make", "lead_kind", "stock_numbers",
            "strategy", "pool_teams", "pool_staff", "pool_role", "weighted", "open_new_cap",
            "response_minutes", "max_moves", "claim_minutes", "after_hours_staff", "manager", "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
        validators = []  # the one-fallback rule is checked by pools.rule_save, with a message naming the other rule

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:
            return
        user = request.user
        self.fields["store"].queryset = stores_for(user)
        self.fields["pool_teams"].child_relation.queryset = teams_for(user)
        self.fields["pool_staff"].child_relation.queryset = staff_for(user)
        self.fields["after_hours_staff"].queryset = staff_for(user)
        self.fields["manager"].queryset = staff_for(user)

    def validate_store(self, store):
        if self.instance is not None and store.pk != self.instance.store_id:
            raise serializers.ValidationError("A rule stays in its store; make a new rule in the other store.")
        return store

    def create(self, validated_data):
        teams = validated_data.pop("pool_teams", [])
        staff = validated_data.pop("pool_staff", [])
        return self._save(RoutingRule(**validated_data), teams, staff)

    def update(self, instance, validated_data):
        teams = validated_data.pop("pool_teams", None)
        staff = validated_data.pop("pool_staff", None)
        teams = list(instance.pool_teams.all()) if teams is None else teams
        staff = list(instance.pool_staff.all()) if staff is None else staff
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self._save(instance, teams, staff)

    @staticmethod
    def _save(rule: RoutingRule, teams, staff) -> RoutingRule:
        try:
            return pools.rule_save(rule, teams=teams, staff=staff)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        except IntegrityError:  # a fallback rule saved at the same moment by someone else
            raise serializers.ValidationError(
                {"is_fallback": ["Another fallback rule was just saved for this store."]}
            ) from None


class RulePreviewSerializer(serializers.Serializer):
    """A sample lead: every field may be blank, as on a rule."""

    source_type = serializers.ChoiceField(choices=SourceType.choices, required=False, allow_blank=True, default="")
    provider = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    condition = serializers.ChoiceField(
        choices=[("new", "New"), ("used", "Used")], required=False, allow_blank=True, default=""
    )
    make = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    lead_kind = serializers.ChoiceField(choices=LeadKind.choices, required=False, allow_blank=True, default="")
    stock_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When the lead would arrive; default now."
    )
    store = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="The store's id; default the caller's store."
    )

    def facts(self) -> pools.LeadFacts:
        data = self.validated_data
        stock = data["stock_number"].strip().upper()
        return pools.LeadFacts(
            source_type=data["source_type"], provider=data["provider"].strip(), condition=data["condition"],
            make=data["make"].strip(), lead_kind=data["lead_kind"], stock_numbers=[stock] if stock else [],
        )


class RulePreviewResultSerializer(serializers.Serializer):
    rule = RoutingRuleSerializer(allow_null=True, help_text="The rule that would take the lead; null when none.")
    why = serializers.CharField(help_text="Why that rule (or none) took it.")
    strategy = serializers.CharField()
    owner = PersonSerializer(allow_null=True, help_text="Who would get it now; null for a pool, queue or board.")
    state = serializers.CharField(help_text="Where it would be: assigned, pool, manager, board or waiting.")
    reason = serializers.CharField()
    skipped = SkippedSerializer(many=True)
    upcoming = serializers.ListField(child=serializers.CharField(), help_text="The next five in line (round robin).")


# --- Acting on a lead -------------------------------------------------------------------------


class BoardHandSerializer(serializers.Serializer):
    to = serializers.IntegerField(help_text="Staff id of the salesperson who called in first.")


# --- Board, manager queue, notifications --------------------------------------------------------


class QueuedLeadSerializer(serializers.ModelSerializer):
    """A lead waiting on the board or a queue, and for how long."""

    # The view selects customer and routing, prefetches vehicles and puts "now" in the context.

    customer = serializers.CharField(read_only=True, help_text="The customer's name.")
    source = serializers.CharField(source="get_source_type_display", read_only=True)
    vehicle = serializers.SerializerMethodField()
    state = serializers.CharField(source="routing.state", read_only=True)
    rule_name = serializers.CharField(source="routing.rule_name", read_only=True)
    queued_at = serializers.DateTimeField(
        source="routing.queued_at", read_only=True, help_text="Since when it waits where it is."
    )
    waited_seconds = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id", "store", "customer", "source_type", "source", "provider", "vehicle", "received_at",
            "state", "rule_name", "queued_at", "waited_seconds",
        ]
        read_only_fields = fields

    def get_vehicle(self, lead) -> str:
        return vehicle_label(lead)

    def get_waited_seconds(self, lead) -> int:
        return max(0, int((self.context["now"] - lead.routing.queued_at).total_seconds()))


class BoardLeadSerializer(QueuedLeadSerializer):
    floor = serializers.SerializerMethodField()

    class Meta(QueuedLeadSerializer.Meta):
        fields = [*QueuedLeadSerializer.Meta.fields, "floor"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(many=True))
    def get_floor(self, lead) -> list[dict]:
        """Who of this lead's rule's pool is on the floor now (context["floors"] by rule id)."""
        return self.context["floors"].get(lead.routing.rule_id, [])


class BoardSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    floor = PersonSerializer(many=True, help_text="Salespeople of the board rules' pools who can take a lead now.")
    leads = BoardLeadSerializer(many=True, help_text="Leads waiting on the board, oldest first.")


class ManagerQueueLeadSerializer(QueuedLeadSerializer):
    warning = serializers.CharField(source="routing.warning", read_only=True)

    class Meta(QueuedLeadSerializer.Meta):
        fields = [*QueuedLeadSerializer.Meta.fields, "warning"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "text", "lead", "created_at", "read_at"]
        read_only_fields = fields


class NotificationReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, allow_empty=True, max_length=1000,
        help_text="The notifications to mark read; leave out to mark all of them read.",
    )


class NotificationReadResultSerializer(serializers.Serializer):
    read = serializers.IntegerField(help_text="How many were unread and are now read.")
