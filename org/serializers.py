from rest_framework import serializers

from org.models import Shift, Staff, Store, Team


class StoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = ["id", "group", "name", "slug", "time_zone", "business_hours", "duplicate_window_days", "web_form_enabled"]
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
