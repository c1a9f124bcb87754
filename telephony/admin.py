from django.contrib import admin

from org.admin import ScopedAdmin
from telephony.models import Call, DealerNumber, EmailTemplate, OptOut, TextMessage


class StoreScopedAdmin(ScopedAdmin):
    """Telephony rows carry their store; the admin shows the user's stores only."""

    def get_queryset(self, request):
        from org.scoping import stores_for

        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(store__in=stores_for(request.user))


@admin.register(DealerNumber)
class DealerNumberAdmin(StoreScopedAdmin):
    list_display = ["number", "purpose", "store", "staff", "source_type", "provider", "is_active"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "purpose", "is_active"]
    search_fields = ["number", "provider"]


@admin.register(EmailTemplate)
class EmailTemplateAdmin(StoreScopedAdmin):
    list_display = ["name", "store", "subject"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter)]


class ReadOnlyAdmin(StoreScopedAdmin):
    """Written by webhooks only: the record of what the phone system did."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "direction", "status", "customer_leg_status", "staff", "customer_number", "talk_seconds"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "direction", "status"]
    list_select_related = ["staff__user"]
    show_full_result_count = False


@admin.register(TextMessage)
class TextMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "direction", "status", "staff", "customer_number", "body"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "direction", "status"]
    list_select_related = ["staff__user"]
    show_full_result_count = False


@admin.register(OptOut)
class OptOutAdmin(ReadOnlyAdmin):
    list_display = ["number", "active", "keyword", "changed_at", "store"]
    list_filter = ["active"]
