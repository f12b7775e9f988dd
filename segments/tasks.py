"""Tasks (they take ids): the real-time re-evaluation, the time sweep, full recomputes and snapshots.

The sweep runs on a django-q2 ``Schedule`` named ``segments.sweep`` (every 5 minutes) created by the data
migration ``segments/migrations/0002_sweep_schedule.py``.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from shopconnect.timeline.models import Store

from .deps import dependencies
from .membership import snapshot, sync_customers, sync_segment
from .models import Segment
from .parsed import parsed_segments
from .sweep import sweep_segment


def reevaluate_customers(store_id: int, types_by_customer: dict) -> int:
    """Re-evaluate the affected segments for the touched customers. Returns how many segments ran."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:  # erased between the event and the task: nothing to do
        return 0
    touched = {int(cid): set(types) for cid, types in types_by_customer.items()}
    items = []
    for segment, node in parsed_segments(store):
        deps = dependencies(node)
        scope = sorted(cid for cid, types in touched.items() if deps.affected_by(types))
        if scope:
            items.append((segment, node, scope))
    sync_customers(store, items, now=timezone.now())
    return len(items)


def sweep_segments(store_id: int | None = None, now: datetime | None = None) -> int:
    """Recompute the segments that time (or other customers) can change, and record today's sizes."""
    stores = Store.objects.filter(status=Store.Status.ACTIVE)
    if store_id is not None:
        stores = stores.filter(pk=store_id)
    now = now or timezone.now()
    ran = 0
    for store in stores:
        for segment, node in parsed_segments(store):
            if sweep_segment(segment, node, now) is not None:
                ran += 1
            snapshot(segment, now.date())
    return ran


def recompute_segment(segment_id: int) -> tuple[int, int]:
    segment = Segment.objects.select_related("store").get(pk=segment_id)
    result = sync_segment(segment)
    snapshot(segment)
    return len(result.entered), len(result.exited)


def recompute_store(store_id: int) -> int:
    store = Store.objects.get(pk=store_id)
    count = 0
    for segment, node in parsed_segments(store):
        sync_segment(segment, node=node)
        snapshot(segment)
        count += 1
    return count
