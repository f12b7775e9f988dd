"""Processing of collect batches (tasks take ids and are safe to run twice)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable

from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from shopconnect.timeline.identity import read_identity_token
from shopconnect.timeline.models import Customer, Event
from shopconnect.timeline.record import record_events

from .device import device_type
from .mapping import canonical_event
from .models import CollectBatch

log = logging.getLogger(__name__)


def process_batch(batch_id: int) -> str:
    """Record a stored batch on the timeline: identity from email, platform id or a verified ``sc_id``."""
    batch = CollectBatch.objects.select_related("store").get(pk=batch_id)
    if batch.status == CollectBatch.Status.PROCESSED:
        return batch.status
    store = batch.store
    try:
        device = device_type(batch.user_agent)
        tokens: dict[str, int | None] = {}
        events = []
        for raw in batch.events:
            token = raw.get("sc_id")
            if token and token not in tokens:
                customer_id = read_identity_token(token, store.pk)
                if customer_id is not None and not Customer.objects.filter(pk=customer_id, store=store).exists():
                    customer_id = None  # a valid token for a customer since erased
                tokens[token] = customer_id
            customer_id = tokens.get(token) if token else None
            event = canonical_event(raw, received_at=batch.received_at, device=device, customer_id=customer_id)
            if event is not None:
                events.append(event)
        result = record_events(store, events)
        update_usual_device(result.customer_ids)
        batch.status, batch.events_inserted, batch.last_error = (
            CollectBatch.Status.PROCESSED,
            result.inserted,
            "",
        )
    except Exception as exc:  # noqa: BLE001 - recorded on the batch, visible in the admin
        batch.status = CollectBatch.Status.FAILED
        batch.last_error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        log.warning("collect batch %s failed: %s", batch.pk, batch.last_error.splitlines()[-1])
    batch.processed_at = timezone.now()
    batch.save(update_fields=["status", "events_inserted", "last_error", "processed_at"])
    return batch.status


def update_usual_device(customer_ids: Iterable[int]) -> int:
    """Set each customer's device to the one most of its storefront events came from (one UPDATE)."""
    ids = list(customer_ids)
    if not ids:
        return 0
    usual = (
        Event.objects.filter(customer_id=OuterRef("pk"), visitor__isnull=False)
        .exclude(visitor__device="")
        .order_by()
        .values("visitor__device")
        .annotate(n=Count("id"))
        .order_by("-n", "visitor__device")
        .values("visitor__device")[:1]
    )
    return Customer.objects.filter(pk__in=ids).update(device=Coalesce(Subquery(usual), F("device")))
