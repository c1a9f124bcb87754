from django.contrib import admin

from org.models import DealerGroup, Shift, Staff, Store, Team, TimeOff
from org.scoping import scoped, stores_for


class ScopedAdmin(admin.ModelAdmin):
    """Admin lists go through org.scoping like every other view."""

    def get_queryset(self, request):
        return super().get_queryset(request) & scoped(request.user, self.model)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Store:
            kwargs["queryset"] = stores_for(request.user)
        elif db_field.related_model in (Staff, Team):
            kwargs["queryset"] = scoped(request.user, db_field.related_model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StoreScopedAdmin(ScopedAdmin):
    """Rows that carry their store (telephony's, routing's); the admin shows the user's stores only."""

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(store__in=stores_for(request.user))


class ReadOnlyAdmin(StoreScopedAdmin):
    """Written by the system only (webhooks, the router): the record of what happened."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DealerGroup)
class DealerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(stores__in=stores_for(request.user)).distinct()


@admin.register(Store)
class StoreAdmin(ScopedAdmin):
    list_display = ["name", "slug", "group", "time_zone", "web_form_enabled"]
    search_fields = ["name", "slug"]


@admin.register(Team)
class TeamAdmin(ScopedAdmin):
    list_display = ["name", "store", "manager"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter)]


class ShiftInline(admin.TabularInline):
    model = Shift
    extra = 0


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0


@admin.register(Staff)
class StaffAdmin(ScopedAdmin):
    list_display = ["display_name", "role", "store", "team", "is_active", "available"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "role", ("team", admin.RelatedOnlyFieldListFilter), "is_active"]
    search_fields = ["user__first_name", "user__last_name", "user__username"]
    list_select_related = ["user", "store", "team"]
    inlines = [ShiftInline, TimeOffInline]

    def save_related(self, request, form, formsets, change):
        """Shifts edited here go into the schedule history like the schedule page's
        (org.schedules.week_save): past days keep the week in force then."""
        from django.utils import timezone

        from org import schedules

        staff, now = form.instance, timezone.now()
        before = sorted(Shift.objects.filter(staff=staff).values_list("weekday", "starts", "ends")) if change else []
        if change:
            schedules.history_baseline(staff, now)
        super().save_related(request, form, formsets, change)
        after = sorted(Shift.objects.filter(staff=staff).values_list("weekday", "starts", "ends"))
        if after != before:
            schedules.history_record(staff, after, now)
