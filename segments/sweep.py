"""The time sweep, touching as little as it can.

Between two sweeps at ``prev`` and ``now``, a window ``[now - last, now - until]`` can only change its
answer for customers with a matching event whose time crossed one of its edges: ``occurred_at`` in
``(prev - last, now - last]`` or ``(prev - until, now - until]``; a relative date condition on a customer
field ("last order more than 90 days ago") only for customers whose field crossed ``now - 90 days``.
So the sweep re-evaluates only those customers, with the same ``sync_segment``. Percentiles and
predictions (other rows change them), calendar windows ("this month last year") when the month turned,
and a first sweep recompute the segment fully.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from shopconnect.timeline.models import Customer, Event

from .compiler import window_bounds
from .deps import dependencies
from .membership import SyncResult, sync_segment
from .models import Segment
from .rules import Attribute, Node, Percentile, Performed, Prediction, walk
from .rules import vocab as w


def _crossed(edges_prev: list, edges_now: list) -> Q:
    q = Q(pk__in=[])
    for before, after in zip(edges_prev, edges_now, strict=True):
        if before is not None and after is not None and after > before:
            q |= Q(occurred_at__gt=before, occurred_at__lte=after)
    return q


def crossing_customers(store, node: Node, prev: datetime, now: datetime) -> list[int] | None:
    """Customers whose answer may have changed between ``prev`` and ``now``; None = everyone may have."""
    ids: set[int] = set()
    for n in walk(node):
        if isinstance(n, (Percentile, Prediction)):
            return None
        if isinstance(n, Performed) and n.window is not None and n.window.relative:
            if n.window.same_month_last_year:
                if (prev.year, prev.month) != (now.year, now.month):
                    return None
                continue
            start_prev, end_prev, _ = window_bounds(n.window, prev)
            start_now, end_now, _ = window_bounds(n.window, now)
            crossed = _crossed([start_prev, end_prev], [start_now, end_now])
            ids.update(
                Event.objects.filter(crossed, store=store, type__in=list(n.events), customer__isnull=False)
                .values_list("customer_id", flat=True)
                .distinct()
            )
        elif isinstance(n, Attribute) and n.op in ("within_last", "more_than_ago", "within_next"):
            name = w.ATTRIBUTES[n.field][0]
            if n.op == "within_next":  # edges now and now + d both move
                edges = [(prev, now), (prev + n.value, now + n.value)]
            else:
                edges = [(prev - n.value, now - n.value)]
            q = Q(pk__in=[])
            for before, after in edges:
                q |= Q(**{f"{name}__gt": before, f"{name}__lte": after})
            ids.update(Customer.objects.filter(q, store=store).values_list("id", flat=True))
    return sorted(ids)


def sweep_segment(segment: Segment, node: Node, now: datetime) -> SyncResult | None:
    """Sweep one segment (None when time cannot change it). Records ``last_swept_at``."""
    if not dependencies(node).needs_sweep:
        return None
    prev = segment.last_swept_at
    scope = crossing_customers(segment.store, node, prev, now) if prev and prev < now else None
    if prev and prev >= now:
        return SyncResult()
    result = sync_segment(segment, node=node, now=now, scope=scope) if scope != [] else SyncResult()
    Segment.objects.filter(pk=segment.pk).update(last_swept_at=now)
    return result
