"""The stateless judge's input: a policy (preset or parameters), staff, contact events, a sale.
Everything is validated here into engine dataclasses; the engine decides."""

from __future__ import annotations

from zoneinfo import available_timezones

from rest_framework import serializers

from coverage import engine
from coverage.presets import PRESETS, preset
from leads.models import Channel, EvidenceLevel, Outcome
from org.models import Role

PARAMETERS = [
    "initial_two_way_required", "keeps_alive", "window_hours", "min_evidence", "share_when_other_closes",
    "pause_on_days_off", "min_talk_seconds",
]


class PolicyField(serializers.Field):
    """A preset's name ("internet-72h"), or {"preset": name, ...overrides}, or full parameters."""

    default_error_messages = {"invalid": "Give a preset name ({presets}) or the policy's parameters."}

    def to_internal_value(self, data) -> engine.Policy:
        if isinstance(data, str):
            data = {"preset": data}
        if not isinstance(data, dict):
            self.fail("invalid", presets=", ".join(PRESETS))
        unknown = set(data) - {"preset", "name", "version", "role", *PARAMETERS}
        if unknown:
            raise serializers.ValidationError(f"Unknown policy parameter(s): {', '.join(sorted(unknown))}.")
        try:
            if "preset" in data:
                base = preset(data["preset"], pause_on_days_off=bool(data.get("pause_on_days_off", False)))
            else:
                missing = [p for p in ("initial_two_way_required", "keeps_alive", "window_hours", "min_evidence")
                           if p not in data]
                if missing:
                    raise serializers.ValidationError(f"Missing policy parameter(s): {', '.join(missing)}.")
                base = None
            values = {**(base.to_dict() if base else {}), **{k: v for k, v in data.items() if k != "preset"}}
            return engine.Policy(
                name=str(values.get("name") or "proposed"),
                version=int(values.get("version") or 1),
                role=str(values.get("role") or ""),
                initial_two_way_required=bool(values["initial_two_way_required"]),
                keeps_alive=values["keeps_alive"],
                window_hours=int(values["window_hours"]),
                min_evidence=values["min_evidence"],
                share_when_other_closes=values.get("share_when_other_closes", "0.5"),
                pause_on_days_off=bool(values.get("pause_on_days_off", False)),
                min_talk_seconds=int(values.get("min_talk_seconds", 30)),
            )
        except KeyError as exc:
            raise serializers.ValidationError(str(exc).strip("'\"")) from None
        except (TypeError, ValueError) as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value.to_dict()


class JudgeStaffSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    role = serializers.ChoiceField(choices=Role.choices)
    days_off = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), required=False, default=list)
    team = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class JudgeEventSerializer(serializers.Serializer):
    staff = serializers.CharField(max_length=64)
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=[("outbound", "outbound"), ("inbound", "inbound"), ("", "-")], default="")
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

    def validate_time_zone(self, value: str) -> str:
        if value not in available_timezones():
            raise serializers.ValidationError(f"Unknown time zone {value!r}; use an IANA name like America/Chicago.")
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
