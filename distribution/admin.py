"""Read-only views of routing state for support; rules are edited on the Routing page."""

from django.contrib import admin

from distribution.models import LeadRouting, Notification
from org.admin import ReadOnlyAdmin


@admin.register(LeadRouting)
class LeadRoutingAdmin(ReadOnlyAdmin):
    list_display = ["lead", "state", "rule_name", "strategy", "moves", "queued_at", "response_due_at", "breach_at",
                    "first_attempt_at"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "state", "strategy"]
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "staff", "kind", "text", "read_at", "sms_sid", "sms_error"]
    list_filter = [("store", admin.RelatedOnlyFieldListFilter), "kind"]
    list_select_related = ["staff__user"]
    show_full_result_count = False
