"""API shapes for follow-up: tasks, appointments and the store's cadence. They validate types and
translate; followup.services and followup.appointments decide (and refuse with a message naming the field)."""

from __future__ import annotations

from rest_framework import serializers

from leads.models import Appointment, AppointmentStatus, Task, TaskKind

TASK_CHANNELS = [("call", "Call"), ("text", "Text"), ("email", "Email")]


class TaskSerializer(serializers.ModelSerializer):
    customer_name = serializers.SerializerMethodField()
    staff_name = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=TaskKind.choices, read_only=True)
    channel = serializers.ChoiceField(choices=TASK_CHANNELS, read_only=True, allow_blank=True,
                                      help_text="call, text, email, or empty for any contact")
    is_open = serializers.BooleanField(read_only=True)
    overdue = serializers.BooleanField(read_only=True, help_text="Open and past its due time.")

    class Meta:
        model = Task
        fields = [
            "id", "store", "customer", "customer_name", "lead", "staff", "staff_name", "kind", "channel", "step_day",
            "reason", "due_at", "created_at", "completed_at", "completed_by_event", "canceled_at", "cancel_reason",
            "is_open", "overdue",
        ]
        read_only_fields = fields

    def get_customer_name(self, task: Task) -> str:
        return str(task.customer)

    def get_staff_name(self, task: Task) -> str:
        return task.staff.display_name if task.staff_id else ""


class TaskCreateSerializer(serializers.Serializer):
    """A follow-up task for a customer of the caller's store. `staff` (whose task it is) defaults
    to the caller; only managers, directors and admins give tasks to someone else."""

    customer = serializers.IntegerField()
    lead = serializers.IntegerField(required=False, allow_null=True, default=None)
    staff = serializers.IntegerField(required=False, allow_null=True, default=None)
    due_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=300, help_text="What is to be done, in a few words.")
    channel = serializers.ChoiceField(choices=TASK_CHANNELS, required=False, allow_blank=True, default="")


class AppointmentSerializer(serializers.ModelSerializer):
    customer_name = serializers.SerializerMethodField()
    staff_name = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=AppointmentStatus.choices, read_only=True)

    class Meta:
        model = Appointment
        fields = [
            "id", "store", "lead", "customer", "customer_name", "staff", "staff_name", "starts_at", "status", "note",
            "outside_hours", "created_at", "created_by", "confirmed_at", "shown_at", "checked_in_by", "visit_event",
            "closed_at", "reminder_sent_at", "reminder_error",
        ]
        read_only_fields = fields

    def get_customer_name(self, appointment: Appointment) -> str:
        return str(appointment.customer)

    def get_staff_name(self, appointment: Appointment) -> str:
        return appointment.staff.display_name


class AppointmentCreateSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    outside_hours_ok = serializers.BooleanField(
        required=False, default=False,
        help_text="Set it although the store is closed then (without it such a time is refused).",
    )


class CadenceStepSerializer(serializers.Serializer):
    day = serializers.IntegerField(help_text="0 = the day the lead arrived, up to 60.")
    channel = serializers.ChoiceField(choices=TASK_CHANNELS)


class CadenceSerializer(serializers.Serializer):
    """A store's follow-up cadence: the steps until a two-way contact, then keep-in-touch tasks
    every `keep_in_touch_every_hours` (blank: the internet agents' coverage window minus the
    margin; `keep_in_touch_computed_hours` is the spacing in force now either way)."""

    store = serializers.IntegerField(read_only=True)
    store_name = serializers.CharField(read_only=True)
    is_default = serializers.BooleanField(read_only=True, help_text="The store has not set its own cadence.")
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    steps = CadenceStepSerializer(many=True)
    keep_in_touch_every_hours = serializers.IntegerField(
        min_value=1, max_value=32767, allow_null=True, required=False, default=None,
        help_text="Hours between keep-in-touch tasks; null: the coverage window minus the margin.",
    )
    keep_in_touch_margin_hours = serializers.IntegerField(min_value=0, max_value=32767, required=False, default=24)
    keep_in_touch_computed_hours = serializers.FloatField(read_only=True)
    summary = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
