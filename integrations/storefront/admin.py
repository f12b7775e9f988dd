from __future__ import annotations

from django.contrib import admin, messages

from shopconnect.tenancy import StoreScopedAdminMixin

from .models import CollectBatch
from .tasks import process_batch


@admin.register(CollectBatch)
class CollectBatchAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "store", "status", "events_inserted")
    list_filter = ("status", "store")
    show_full_result_count = False
    readonly_fields = (
        "store",
        "batch_key",
        "events",
        "user_agent",
        "received_at",
        "status",
        "processed_at",
        "events_inserted",
        "last_error",
    )

    actions = ["reprocess_batches"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Reprocess selected failed batches")
    def reprocess_batches(self, request, queryset):
        ids = list(queryset.filter(status=CollectBatch.Status.FAILED).values_list("pk", flat=True))
        statuses = [process_batch(batch_id) for batch_id in ids]
        done = statuses.count(CollectBatch.Status.PROCESSED)
        self.message_user(request, f"Reprocessed {len(ids)} batches: {done} processed.", messages.INFO)
