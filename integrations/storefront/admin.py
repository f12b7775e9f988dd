from __future__ import annotations

from django.contrib import admin

from shopconnect.tenancy import StoreScopedAdminMixin

from .models import CollectBatch


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

    def has_add_permission(self, request):
        return False
