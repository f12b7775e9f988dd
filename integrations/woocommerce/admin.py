from __future__ import annotations

from django.contrib import admin

from shopconnect.tenancy import StoreScopedAdminMixin

from .models import WooCommerceConnection


@admin.register(WooCommerceConnection)
class WooCommerceConnectionAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """Where the store owner sees webhook problems found by the reconciliation (and their fix)."""

    list_display = ("store", "alert_at", "alert", "reconciled_until", "backfill_completed_at")
    readonly_fields = (
        "store",
        "webhooks",
        "backfill_state",
        "backfill_completed_at",
        "reconciled_until",
        "alert",
        "alert_at",
    )

    def has_add_permission(self, request):
        return False
