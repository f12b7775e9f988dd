"""Erasing a whole store (Shopify ``shop/redact``, an admin's "Erase store"): always completes.

``request_store_erasure`` records a ``StoreErasure`` (no foreign key: it outlives the store), stops the
store at once (uninstalled, tokens dropped: nothing is collected or sent meanwhile) and queues
``run_store_erasure``. That task deletes every row the store owns, whatever model it is in: the models
are found by following foreign keys to ``Store`` (so a model added later is covered without a change
here) and deleted children first (a template is deleted after the flow steps, campaigns and variants
that ``PROTECT`` it), in chunks of ``CHUNK`` rows, one transaction each: a store with millions of events
never holds one huge transaction, and a retry continues where a failure stopped. A failure is recorded
on the erasure (visible in the admin under *Privacy > Store erasures*) and retried with backoff until it
is done; the daily retention task also restarts any erasure that stopped.
"""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from functools import cache
from graphlib import CycleError, TopologicalSorter

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from shopconnect.timeline.models import Customer, Store

from .models import StoreErasure

log = logging.getLogger(__name__)
CHUNK = 5000
RUN_FUNC = "shopconnect.privacy.shop.run_store_erasure"


def _owner_path(model, paths: dict) -> str | None:
    """The lookup from ``model`` to its store through a required (or cascading) foreign key."""
    candidates = []
    for field in model._meta.concrete_fields:
        if not (field.is_relation and (field.many_to_one or field.one_to_one)):
            continue
        target = field.related_model
        if target not in paths:
            continue
        if field.null and field.remote_field.on_delete is not models.CASCADE:
            continue  # an optional reference (SET_NULL...) does not make the row the store's
        path = field.name if target is Store else f"{field.name}__{paths[target]}"
        candidates.append((path.count("__"), path))
    return min(candidates)[1] if candidates else None


@cache
def owned_models() -> tuple[tuple[type[models.Model], str], ...]:
    """Every model whose rows belong to a store, with its lookup to the store, in deletion order."""
    everything = [m for m in apps.get_models(include_auto_created=True) if not m._meta.proxy]
    paths: dict = {Store: ""}
    grew = True
    while grew:
        grew = False
        for model in everything:
            if model not in paths and (path := _owner_path(model, paths)) is not None:
                paths[model] = path
                grew = True
    owned = [m for m in paths if m is not Store]

    def order(required_only: bool) -> list:
        graph: dict = {m: set() for m in owned}
        for model in owned:
            for field in model._meta.concrete_fields:
                target = field.related_model if field.is_relation else None
                if target in graph and target is not model and not (required_only and field.null):
                    graph[target].add(model)  # the referencing model is deleted first
        return list(TopologicalSorter(graph).static_order())

    try:
        ordered = order(required_only=False)
    except CycleError:  # optional references in a cycle: they are cleared before each chunk instead
        ordered = order(required_only=True)
    return tuple((m, paths[m]) for m in ordered) + ((Store, ""),)


def _optional_references(model) -> list[tuple[type[models.Model], str]]:
    """Nullable foreign keys pointing at ``model`` (cleared before its rows go)."""
    refs = []
    for other in apps.get_models(include_auto_created=True):
        for field in other._meta.concrete_fields:
            if field.is_relation and field.related_model is model and field.null and other is not model:
                refs.append((other, field.name))
    return refs


def _delete_chunk(model, pks: list) -> int:
    with transaction.atomic():
        for other, name in _optional_references(model):
            other._base_manager.filter(**{f"{name}__in": pks}).update(**{name: None})
        if model is Customer:  # the admin's change history names the person
            LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Customer),
                                    object_id__in=[str(pk) for pk in pks]).delete()
        return model._base_manager.filter(pk__in=pks)._raw_delete(model._base_manager.db)


def erase_store_data(store_id: int, progress: dict[str, int] | None = None, on_chunk=None) -> dict[str, int]:
    """Delete every row of the store, children first, in chunks; returns rows deleted per model."""
    progress = progress if progress is not None else {}
    for model, path in owned_models():
        label = model._meta.label
        rows = model._base_manager.filter(**({path: store_id} if path else {"pk": store_id}))
        while True:
            pks = list(rows.order_by().values_list("pk", flat=True)[:CHUNK])
            if not pks:
                break
            progress[label] = progress.get(label, 0) + _delete_chunk(model, pks)
            if on_chunk is not None:
                on_chunk(progress)
    _delete_schedules(store_id)
    return progress


