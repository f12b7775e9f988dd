"""Processing of stored deliveries. Tasks take ids and are safe to run twice.

Throughput: a webhook queues a task only when no queued task is waiting to start (``enqueue_delivery``
coalesces through the cache); the task processes its delivery and then drains every pending delivery in
batches, one transaction per batch, so a burst of webhooks costs a few tasks and a few commits instead of
one task and several commits each. A scheduled sweep (``drain_pending``, every minute) picks up anything
a race left behind. Concurrent drainers never process the same delivery twice: rows are locked with
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serializes writers.

Whatever the arrival order, a batch costs the same:

- a delivery that needs an order not stored yet (a refund before its order: ``base.WaitsForOrder``) is
  set aside and applied after the rest of the batch; if its order is still missing it is *parked*, and
  put back to pending as soon as a batch (or the sweep) sees the order, with no timed retry; after
  ``WEBHOOK_PARK_SECONDS`` without its order it fails with the reason;
- the owners of what a batch's deliveries name only by reference (a refund's order, an anonymous cart)
  are read with one indexed query per kind (``owners.Owners``), so the cost does not grow with the
  store's orders;
- a failing delivery is found by halving its group (a few savepoints), never by writing the whole batch
  delivery by delivery;
- ``events_recorded`` is announced once per store and batch (``record.announcements_batched``), so the
  follow-up tasks (segments, reports, flows) grow with batches, not deliveries;
- on PostgreSQL a batch locks its customers first, in one global order (identity keys, then customer
  ids), so two drainers sharing customers wait for each other instead of deadlocking; a deadlock victim
  anyway retries its whole batch transaction (its locks are gone with it);
- drain tasks go to their own queue when ``WEBHOOK_QUEUE`` names one (a separate ``qcluster``: README,
  deployment), so they never wait behind follow-up tasks.
"""

from __future__ import annotations

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

from shopconnect.inputs import loads
from shopconnect.timeline.canonical import date_by_delivery
from shopconnect.timeline.catalog import upsert_products
from shopconnect.timeline.record import announcements_batched, record_events
from shopconnect.timeline.vocabulary import ORDER_PLACED

from .base import ActionPending, Normalized, WaitsForOrder
from .locks import lock_customers
from .models import WebhookDelivery
from .owners import Owners
from .registry import get_adapter
from .waiting import park, release_parked

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


def task_queue() -> dict:
    """Where drain tasks go: their own queue (a ``qcluster`` started with ``Q_CLUSTER_NAME``) when
    ``WEBHOOK_QUEUE`` names one, so they never wait behind follow-up tasks; else the default queue."""
    return {"cluster": settings.WEBHOOK_QUEUE} if settings.WEBHOOK_QUEUE else {}


def enqueue_delivery(delivery_id: int) -> None:
    """Queue processing of a stored delivery (after ``claim_enqueue`` said so)."""
    async_task("integrations.tasks.process_delivery", delivery_id, group="webhooks", **task_queue())


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
    release_parked()
    done = 0
    for _ in range(max_batches):
        processed = len(_process_batch(None, retrying=False, manual=False))
        if not processed:
            break
        done += processed
    return done


def _process_batch(ids: list[int] | None, *, retrying: bool, manual: bool) -> dict[int, str]:
    """One transaction (retried whole when it is a deadlock's victim); see ``_batch``."""
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic(), announcements_batched() as announced:
                return _Batch(announced, manual=manual).run(_lock_deliveries(ids, retrying))
        except OperationalError as exc:
            if attempt == DEADLOCK_RETRIES or not _is_deadlock(exc):
                raise
            log.warning("drain batch was a deadlock victim; running it again (attempt %s)", attempt + 2)
    return {}  # pragma: no cover - the loop returns or raises


def _lock_deliveries(ids: list[int] | None, retrying: bool) -> list[WebhookDelivery]:
    wanted = [WebhookDelivery.Status.PENDING] + ([WebhookDelivery.Status.FAILED] if retrying else [])
    qs = WebhookDelivery.objects.select_related("store").filter(status__in=wanted).order_by("pk")
    qs = qs.filter(pk__in=ids) if ids is not None else qs
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs if ids is not None else qs[:DRAIN_BATCH])


