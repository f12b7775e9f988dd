"""Shopify's own records: OAuth install nonces, compliance data exports, and backfill/sync state."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from shopconnect.timeline.models import Store


class InstallState(models.Model):
    """A one-time ``state`` nonce for the OAuth redirect, issued to the logged-in user who started the
    install; consumed by that user's callback. A few per shop at most; expired ones are purged."""

    nonce = models.CharField(max_length=64, unique=True)
    shop = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"install {self.shop}"


class DataRequest(models.Model):
    """A ``customers/data_request`` from Shopify and the export produced for the store owner."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="shopify_data_requests")
    request_id = models.CharField(max_length=64, blank=True, default="")
    customer_external_id = models.CharField(max_length=64, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    found = models.BooleanField(default=False, help_text="Whether ShopConnect held anything about them.")
    export = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "request_id", "customer_external_id", "email"],
                name="shopify_datarequest_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"data request {self.request_id or self.pk} ({self.email or self.customer_external_id})"


class SyncState(models.Model):
    """Backfill progress (cursor per resource, so a failed run resumes) and the last reconciliation."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="shopify_sync")
    cursors = models.JSONField(
        default=dict, blank=True, help_text="{resource: endCursor} of an unfinished backfill"
    )
    finished = models.JSONField(default=list, blank=True, help_text="resources the current backfill has done")
    backfill_started_at = models.DateTimeField(null=True, blank=True)
    backfill_finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_reconciled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sync of {self.store}"
