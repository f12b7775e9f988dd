"""The real-time path: after ``record_events``, re-evaluate only the segments whose rules depend on the
event types that arrived, only for the customers the batch touched (a django-q2 task that takes ids)."""

from __future__ import annotations

from django_q.tasks import async_task


def on_events_recorded(sender, store, result, **kwargs) -> None:
    if not result.types_by_customer:
        return
    from .models import Segment

    if not Segment.objects.filter(store=store, is_active=True).exists():
        return  # nothing consumes it: no task (a store without segments, during a backfill or a burst)
    payload = {str(cid): sorted(types) for cid, types in result.types_by_customer.items()}
    async_task("segments.tasks.reevaluate_customers", store.pk, payload, task_name="segments.reevaluate")


def on_local_times_changed(sender, store_id, **kwargs) -> None:
    """A store's time zone changed: every segment of the store is recomputed (rare, and hour-of-day or
    weekday conditions may now match other customers)."""
    async_task("segments.tasks.recompute_store", store_id, task_name="segments.recompute_store")
