from rest_framework import serializers

from org.models import WEEKDAYS, Shift, Staff, Store, Team, TimeOff


class StoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = ["id", "group", "name", "slug", "time_zone", "business_hours", "duplicate_window_days", "web_form_enabled",
                  "auto_merge", "auto_merge_days", "auto_merge_similarity"]
        read_only_fields = fields


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "store", "name", "manager"]
        read_only_fields = fields


class ShiftSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shift
        fields = ["weekday", "starts", "ends"]


class StaffSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    shifts = ShiftSerializer(many=True, read_only=True)

    class Meta:
        model = Staff
        fields = ["id", "name", "store", "role", "team", "is_active", "available", "shifts"]
        read_only_fields = fields


class WeekSerializer(serializers.Serializer):
    """A person's week as a manager types it: each day "9-18", "9:30-17:00", "10am-7pm",
    "9-13, 15-19", "22-2" (overnight) or "off"/blank for a day off. Omitted days are days off."""

    mon = serializers.CharField(required=False, allow_blank=True, max_length=100)
    tue = serializers.CharField(required=False, allow_blank=True, max_length=100)
    wed = serializers.CharField(required=False, allow_blank=True, max_length=100)
    thu = serializers.CharField(required=False, allow_blank=True, max_length=100)
    fri = serializers.CharField(required=False, allow_blank=True, max_length=100)
    sat = serializers.CharField(required=False, allow_blank=True, max_length=100)
    sun = serializers.CharField(required=False, allow_blank=True, max_length=100)

    def days(self) -> dict[int, str]:
        return {index: self.validated_data.get(key, "") for index, key in enumerate(WEEKDAYS)}


class TimeOffSerializer(serializers.ModelSerializer):
    last_day = serializers.DateField(required=False, allow_null=True, help_text="Blank: the first day only.")

    class Meta:
        model = TimeOff
        fields = ["id", "first_day", "last_day", "reason"]
        read_only_fields = ["id"]
