"""The stateless judge's input: a policy (preset or parameters), staff, contact events, a sale.
Everything is validated here into engine dataclasses; the engine decides."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from zoneinfo import ZoneInfo, available_timezones

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dealcoverage import engine
from dealcoverage.presets import PRESETS, preset
from leads.models import Channel, Direction, EvidenceLevel, Outcome
from org.models import Role

PARAMETERS = [
    "initial_two_way_required", "keeps_alive", "window_hours", "min_evidence", "share_when_other_closes",
    "pause_on_days_off", "min_talk_seconds",
]


class PolicyParametersSerializer(serializers.Serializer):
    """A policy's parameters, each with its own type and bounds (those of the stored policy and its form)."""

    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    version = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    role = serializers.CharField(max_length=32, required=False, allow_blank=True)
    initial_two_way_required = serializers.BooleanField()
    keeps_alive = serializers.ChoiceField(choices=["any_attempt", "two_way"])
    window_hours = serializers.IntegerField(min_value=1, max_value=engine.MAX_WINDOW_HOURS)
    min_evidence = serializers.ChoiceField(choices=["verified", "self_reported"])
    share_when_other_closes = serializers.DecimalField(
        max_digits=4, decimal_places=3, min_value=0, max_value=1, required=False
    )
    pause_on_days_off = serializers.BooleanField(required=False)
    min_talk_seconds = serializers.IntegerField(min_value=0, max_value=32767, required=False)

    def validate_share_when_other_closes(self, value):
        return value.normalize()  # "0.3" stays 0.3 (the field quantizes it to 0.300)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": sorted(PRESETS), "description": "A preset's name."},
            {"type": "object", "description": "{'preset': name, ...overrides} or the full parameters."},
        ]
    }
)
class PolicyField(serializers.Field):
    """A preset's name ("internet-72h"), or {"preset": name, ...overrides}, or full parameters."""

    default_error_messages = {"invalid": "Give a preset name ({presets}) or the policy's parameters."}

    def to_internal_value(self, data) -> engine.Policy:
        if isinstance(data, str):
            data = {"preset": data}
        if not isinstance(data, Mapping):
            self.fail("invalid", presets=", ".join(PRESETS))
        unknown = set(data) - {"preset", "name", "version", "role", *PARAMETERS}
        if unknown:
            raise serializers.ValidationError(f"Unknown policy parameter(s): {', '.join(sorted(unknown))}.")
        given = {k: v for k, v in data.items() if k != "preset"}
        if "preset" in data:
            # The overrides are checked on their own (partial), then laid over the preset.
            overrides = PolicyParametersSerializer(data=given, partial=True)
            overrides.is_valid(raise_exception=True)
            name = data["preset"]
            if not isinstance(name, str) or name not in PRESETS:
                raise serializers.ValidationError(
                    {"preset": [f"Unknown coverage preset {name!r}; known: {', '.join(PRESETS)}."]}
                )
            values = {**overrides.validated_data}
            base = preset(name, pause_on_days_off=values.get("pause_on_days_off", False))
            values = {**base.to_dict(), **values}
        else:
            parameters = PolicyParametersSerializer(data=given)
            parameters.is_valid(raise_exception=True)
            values = dict(parameters.validated_data)
        try:
            return engine.Policy(
                name=str(values.get("name") or "proposed"),
                version=int(values.get("version") or 1),
                role=str(values.get("role") or ""),
                initial_two_way_required=values["initial_two_way_required"],
                keeps_alive=values["keeps_alive"],
                window_hours=values["window_hours"],
                min_evidence=values["min_evidence"],
                share_when_other_closes=values.get("share_when_other_closes", "0.5"),
                pause_on_days_off=values.get("pause_on_days_off", False),
                min_talk_seconds=values.get("min_talk_seconds", 30),
            )
        except (TypeError, ValueError) as exc:  # the engine's own checks, should a bound above miss one
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value.to_dict()


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA zone names, read from disk once (listing them costs milliseconds)."""
    return frozenset(available_timezones())


class JudgeStaffSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    role = serializers.ChoiceField(choices=Role.choices)
    days_off = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), required=False, default=list)
    team = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    def validate_days_off(self, value: list[int]) -> list[int]:
        if len(set(value)) == 7:
            raise serializers.ValidationError("A schedule cannot have every weekday off.")
        return value


class JudgeEventSerializer(serializers.Serializer):
    staff = serializers.CharField(max_length=64)
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=Direction.choices, default="")
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    talk_seconds = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    answered_by_person = serializers.BooleanField(required=False, allow_null=True, default=None)
    evidence_level = serializers.ChoiceField(choices=EvidenceLevel.choices)
    outside_company_channels = serializers.BooleanField(default=False)
    evidence_ref = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField()


class JudgeSaleSerializer(serializers.Serializer):
    closer = serializers.CharField(max_length=64)
    sold_at = serializers.DateTimeField()


class JudgeSerializer(serializers.Serializer):
    """POST /api/v1/coverage/judge/: the same engine as recorded deals, storing nothing."""

    policy = PolicyField(required=False, help_text="One policy for every role (a preset name or parameters).")
    policies = serializers.DictField(
        child=PolicyField(), required=False, help_text="A policy per role, e.g. {\"internet_agent\": \"internet-72h\"}."
    )
    time_zone = serializers.CharField(max_length=64)
    staff = JudgeStaffSerializer(many=True, allow_empty=False)
    events = JudgeEventSerializer(many=True, max_length=10000)
    sale = JudgeSaleSerializer()

    def to_internal_value(self, data):
        # A time given without a zone is read in the request's time zone, not the server's.
        name = data.get("time_zone") if isinstance(data, Mapping) else None
        if isinstance(name, str) and name in time_zone_names():
            with timezone.override(ZoneInfo(name)):
                return super().to_internal_value(data)
        return super().to_internal_value(data)

    def validate_time_zone(self, value: str) -> str:
        if value not in time_zone_names():
            raise serializers.ValidationError(f"Unknown time zone {value!r}; use an IANA name like America/Chicago.")
        return value

    def validate_staff(self, value: list[dict]) -> list[dict]:
        seen: set[str] = set()
        duplicated = sorted({person["id"] for person in value if person["id"] in seen or seen.add(person["id"])})
        if duplicated:
            raise serializers.ValidationError(f"Staff id(s) given more than once: {', '.join(duplicated)}.")
        return value

    def validate(self, attrs):
        if "policy" not in attrs and "policies" not in attrs:
            raise serializers.ValidationError({"policy": "Give a policy (or policies per role)."})
        known = {person["id"] for person in attrs["staff"]}
        if attrs["sale"]["closer"] not in known:
            raise serializers.ValidationError({"sale": f"The closer {attrs['sale']['closer']!r} is not in staff."})
        strangers = sorted({e["staff"] for e in attrs["events"]} - known)
        if strangers:
            raise serializers.ValidationError({"events": f"Events name staff not in staff: {', '.join(strangers)}."})
        return attrs

    def judge(self) -> engine.CreditDecision:
        data = self.validated_data
        roles = {person["id"]: person["role"] for person in data["staff"]}
        policies = dict(data.get("policies") or {})
        if "policy" in data:
            for role in set(roles.values()):
                policies.setdefault(role, data["policy"])
        events: dict[str, list[engine.Event]] = {}
        for index, row in enumerate(data["events"]):
            events.setdefault(row["staff"], []).append(
                engine.Event(
                    id=index + 1, staff_id=row["staff"], channel=row["channel"], direction=row["direction"],
                    outcome=row["outcome"], occurred_at=row["occurred_at"], evidence_level=row["evidence_level"],
                    talk_seconds=row["talk_seconds"], answered_by_person=row["answered_by_person"],
                    evidence_ref=row["evidence_ref"], outside_company_channels=row["outside_company_channels"],
                )
            )
        schedules = {
            person["id"]: engine.Schedule(
                staff_id=person["id"], days_off=frozenset(person["days_off"]), time_zone=data["time_zone"]
            )
            for person in data["staff"]
        }
        return engine.credit(
            policies, roles, events, schedules, data["sale"]["closer"], data["sale"]["sold_at"],
            staff_teams={p["id"]: p["team"] or None for p in data["staff"]}, time_zone=data["time_zone"],
        )


# --- Stored policy versions, deals, credits and disputes (the /api/v1/ resources) -----------------

from drf_spectacular.utils import extend_schema_field  # noqa: E402

from dealcoverage.models import CoveragePolicy, Deal, DealCredit, Dispute  # noqa: E402

POLICY_COMPARED = ["name", *PARAMETERS]


class CoveragePolicySerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = CoveragePolicy
        fields = [
            "id", "store", "role", "name", "version", "effective_from", *PARAMETERS, "note", "created_by",
            "created_at",
        ]
        read_only_fields = fields


class CoveragePolicyCreateSerializer(serializers.Serializer):
    """A new version of a store's role policy, from a preset (optionally adjusted) or parameters."""

    store = serializers.SlugField(required=False, help_text="The store's slug; the caller's store if left out.")
    role = serializers.ChoiceField(choices=Role.choices)
    effective_from = serializers.DateTimeField()
    preset = serializers.ChoiceField(choices=list(PRESETS), required=False)
    parameters = serializers.DictField(required=False, help_text="Policy parameters (over the preset's, if any).")
    name = serializers.CharField(max_length=100, required=False)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "preset" not in attrs and "parameters" not in attrs:
            raise serializers.ValidationError({"preset": ["Give a preset name or the policy's parameters."]})
        raw = dict(attrs.get("parameters") or {})
        raw.pop("role", None)
        if "preset" in attrs:
            raw["preset"] = attrs["preset"]
        try:
            policy = PolicyField().to_internal_value(raw)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"parameters": exc.detail}) from None
        attrs["params"] = {**policy.to_dict(), "name": attrs.get("name") or raw.get("name") or attrs.get("preset") or "custom"}
        return attrs


