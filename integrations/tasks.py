"""Processing of stored deliveries. Tasks take ids and are safe to run twice."""

from __future__ import annotations

import json
import logging
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from .models import WebhookDelivery
from .registry import get_adapter

log = logging.getLogger(__name__)


def enqueue_delivery(delivery_id: int) -> None:
    async_task("integrations.tasks.process_delivery", delivery_id, group="webhooks")


def process_delivery(delivery_id: int, *, manual: bool = False) -> str:
    """Normalize and apply one delivery; record a failure on it and schedule a bounded retry.

    Returns the delivery's status afterwards.
    """
    delivery = WebhookDelivery.objects.select_related("store").filter(pk=delivery_id).first()
    if delivery is None:
        # the request's transaction rolled back after the task was queued (Redis broker): nothing
        # was acknowledged, so there is nothing to do
        return "missing"
    if delivery.status in (WebhookDelivery.Status.PROCESSED, WebhookDelivery.Status.IGNORED):
        return delivery.status
    adapter = get_adapter(delivery.platform)
    try:
        if adapter is None:
            raise LookupError(f"no adapter configured for platform {delivery.platform!r}")
        payload = json.loads(bytes(delivery.body) or b"null")
        normalized = adapter.normalize(delivery.topic, payload)
        with transaction.atomic():
            if normalized is None:
                delivery.status = WebhookDelivery.Status.IGNORED
            else:
                delivery.events_inserted = adapter.apply(delivery, normalized)
                delivery.status = WebhookDelivery.Status.PROCESSED
            delivery.attempts += 1
            delivery.last_error = ""
            delivery.processed_at = timezone.now()
            delivery.save(update_fields=["status", "events_inserted", "attempts", "last_error", "processed_at"])
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the delivery, never lost
        delivery.attempts += 1
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.last_error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        delivery.save(update_fields=["status", "attempts", "last_error"])
        log.warning("delivery %s (%s) failed, attempt %s: %s", delivery.pk, delivery.topic, delivery.attempts,
                    delivery.last_error.splitlines()[-1] if delivery.last_error else "")
        if not manual and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
            _schedule_retry(delivery)
    return delivery.status


def _schedule_retry(delivery: WebhookDelivery) -> None:
    delay = timedelta(seconds=30 * 4 ** (delivery.attempts - 1))  # 30 s, 2 min, 8 min, 32 min...
    Schedule.objects.create(
        name=f"retry delivery {delivery.pk} attempt {delivery.attempts + 1}",
        func="integrations.tasks.process_delivery",
        args=str(delivery.pk),
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=timezone.now() + delay,
    )


def reprocess(delivery_ids: list[int]) -> dict[str, int]:
    """Admin action: reset failed deliveries and process them now."""
    counts: dict[str, int] = {}
    for delivery_id in delivery_ids:
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.FAILED).update(
            status=WebhookDelivery.Status.PENDING
        )
        status = process_delivery(delivery_id, manual=True)
        counts[status] = counts.get(status, 0) + 1
    return counts
