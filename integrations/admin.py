from __future__ import annotations

from django.contrib import admin, messages

from shopconnect.tenancy import StoreScopedAdminMixin

from .models import WebhookDelivery
from .tasks import reprocess


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "platform", "topic", "store", "status", "attempts", "events_inserted")
    list_filter = ("status", "platform", "topic", "store")
    search_fields = ("delivery_key", "topic")
    date_hierarchy = "received_at"
    show_full_result_count = False
    readonly_fields = (
        "store", "platform", "topic", "delivery_key", "headers", "payload", "api_version", "triggered_at",
        "received_at", "status", "attempts", "last_error", "processed_at", "events_inserted",
    )
    exclude = ("body",)
    actions = ["reprocess_deliveries"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Payload")
    def payload(self, delivery: WebhookDelivery) -> str:
        return delivery.payload_text()

    @admin.action(description="Reprocess selected failed deliveries")
    def reprocess_deliveries(self, request, queryset):
        counts = reprocess(list(queryset.values_list("pk", flat=True)))
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"
        self.message_user(request, f"Reprocessed: {summary}.", messages.INFO)
