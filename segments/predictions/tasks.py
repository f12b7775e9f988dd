"""Tasks (django-q2): refit one store, and the daily job that enqueues a refit for every active store.

The daily schedule ("predictions: refit all stores") is created by the data migration
``0003_daily_refit_schedule``; an operator may change its time or frequency in the admin (Django Q >
Scheduled tasks) and a later migration will not overwrite it.
"""

from __future__ import annotations

from django_q.tasks import async_task

from .refit import refit_store, store_ids_to_refit

SCHEDULE_NAME = "predictions: refit all stores"


def refit_store_predictions(store_id: int) -> dict:
    """Refit and rescore one store; returns a short summary (kept in the task result)."""
    run = refit_store(store_id)
    return {"store": store_id, "method": run.method, "customers": run.customers, "seconds": run.seconds}


def refit_all_stores() -> int:
    """Enqueue one refit per active store (each its own task, so one failing store stops no other)."""
    ids = store_ids_to_refit()
    for store_id in ids:
        async_task(
            "segments.predictions.tasks.refit_store_predictions",
            store_id,
            task_name=f"predictions: refit store {store_id}",
        )
    return len(ids)
