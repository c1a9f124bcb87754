from django.contrib import admin

from leads.models import ContactEvent, Customer, Lead, RejectedIntake
from org.admin import ScopedAdmin


@admin.register(Customer)
class CustomerAdmin(ScopedAdmin):
    list_display = ["__str__", "store", "created_at"]
    search_fields = ["last_name", "first_name"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter)]
    show_full_result_count = False


@admin.register(Lead)
class LeadAdmin(ScopedAdmin):
    list_display = ["id", "customer", "store", "source_type", "provider", "status", "owner", "received_at"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "status", "source_type"]
    list_select_related = ["customer", "store", "owner__user"]
    raw_id_fields = ["customer", "created_by"]
    # Owner and status change through the app's services, which write the history rows.
    readonly_fields = ["owner", "status", "duplicate_of", "in_claim_pool", "routing_due_at", "routed_at"]
    show_full_result_count = False


@admin.register(ContactEvent)
class ContactEventAdmin(ScopedAdmin):
    """Read-only: contact events are append-only (the database refuses changes)."""

    list_display = ["occurred_at", "channel", "direction", "outcome", "evidence_level", "staff", "customer"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "channel", "evidence_level"]
    list_select_related = ["staff__user", "customer"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(RejectedIntake)
class RejectedIntakeAdmin(ScopedAdmin):
    list_display = ["received_at", "channel", "reason", "store", "remote_addr", "body_size"]
    list_filter = ["channel", "reason"]
    readonly_fields = [f.name for f in RejectedIntake._meta.fields]

    def has_add_permission(self, request):
        return False
