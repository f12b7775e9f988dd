"""What we keep about a WooCommerce connection: registered webhooks, backfill progress, reconciliation."""

from __future__ import annotations

from django.db import models

from shopconnect.timeline.models import Store


class WooCommerceConnection(models.Model):
    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="woocommerce")
    #: topic -> WooCommerce webhook id, as registered by ``connect_store``
    webhooks = models.JSONField(default=dict, blank=True)
    #: resumable backfill: {"since": ISO date or null, "resource": next page, ..., "done": [resources]}
    backfill_state = models.JSONField(default=dict, blank=True)
    backfill_completed_at = models.DateTimeField(null=True, blank=True)
    reconciled_until = models.DateTimeField(
        null=True, blank=True, help_text="Changes up to this time have been fetched through the API."
    )
    alert = models.TextField(blank=True, default="", help_text="Something the store owner should know.")
    alert_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "WooCommerce connection"

    def __str__(self) -> str:
        return f"WooCommerce {self.store}"
