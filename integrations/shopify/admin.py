from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from shopconnect.tenancy import StoreScopedAdminMixin

from .models import DataRequest, SyncState


@admin.register(DataRequest)
class DataRequestAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """Shopify ``customers/data_request`` exports, for the store owner to send to the customer."""

    list_display = ("created_at", "store", "request_id", "email", "customer_external_id", "found")
    list_filter = ("store", "found")
    readonly_fields = (
        "store",
        "request_id",
        "customer_external_id",
        "email",
        "found",
        "created_at",
        "export_json",
    )
    exclude = ("export",)

    def has_add_permission(self, request):
        return False

    @admin.display(description="Export")
    def export_json(self, obj: DataRequest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.export, indent=2, ensure_ascii=False))


@admin.register(SyncState)
class SyncStateAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "store",
        "backfill_started_at",
        "backfill_finished_at",
        "last_reconciled_at",
        "last_error",
    )
    readonly_fields = (
        "store",
        "cursors",
        "finished",
        "backfill_started_at",
        "backfill_finished_at",
        "last_error",
        "last_reconciled_at",
    )

    def has_add_permission(self, request):
        return False