class _Batch:
    """The deliveries of one batch, in arrival order: runs of plain deliveries (events and products,
    ``PlatformAdapter.expand``) written together per store, deliveries with side effects (uninstall,
    compliance) on their own between them, then the deliveries set aside for their order."""

    def __init__(self, announced: list, *, manual: bool) -> None:
        self.announced, self.manual = announced, manual
        self.statuses: dict[int, str] = {}
        self.set_aside: list[tuple[WebhookDelivery, Normalized]] = []
        self.orders: dict[int, set[str]] = {}  # store id -> order refs this batch wrote
        self.owners = Owners()  # who placed the orders of its refunds, who owns its anonymous carts

    def run(self, deliveries: list[WebhookDelivery]) -> dict[int, str]:
        steps: list[list | tuple] = []  # runs: [(delivery, expanded)], or (delivery, normalized) alone
        run: list[tuple[WebhookDelivery, Normalized]] = []
        meant: list[tuple[WebhookDelivery, Normalized]] = []
        for delivery in deliveries:
            normalized = _normalize(delivery, manual=self.manual)
            if normalized is None:  # ignored or failed: already recorded
                self.statuses[delivery.pk] = delivery.status
            else:
                meant.append((delivery, normalized))
        self._load_owners(meant)
        for delivery, normalized in meant:
            if get_adapter(delivery.platform).runs_alone(normalized):
                steps.extend([run, (delivery, normalized)])
                run = []
            else:
                expanded = self._expand(delivery, normalized)
                if expanded is not None:
                    run.append((delivery, expanded))
        steps.append(run)
        lock_customers([item for step in steps if isinstance(step, list) for item in step])
        for step in steps:
            if isinstance(step, tuple):
                delivery, normalized = step
                mark = len(self.announced)
                self.statuses[delivery.pk] = _process_one(delivery, manual=self.manual, normalized=normalized)
                if delivery.status in (WebhookDelivery.Status.FAILED, WebhookDelivery.Status.PARKED):
                    del self.announced[mark:]  # its savepoint rolled back: nothing of it to announce
            else:
                self._write_run(step)
        self._apply_set_aside()
        self._unpark()
        return self.statuses

    def _load_owners(self, items: list[tuple[WebhookDelivery, Normalized]], *, again: bool = False) -> None:
        """The owners of what these deliveries name only by reference (a refund's order, an anonymous
        cart): one query per kind and store for the batch, not one per delivery (``again``: the ones not
        found, after the batch's writes)."""
        by_store: dict[int, tuple[object, list]] = {}
        for delivery, normalized in items:
            by_store.setdefault(delivery.store_id, (delivery.store, []))[1].extend(normalized.events)
        for store, events in by_store.values():
            self.owners.load(store, events, again=again)

    def _expand(self, delivery: WebhookDelivery, normalized: Normalized) -> Normalized | None:
        try:
            return get_adapter(delivery.platform).expand(delivery, normalized, self.owners)
        except WaitsForOrder:
            self.set_aside.append((delivery, normalized))
        except Exception as exc:  # noqa: BLE001 - recorded on the delivery, never lost
            _fail(delivery, exc, manual=self.manual)
            self.statuses[delivery.pk] = delivery.status
        return None

    def _write_run(self, run: list[tuple[WebhookDelivery, Normalized]]) -> None:
        by_store: dict[int, list[tuple[WebhookDelivery, Normalized]]] = {}
        for delivery, expanded in run:
            by_store.setdefault(delivery.store_id, []).append((delivery, expanded))
        for items in by_store.values():
            self._write(items)

    def _write(self, items: list[tuple[WebhookDelivery, Normalized]]) -> None:
        """One savepoint for the items; if it fails, each half is written again (a bad delivery costs a
        few savepoints, not one write per delivery), down to the delivery that fails, which records why."""
        if not items:
            return
        mark = len(self.announced)
        try:
            with transaction.atomic():
                _write_group(items)
        except OperationalError as exc:
            if _is_deadlock(exc):
                raise  # the whole batch is retried: this savepoint's locks are not its only ones
            del self.announced[mark:]
            self._split(items, exc)
        except Exception as exc:  # noqa: BLE001 - narrowed down below, recorded on the delivery
            del self.announced[mark:]
            self._split(items, exc)
        else:
            for delivery, expanded in items:
                delivery.status = WebhookDelivery.Status.PROCESSED
                self.statuses[delivery.pk] = delivery.status
                refs = {e.order_ref for e in expanded.events if e.type == ORDER_PLACED and e.order_ref}
                if refs:
                    self.orders.setdefault(delivery.store_id, set()).update(refs)

    def _split(self, items: list[tuple[WebhookDelivery, Normalized]], exc: Exception) -> None:
        if len(items) == 1:
            delivery = items[0][0]
            _fail(delivery, exc, manual=self.manual)
            self.statuses[delivery.pk] = delivery.status
            return
        half = len(items) // 2
        self._write(items[:half])
        self._write(items[half:])

    def _apply_set_aside(self) -> None:
        """The deliveries that needed an order: their orders may have come in this batch."""
        ready: list[tuple[WebhookDelivery, Normalized]] = []
        self._load_owners(self.set_aside, again=True)  # their orders may be written now
        for delivery, normalized in self.set_aside:
            try:
                ready.append((delivery, get_adapter(delivery.platform).expand(delivery, normalized, self.owners)))
            except WaitsForOrder as waiting:
                park(delivery, waiting)
                self.statuses[delivery.pk] = delivery.status
            except Exception as exc:  # noqa: BLE001
                _fail(delivery, exc, manual=self.manual)
                self.statuses[delivery.pk] = delivery.status
        self._write_run(ready)

    def _unpark(self) -> None:
        """Deliveries parked for an order this batch wrote: pending again, for the next batch of the drain."""
        for store_id, refs in self.orders.items():
            WebhookDelivery.objects.filter(store_id=store_id, status=WebhookDelivery.Status.PARKED,
                                           waits_for__in=refs).update(status=WebhookDelivery.Status.PENDING)


