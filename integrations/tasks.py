"""Processing of stored deliveries. Tasks take ids and are safe to run twice.

Throughput: a webhook queues a task only when no queued task is waiting to start (``enqueue_delivery``
coalesces through the cache); the task processes its delivery and then drains every pending delivery in
batches, one transaction per batch, so a burst of webhooks costs a few tasks and a few commits instead of
one task and several commits each. A scheduled sweep (``drain_pending``, every minute) picks up anything
a race left behind. Concurrent drainers never process the same delivery twice: rows are locked with
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from shopconnect.timeline.canonical import date_by_delivery
from shopconnect.timeline.catalog import upsert_products
from shopconnect.timeline.record import record_events

from .base import ActionPending, Normalized
from .models import WebhookDelivery
from .registry import get_adapter

log = logging.getLogger(__name__)

DRAIN_BATCH = 100
COALESCE_KEY = "integrations:drain-queued"
COALESCE_SECONDS = 30
DEADLOCK = "40P01"  # PostgreSQL's deadlock_detected
DEADLOCK_RETRIES = 2
DONE = (WebhookDelivery.Status.PROCESSED, WebhookDelivery.Status.IGNORED)


def claim_enqueue() -> bool:
    """True when no queued task is waiting to start: the caller must then ``enqueue_delivery``."""
    return cache.add(COALESCE_KEY, 1, timeout=COALESCE_SECONDS)


def release_enqueue() -> None:
    """Give up a claim without queueing (the delivery was not stored)."""
    cache.delete(COALESCE_KEY)


def enqueue_delivery(delivery_id: int) -> None:
    """Queue processing of a stored delivery (after ``claim_enqueue`` said so)."""
    async_task("integrations.tasks.process_delivery", delivery_id, group="webhooks")


def process_delivery(delivery_id: int, *, manual: bool = False) -> str:
    """Process one delivery (and, unless manual, drain whatever else is pending).

    Returns the delivery's status afterwards ("missing" when it does not exist: the request that
    stored it rolled back, so nothing was acknowledged).
    """
    cache.delete(COALESCE_KEY)  # deliveries arriving from now on queue a task of their own
    status = _process_batch([delivery_id], retrying=True, manual=manual).get(delivery_id)
    if status is None:
        delivery = WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        status = delivery or "missing"
    if not manual:
        drain_pending()
    return status


def drain_pending(max_batches: int = 100) -> int:
    """Process pending deliveries, oldest first, in batches; returns how many were processed.

    Each batch takes the oldest pending deliveries no other drainer holds (``SKIP LOCKED``), so two
    workers draining at once split the backlog instead of waiting for each other's rows.
    """
    done = 0
    for _ in range(max_batches):
        processed = len(_process_batch(None, retrying=False, manual=False))
        if not processed:
            break
        done += processed
    return done


def _process_batch(ids: list[int] | None, *, retrying: bool, manual: bool) -> dict[int, str]:
    """One transaction: lock the deliveries still to do and process them in arrival order.

    Consecutive deliveries that are plain events and products (``PlatformAdapter.expand``) are written
    together, one ``record_events`` call per store; deliveries with side effects (uninstall, compliance)
    run on their own. If a group's write fails, each of its deliveries is tried alone, so one bad
    delivery never holds back the others and its own error is recorded on it.
    """
    wanted = [WebhookDelivery.Status.PENDING] + ([WebhookDelivery.Status.FAILED] if retrying else [])
    statuses: dict[int, str] = {}
    with transaction.atomic():
        qs = WebhookDelivery.objects.select_related("store").filter(status__in=wanted).order_by("pk")
        qs = qs.filter(pk__in=ids) if ids is not None else qs
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        deliveries = list(qs if ids is not None else qs[:DRAIN_BATCH])
        if not deliveries:
            return {}
        if len(deliveries) == 1:
            return {deliveries[0].pk: _process_one(deliveries[0], manual=manual)}
        run: list[tuple[WebhookDelivery, Normalized]] = []
        for delivery in deliveries:
            normalized = _normalize(delivery, manual=manual)
            if normalized is None:  # ignored or failed: already recorded
                statuses[delivery.pk] = delivery.status
            elif get_adapter(delivery.platform).runs_alone(normalized):
                statuses.update(_write_run(run, manual=manual))
                run = []
                statuses[delivery.pk] = _process_one(delivery, manual=manual, normalized=normalized)
            else:
                run.append((delivery, normalized))
        statuses.update(_write_run(run, manual=manual))
    return statuses


def _meaning(delivery: WebhookDelivery) -> Normalized | None:
    """The adapter's (pure) reading of a stored delivery; raises when there is none or it fails."""
    adapter = get_adapter(delivery.platform)
    if adapter is None:
        raise LookupError(f"no adapter configured for platform {delivery.platform!r}")
    normalized = adapter.normalize(delivery.topic, json.loads(bytes(delivery.body) or b"null"))
    if normalized is not None:  # a payload without a time of its own is dated by its delivery
        date_by_delivery(normalized.events, delivery.triggered_at or delivery.received_at)
    return normalized


