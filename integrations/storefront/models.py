"""The collect inbox: every accepted batch is stored raw before the 202, then processed by a task."""

from __future__ import annotations

from django.db import models

from shopconnect.timeline.models import Store


class CollectBatch(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="collect_batches")
    #: sha256 of the batch's sorted event ids: a replayed batch is the same row
    batch_key = models.CharField(max_length=64)
    events = models.JSONField(help_text="The validated events, as sent.")
    user_agent = models.CharField(max_length=512, blank=True, default="")
    received_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    processed_at = models.DateTimeField(null=True, blank=True)
    events_inserted = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "batch_key"], name="collectbatch_store_key_uniq")]
        indexes = [models.Index(fields=["status", "received_at"], name="collectbatch_status_idx")]
        verbose_name_plural = "collect batches"

    def __str__(self) -> str:
        return f"batch {self.pk} of store {self.store_id} ({len(self.events)} events)"