def _meaning(delivery: WebhookDelivery) -> Normalized | None:
    """The adapter's (pure) reading of a stored delivery; raises when there is none or it fails."""
    adapter = get_adapter(delivery.platform)
    if adapter is None:
        raise LookupError(f"no adapter configured for platform {delivery.platform!r}")
    normalized = adapter.normalize(delivery.topic, loads(bytes(delivery.body) or b"null"))  # bounded depth
    if normalized is not None:  # a payload without a time of its own is dated by its delivery
        date_by_delivery(normalized.events, delivery.triggered_at or delivery.received_at)
    return normalized


def _is_deadlock(exc: Exception) -> bool:
    """Two transactions waiting for each other's locks: PostgreSQL aborts one of them (the victim)."""
    return isinstance(exc, OperationalError) and getattr(exc.__cause__, "sqlstate", None) == DEADLOCK


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


def _write_group(items: list[tuple[WebhookDelivery, Normalized]]) -> None:
    """Write expanded deliveries of one store: one products upsert (in key order, so two drainers lock
    products in the same order), one ``record_events`` call, one status update per distinct count."""
    store = items[0][0].store
    products = sorted((p for _, x in items for p in x.products), key=lambda p: p.external_id)
    if products:
        upsert_products(store, products)
    events = [e for _, x in items for e in x.events]
    inserted = record_events(store, events).inserted_keys if events else set()
    counted: set[str] = set()
    by_count: dict[int, list[int]] = {}
    for delivery, x in items:
        keys = {e.dedupe_key for e in x.events if e.dedupe_key in inserted} - counted
        counted |= keys
        by_count.setdefault(len(keys), []).append(delivery.pk)
    now = timezone.now()
    for count, ids in by_count.items():  # a statement per distinct count: usually one or two
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDelivery.Status.PROCESSED, events_inserted=count, attempts=F("attempts") + 1,
            last_error="", waits_for="", processed_at=now,
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
        _apply(get_adapter(delivery.platform), delivery, normalized)
    except WaitsForOrder as waiting:
        park(delivery, waiting)
    except OperationalError as exc:
        if _is_deadlock(exc):
            raise  # the whole batch transaction is retried
        _fail(delivery, exc, manual=manual)
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
        **task_queue(),
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
