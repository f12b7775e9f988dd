"""The raw delivery inbox: every signed webhook is stored here before it is acknowledged."""

from __future__ import annotations

from functools import cache

from django.db import IntegrityError, connection, models

from shopconnect.timeline.models import Store


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (topic not handled)"
        FAILED = "failed", "Failed"
        WAITING = "waiting", "Waiting (its action is still running)"
        PARKED = "parked", "Waiting for its order (arrived before it)"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_deliveries")
    platform = models.CharField(max_length=32)
    topic = models.CharField(max_length=128)
    delivery_key = models.CharField(max_length=255, help_text="The platform's event or delivery id.")
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField()
    api_version = models.CharField(max_length=32, blank=True, default="")
    triggered_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    events_inserted = models.PositiveIntegerField(default=0)
    #: the order a parked delivery waits for (``integrations.base.WaitsForOrder``)
    waits_for = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "topic", "delivery_key"], name="delivery_store_topic_key_uniq")
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="delivery_status_idx"),
                   models.Index(fields=["store", "waits_for"], name="delivery_parked_idx",
                                condition=models.Q(status="parked")),
                   # the drain takes the oldest pending ones: without it each batch read and sorted every
                   # pending row (and the dead index entries of processed ones), so a backlog cost its square
                   models.Index(fields=["id"], name="delivery_pending_idx", condition=models.Q(status="pending"))]
        ordering = ["-received_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.platform} {self.topic} {self.delivery_key}"

    def payload_text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")

    def insert_unless_stored(self) -> bool:
        """Insert this new delivery unless its ``(store, topic, delivery_key)`` is stored already.

        True when inserted (``pk`` is then set). On PostgreSQL one ``INSERT ... ON CONFLICT DO NOTHING``
        with the values bound in binary: quoting a 10 KB body as hex text on the client cost more than
        the insert itself on the webhook path. Elsewhere the ORM, a duplicate raising IntegrityError.
        """
        if connection.vendor != "postgresql":
            try:
                self.save(force_insert=True)
            except IntegrityError:
                return False
            return True
        from shopconnect.timeline.binary import execute_binary

        fields, sql = _insert_statement()
        rows = execute_binary(sql, [f.get_db_prep_save(f.pre_save(self, add=True), connection) for f in fields],
                              fetch=True)
        if rows:
            self.pk = rows[0][0]
            self._state.adding = False
        return bool(rows)


@cache
def _insert_statement() -> tuple[list, str]:
    fields = [f for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return fields, (
        f"INSERT INTO {connection.ops.quote_name(WebhookDelivery._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        "ON CONFLICT ON CONSTRAINT delivery_store_topic_key_uniq DO NOTHING RETURNING id"
    )