class PolicyCompareSerializer(serializers.Serializer):
    a = CoveragePolicySerializer()
    b = CoveragePolicySerializer()
    differences = serializers.ListField(child=serializers.CharField())


class DealCreditSerializer(serializers.ModelSerializer):
    staff_name = serializers.CharField(source="staff.display_name", read_only=True)
    policy_name = serializers.CharField(source="policy.name", read_only=True, default=None)
    policy_version = serializers.IntegerField(source="policy.version", read_only=True, default=None)

    class Meta:
        model = DealCredit
        fields = [
            "id", "staff", "staff_name", "share", "reason", "policy", "policy_name", "policy_version", "team_manager",
            "active", "overrides", "override_reason", "created_by", "created_at",
        ]
        read_only_fields = fields


class DisputeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dispute
        fields = [
            "id", "deal", "raised_by", "comment", "status", "created_at", "resolved_by", "resolved_at", "resolution",
        ]
        read_only_fields = fields


class DealSerializer(serializers.ModelSerializer):
    store = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    customer_name = serializers.CharField(source="customer.full_name", read_only=True)
    credits = serializers.SerializerMethodField()

    class Meta:
        model = Deal
        fields = [
            "id", "store", "customer", "customer_name", "lead", "closer", "sold_at", "vehicle", "stock_number",
            "source", "external_id", "recorded_by", "recorded_at", "credits",
        ]
        read_only_fields = fields

    @extend_schema_field(DealCreditSerializer(many=True))
    def get_credits(self, deal):
        """The credit in force (active rows)."""
        return DealCreditSerializer([c for c in deal.credits.all() if c.active], many=True).data


