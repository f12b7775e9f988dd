"""Deliveries that arrived before the order they need (``base.WaitsForOrder``: a refund first).

The drain (``integrations.tasks``) parks such a delivery when its order is not in its batch either, and
puts it back to pending as soon as a batch writes the order. ``release_parked`` (run by every
``drain_pending``, so by the minute sweep too) also releases those whose order came another way (a
backfill, a reconciliation) and fails those that waited ``WEBHOOK_PARK_SECONDS`` with the reason.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Concat
from django.utils import timezone

from shopconnect.timeline.models import Event
from shopconnect.timeline.vocabulary import ORDER_PLACED

from .base import WaitsForOrder
from .models import WebhookDelivery


def park(delivery: WebhookDelivery, waiting: WaitsForOrder) -> None:
    delivery.status = WebhookDelivery.Status.PARKED
    delivery.waits_for = waiting.order_ref[:64]
    delivery.last_error = f"{waiting} (it arrived before its order)"[:4000]
    delivery.save(update_fields=["status", "waits_for", "last_error"])


def release_parked(now=None) -> dict[str, int]:
    """The sweep's part: parked deliveries whose order is stored now (it came another way: a backfill,
    a reconciliation) go back to pending; those parked longer than ``WEBHOOK_PARK_SECONDS`` fail."""
    now = now or timezone.now()
    parked = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PARKED)
    arrived = (Event.objects.filter(store_id=OuterRef("store_id"), order_ref=OuterRef("waits_for"), type=ORDER_PLACED)
               .exclude(order_ref=""))  # lets PostgreSQL use the partial index event_store_order_idx
    released = parked.filter(Exists(arrived)).update(status=WebhookDelivery.Status.PENDING)
    limit = timedelta(seconds=settings.WEBHOOK_PARK_SECONDS)
    expired = parked.filter(received_at__lt=now - limit).update(
        status=WebhookDelivery.Status.FAILED, attempts=F("attempts") + 1,
        last_error=Concat(Value("its order "), F("waits_for"), Value(
            f" did not arrive within {_duration(limit)}; the delivery was not applied. Reprocess it once the "
            "order is stored (a backfill brings it).")))
    return {"released": released, "expired": expired}


def _duration(limit: timedelta) -> str:
    hours = limit.total_seconds() / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}" if hours >= 1 else f"{int(limit.total_seconds())} s"
