"""Segments, their membership history, daily sizes and the log of definition changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from shopconnect.timeline.models import Customer, Store


class Segment(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="", help_text="What this segment is for.")
    definition = models.JSONField(help_text="The rule tree (see segments.rules).")
    version = models.PositiveIntegerField(default=1, help_text="Incremented on every definition change.")
    template = models.CharField(max_length=64, blank=True, default="", help_text="Built-in template key.")
    is_active = models.BooleanField(default=True)
    last_computed_at = models.DateTimeField(null=True, blank=True)
    last_swept_at = models.DateTimeField(null=True, blank=True, help_text="The time sweep's last \"now\".")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="segment_store_name_uniq")]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """One stay of a customer in a segment; current members have ``exited_at IS NULL``.

    Derived data, written in bulk (a segment's first build can insert most of the store), so every row
    costs as little as possible: no database foreign keys (their deferred checks lock each customer row
    at commit and cost as much as the insert; deletes still cascade through the ORM, which is the only
    way customers, stores and segments are deleted) and only the indexes the queries use: current members
    of a segment (the unique constraint) and a customer's segments (``segment_member_customer_idx``).
    """

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="segment_memberships", db_index=False,
        db_constraint=False,
    )
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "customer"],
                condition=Q(exited_at__isnull=True),
                name="segment_member_current_uniq",
            ),
        ]
        indexes = [models.Index(fields=["customer", "segment"], name="segment_member_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id} since {self.entered_at:%Y-%m-%d}"


class SegmentSnapshot(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="snapshots")
    day = models.DateField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["segment", "day"], name="segment_snapshot_day_uniq")]

    def __str__(self) -> str:
        return f"{self.day}: {self.size}"


class SegmentChange(models.Model):
    """Who changed a segment's definition, when, from what to what."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField()
    old_definition = models.JSONField(null=True, blank=True)
    new_definition = models.JSONField()

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"v{self.version} at {self.changed_at:%Y-%m-%d %H:%M}"