def _is_deadlock(exc: Exception) -> bool:
    """Two workers writing the same customers in opposite orders: PostgreSQL aborts one of them. Its
    savepoint is rolled back (its locks released), so trying again goes through."""
    return isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) == DEADLOCK


def _retrying_deadlocks(write) -> None:
    """Run ``write`` (which opens its own savepoint), again at once if it was a deadlock's victim."""
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            return write()
        except OperationalError as exc:
            if attempt == DEADLOCK_RETRIES or not _is_deadlock(exc):
                raise


def _normalize(delivery: WebhookDelivery, *, manual: bool) -> Normalized | None:
    """Parse and normalize one delivery; None once an ignored or failed one is recorded."""
    try:
        normalized = _meaning(delivery)
    except Exception as exc:  # noqa: BLE001 - recorded on the delivery, never lost
        _fail(delivery, exc, manual=manual)
        return None
    if normalized is None:
        _mark_done(delivery, WebhookDelivery.Status.IGNORED, 0)
        delivery.save(update_fields=DONE_FIELDS)
    return normalized


def _write_run(run: list[tuple[WebhookDelivery, Normalized]], *, manual: bool) -> dict[int, str]:
    """Write consecutive plain deliveries: per store, one products upsert and one record_events call.
    A store's group that fails is written again delivery by delivery, each recording its own outcome."""
    by_store: dict[int, list[tuple[WebhookDelivery, Normalized]]] = {}
    for delivery, normalized in run:
        by_store.setdefault(delivery.store_id, []).append((delivery, normalized))
    statuses: dict[int, str] = {}
    for items in by_store.values():
        if len(items) == 1 or not _write_together(items):
            for delivery, normalized in items:
                statuses[delivery.pk] = _process_one(delivery, manual=manual, normalized=normalized)
        else:
            statuses.update((delivery.pk, delivery.status) for delivery, _ in items)
    return statuses


def _write_together(items: list[tuple[WebhookDelivery, Normalized]]) -> bool:
    """One savepoint for the group (retried when it is a deadlock victim); False if it failed."""
    try:
        _retrying_deadlocks(lambda: _write_group(items))
    except Exception:  # noqa: BLE001 - the deliveries are then written one by one
        return False
    for delivery, _ in items:
        delivery.status = WebhookDelivery.Status.PROCESSED
    return True


@transaction.atomic
def _write_group(items: list[tuple[WebhookDelivery, Normalized]]) -> None:
    store = items[0][0].store
    expanded = [(delivery, get_adapter(delivery.platform).expand(delivery, n)) for delivery, n in items]
    products = [p for _, x in expanded for p in x.products]
    if products:
        upsert_products(store, products)
    events = [e for _, x in expanded for e in x.events]
    inserted = record_events(store, events).inserted_keys if events else set()
    counted: set[str] = set()
    by_count: dict[int, list[int]] = {}
    for delivery, x in expanded:
        keys = {e.dedupe_key for e in x.events if e.dedupe_key in inserted} - counted
        counted |= keys
        by_count.setdefault(len(keys), []).append(delivery.pk)
    now = timezone.now()
    for count, ids in by_count.items():  # a statement per distinct count: usually one or two
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDelivery.Status.PROCESSED, events_inserted=count, attempts=F("attempts") + 1,
            last_error="", processed_at=now,
        )


DONE_FIELDS = ["status", "events_inserted", "attempts", "last_error", "processed_at"]


def _mark_done(delivery: WebhookDelivery, status: str, inserted: int) -> None:
    delivery.status = status
    delivery.events_inserted = inserted
    delivery.attempts += 1
    delivery.last_error = ""
    delivery.processed_at = timezone.now()


def _process_one(delivery: WebhookDelivery, *, manual: bool, normalized: Normalized | None = None) -> str:
    """Normalize and apply one delivery; record a failure on it and schedule a bounded retry."""
    try:
        if normalized is None:
            normalized = _meaning(delivery)
        _retrying_deadlocks(lambda: _apply(get_adapter(delivery.platform), delivery, normalized))
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the delivery, never lost
        _fail(delivery, exc, manual=manual)
    return delivery.status


def _fail(delivery: WebhookDelivery, exc: Exception, *, manual: bool) -> None:
    delivery.attempts += 1
    delivery.status = WebhookDelivery.Status.FAILED
    delivery.last_error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
    delivery.save(update_fields=["status", "attempts", "last_error"])
    log.warning("delivery %s (%s) failed, attempt %s: %s", delivery.pk, delivery.topic, delivery.attempts,
                delivery.last_error.splitlines()[-1] if delivery.last_error else "")
    if not manual and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        _schedule_retry(delivery)


def _apply(adapter, delivery: WebhookDelivery, normalized) -> None:
    with transaction.atomic():
        if normalized is None:
            _mark_done(delivery, WebhookDelivery.Status.IGNORED, 0)
        else:
            try:
                _mark_done(delivery, WebhookDelivery.Status.PROCESSED, adapter.apply(delivery, normalized))
            except ActionPending as pending:  # accepted, completes later: not processed yet
                _mark_done(delivery, WebhookDelivery.Status.WAITING, 0)
                delivery.last_error, delivery.processed_at = str(pending)[:4000], None
        delivery.save(update_fields=DONE_FIELDS)


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
