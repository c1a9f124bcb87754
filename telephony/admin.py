from django.contrib import admin

from org.admin import ReadOnlyAdmin, StoreScopedAdmin
from telephony.models import Call, DealerNumber, EmailTemplate, OptOut, TextMessage


@admin.register(DealerNumber)
class DealerNumberAdmin(StoreScopedAdmin):
    list_display = ["number", "purpose", "store", "staff", "source_type", "provider", "is_active"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "purpose", "is_active"]
    search_fields = ["number", "provider"]


@admin.register(EmailTemplate)
class EmailTemplateAdmin(StoreScopedAdmin):
    list_display = ["name", "store", "subject"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter)]


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