def _delete_schedules(store_id: int) -> None:
    from django_q.models import Schedule

    Schedule.objects.filter(args=str(store_id), name__endswith=f"store {store_id}").delete()


def request_store_erasure(store: Store, via: str, user=None) -> StoreErasure:
    """Record the erasure, stop the store now, and queue the work (after this transaction commits)."""
    name = user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""
    erasure, created = StoreErasure.objects.get_or_create(
        store_id=store.pk,
        defaults={"store_name": str(store)[:255], "platform": store.platform, "via": via, "requested_by_name": name},
    )
    if not created and erasure.status == StoreErasure.Status.DONE:  # the id was reused by a new store
        StoreErasure.objects.filter(pk=erasure.pk).update(status=StoreErasure.Status.PENDING, finished_at=None,
                                                            via=via, deleted={}, last_error="")
    Store.objects.filter(pk=store.pk).update(
        status=Store.Status.UNINSTALLED, uninstalled_at=store.uninstalled_at or timezone.now(), access_token="",
        consumer_key="", consumer_secret="",
    )
    erasure_id = erasure.pk
    transaction.on_commit(lambda: _enqueue(erasure_id))
    return erasure


def _enqueue(erasure_id: int) -> None:
    from django_q.tasks import async_task

    async_task(RUN_FUNC, erasure_id, group="privacy")


def backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** attempts, 60))


def run_store_erasure(erasure_id: int) -> str:
    """The task: erase the store's rows; on failure record the error and schedule a retry."""
    erasure = StoreErasure.objects.filter(pk=erasure_id).first()
    if erasure is None or erasure.status == StoreErasure.Status.DONE:
        return "done"
    StoreErasure.objects.filter(pk=erasure.pk).update(status=StoreErasure.Status.RUNNING, attempts=erasure.attempts + 1,
                                                        progressed_at=timezone.now())
    progress = dict(erasure.deleted or {})

    def save(counts: dict[str, int]) -> None:
        StoreErasure.objects.filter(pk=erasure.pk).update(deleted=counts, progressed_at=timezone.now())

    try:
        erase_store_data(erasure.store_id, progress, on_chunk=save)
    except Exception as exc:  # noqa: BLE001 - recorded, shown in the admin and retried
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        StoreErasure.objects.filter(pk=erasure.pk).update(status=StoreErasure.Status.FAILED, last_error=error,
                                                            deleted=progress)
        log.warning("erasure of store %s failed (attempt %s): %s", erasure.store_id, erasure.attempts + 1,
                    error.splitlines()[-1] if error else "")
        _schedule_retry(erasure.pk, erasure.attempts + 1)
        return "failed"
    StoreErasure.objects.filter(pk=erasure.pk).update(status=StoreErasure.Status.DONE, last_error="",
                                                        deleted=progress, finished_at=timezone.now())
    return "done"


def _schedule_retry(erasure_id: int, attempts: int) -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=f"privacy: retry store erasure {erasure_id}",
        defaults={"func": RUN_FUNC, "args": str(erasure_id), "schedule_type": Schedule.ONCE, "repeats": 1,
                  "next_run": timezone.now() + backoff(attempts)},
    )


def restart_stalled(now=None) -> int:
    """Erasures that are not done and have not moved for an hour (a dead worker, a lost retry): queue them
    again. One that is still deleting chunks is left alone."""
    now = now or timezone.now()
    quiet = now - timedelta(hours=1)
    stalled = StoreErasure.objects.exclude(status=StoreErasure.Status.DONE).filter(requested_at__lt=quiet).filter(
        Q(progressed_at__isnull=True) | Q(progressed_at__lt=quiet))
    ids = list(stalled.values_list("pk", flat=True))
    for erasure_id in ids:
        _enqueue(erasure_id)
    return len(ids)
