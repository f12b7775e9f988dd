"""Privacy records: who exported or erased a customer and why, store erasures in progress, retention.

A ``PrivacyRequest`` keeps who, when, why and how much, never the person's data: the customer is
referred to by the id they had. A ``StoreErasure`` outlives the store it erases (no foreign key), so a
failing erasure stays visible and is retried until it is done.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from shopconnect.timeline.models import Store


class PrivacyRequest(models.Model):
    class Kind(models.TextChoices):
        EXPORT = "export", "Export"
        ERASE = "erase", "Erase"

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "REST API"
        SHOPIFY = "shopify", "Shopify compliance webhook"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="privacy_requests")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    via = models.CharField(max_length=8, choices=Via.choices)
    customer_ref = models.BigIntegerField(help_text="The customer's id at the time (no personal data is kept).")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_by_name = models.CharField(max_length=150, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="",
                              help_text="Why (for example 'data request by email, ticket 812'); no personal data.")
    summary = models.JSONField(default=dict, blank=True, help_text="What it covered: counts per kind of data.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of customer #{self.customer_ref} by {self.requested_by_name or self.via}"


class StoreErasure(models.Model):
    """Deleting everything of one store, in foreign-key order, in chunks, retried until done."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        FAILED = "failed", "Failed (will be retried)"
        DONE = "done", "Done"

    store_id = models.BigIntegerField(unique=True)
    store_name = models.CharField(max_length=255, blank=True, default="")
    platform = models.CharField(max_length=32, blank=True, default="")
    via = models.CharField(max_length=32, help_text="shop/redact, uninstall or admin")
    requested_by_name = models.CharField(max_length=150, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    deleted = models.JSONField(default=dict, blank=True, help_text="Rows deleted so far, per model.")
    requested_at = models.DateTimeField(auto_now_add=True)
    progressed_at = models.DateTimeField(null=True, blank=True, help_text="When it last deleted a chunk.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"erasure of store {self.store_id} ({self.store_name}): {self.status}"


#: the defaults of a store that never changed its retention (also what a store without a policy row gets)
DEFAULTS = {"webhook_body_days": 30, "collect_batch_days": 7, "anonymous_visitor_days": 395, "signup_days": 30,
            "event_days": None}


class RetentionPolicy(models.Model):
    """How long a store keeps raw and anonymous data (a store without a row uses the defaults)."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="retention")
    webhook_body_days = models.PositiveIntegerField(
        default=DEFAULTS["webhook_body_days"],
        help_text="Raw webhook deliveries are deleted this many days after they were processed.")
    collect_batch_days = models.PositiveIntegerField(
        default=DEFAULTS["collect_batch_days"],
        help_text="Raw storefront batches are deleted this many days after they were processed.")
    anonymous_visitor_days = models.PositiveIntegerField(
        default=DEFAULTS["anonymous_visitor_days"],
        help_text="Visitors who never identified themselves, and their events, are deleted this many days "
                  "after their last activity (13 months by default).")
    signup_days = models.PositiveIntegerField(
        default=DEFAULTS["signup_days"],
        help_text="Signup form submissions are deleted this many days after they were made (the consent "
                  "ledger keeps the evidence).")
    event_days = models.PositiveIntegerField(
        null=True, blank=True, default=DEFAULTS["event_days"],
        help_text="Empty: events are kept. Otherwise events older than this are deleted, except orders "
                  "(lifetime value and predictions come from them) and consent changes (the proof of consent).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"retention of {self.store}"
