"""Membership: keep ``SegmentMembership`` equal to the compiled rule, in SQL, writing only changes.

``sync_segment`` is the single way membership changes: a full recompute (``scope=None``), the real-time
path (``scope`` = the customers an event batch touched) and the time sweep all call it, so incremental
and full results are the same by construction. Customers who enter or leave get their membership row
opened or closed (history is kept) and ``segment_entered`` / ``segment_exited`` are sent after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from .evaluate import matching_customers
from .models import Segment, SegmentMembership, SegmentSnapshot
from .rules import Node, RuleError, parse
from .signals import segment_entered, segment_exited

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    entered: list[int] = field(default_factory=list)
    exited: list[int] = field(default_factory=list)


def sync_segment(segment: Segment, *, scope: Sequence[int] | None = None, now: datetime | None = None,
                 node: Node | None = None) -> SyncResult:
    """Bring the segment's current members (all, or those in ``scope``) in line with its rule."""
    now = now or timezone.now()
    if node is None:
        try:
            node = parse(segment.definition, segment.store, segment_id=segment.pk)
        except RuleError:
            # An invalid tree can only come from outside the validated paths: fail closed, change nothing.
            log.error("segment %s has an invalid definition; not evaluated", segment.pk)
            return SyncResult()
    match_sql, match_params = (matching_customers(segment.store, node, now=now, scope=scope)
                               .order_by().values("id").query.sql_with_params())
    table = connection.ops.quote_name(SegmentMembership._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    in_scope, scope_params = "", []
    if scope is not None:
        if not scope:
            return SyncResult()
        in_scope = f" AND customer_id IN ({', '.join(['%s'] * len(scope))})"
        scope_params = list(scope)
    result = SyncResult()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET exited_at = %s WHERE segment_id = %s AND exited_at IS NULL{in_scope} "
                f"AND NOT EXISTS (SELECT 1 FROM ({match_sql}) m WHERE m.id = {table}.customer_id) "
                "RETURNING customer_id",
                [stamp, segment.pk, *scope_params, *match_params],
            )
            result.exited = sorted(row[0] for row in cursor.fetchall())
            cursor.execute(
                f"INSERT INTO {table} (segment_id, customer_id, entered_at, exited_at) "
                f"SELECT %s, m.id, %s, NULL FROM ({match_sql}) m WHERE NOT EXISTS (SELECT 1 FROM {table} x "
                "WHERE x.segment_id = %s AND x.exited_at IS NULL AND x.customer_id = m.id) "
                "ON CONFLICT (segment_id, customer_id) WHERE exited_at IS NULL DO NOTHING RETURNING customer_id",
                [segment.pk, stamp, *match_params, segment.pk],
            )
            result.entered = sorted(row[0] for row in cursor.fetchall())
        if scope is None:
            Segment.objects.filter(pk=segment.pk).update(last_computed_at=now)
        _announce(segment, result)
    return result


def _announce(segment: Segment, result: SyncResult) -> None:
    if result.entered:
        ids = list(result.entered)
        transaction.on_commit(lambda: segment_entered.send(sender=Segment, segment=segment, customer_ids=ids))
    if result.exited:
        ids = list(result.exited)
        transaction.on_commit(lambda: segment_exited.send(sender=Segment, segment=segment, customer_ids=ids))


def current_members(segment: Segment):
    return SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)


def snapshot(segment: Segment, day=None) -> SegmentSnapshot:
    """Record today's size (idempotent per day: the last value of the day wins)."""
    day = day or timezone.now().date()
    snap, _ = SegmentSnapshot.objects.update_or_create(
        segment=segment, day=day, defaults={"size": current_members(segment).count()}
    )
    return snap