class DealDetailSerializer(DealSerializer):
    all_credits = DealCreditSerializer(source="credits", many=True, read_only=True)
    disputes = DisputeSerializer(many=True, read_only=True)
    policy_versions = CoveragePolicySerializer(many=True, read_only=True)

    class Meta(DealSerializer.Meta):
        fields = [*DealSerializer.Meta.fields, "all_credits", "decision", "policy_versions", "disputes"]
        read_only_fields = fields


class DealCreateSerializer(serializers.Serializer):
    store = serializers.SlugField(required=False, help_text="The store's slug; the caller's store if left out.")
    customer = serializers.IntegerField()
    closer = serializers.IntegerField(help_text="The staff id of the salesperson who closed the deal.")
    sold_at = serializers.DateTimeField()
    vehicle = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    stock_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    lead = serializers.IntegerField(required=False, allow_null=True, default=None)


class CreditOverrideSerializer(serializers.Serializer):
    shares = serializers.DictField(
        child=serializers.DecimalField(max_digits=4, decimal_places=3, min_value=0, max_value=1),
        allow_empty=False, help_text='Staff id -> share, e.g. {"12": "0.5", "31": "0.5"}; they add up to 1.',
    )
    reason = serializers.CharField(max_length=2000)

    def validate_shares(self, value):
        try:
            return {int(key): share for key, share in value.items()}
        except (TypeError, ValueError):
            raise serializers.ValidationError("The keys are staff ids.") from None


class DisputeRaiseSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=5000)


class DisputeUpholdSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=5000)
