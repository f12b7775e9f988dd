"""Membership: keep ``SegmentMembership`` equal to the compiled rule, in SQL, writing only changes.

``sync_segment`` is the single way membership changes: a full recompute (``scope=None``), the real-time
path (``scope`` = the customers an event batch touched) and the time sweep all call it, so incremental
and full results are the same by construction. Customers who enter or leave get their membership row
opened or closed (history is kept) and ``segment_entered`` / ``segment_exited`` are sent after commit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from .compiler import SHARED_TTL
from .evaluate import matching_customers
from .models import Segment, SegmentMembership, SegmentSnapshot
from .rules import Node, Performed, RuleError, parse, walk
from .signals import segment_entered, segment_exited

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    entered: list[int] = field(default_factory=list)
    exited: list[int] = field(default_factory=list)


def sync_segment(
    segment: Segment,
    *,
    scope: Sequence[int] | None = None,
    now: datetime | None = None,
    node: Node | None = None,
) -> SyncResult:
    """Bring the segment's current members (all, or those in ``scope``) in line with its rule."""
    now = now or timezone.now()
    if node is None:
        try:
            node = parse(segment.definition, segment.store, segment_id=segment.pk)
        except RuleError:
            # An invalid tree can only come from outside the validated paths: fail closed, change nothing.
            log.error("segment %s has an invalid definition; not evaluated", segment.pk)
            return SyncResult()
    match_sql, match_params = (
        matching_customers(segment.store, node, now=now, scope=scope)
        .order_by()
        .values("id")
        .query.sql_with_params()
    )
    table = connection.ops.quote_name(SegmentMembership._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    in_scope, scope_params = "", []
    if scope is not None:
        if not scope:
            return SyncResult()
        in_scope = f" AND customer_id IN ({', '.join(['%s'] * len(scope))})"
        scope_params = list(scope)
    result = SyncResult()
    close = (
        f"UPDATE {table} SET exited_at = %s WHERE segment_id = %s AND exited_at IS NULL{in_scope} "
        f"AND NOT EXISTS (SELECT 1 FROM {{m}} WHERE m.id = {table}.customer_id) RETURNING customer_id"
    )
    close_params = [stamp, segment.pk, *scope_params]
    open_ = (
        f"INSERT INTO {table} (segment_id, customer_id, entered_at, exited_at) "
        f"SELECT %s, m.id, %s, NULL FROM {{m}} WHERE NOT EXISTS (SELECT 1 FROM {table} x "
        "WHERE x.segment_id = %s AND x.exited_at IS NULL AND x.customer_id = m.id) "
        # In customer order: the customer index is then written page after page instead of at random
        # (customer rows move on every update, so the rule's scan returns them in no useful order).
        "ORDER BY m.id "
        "ON CONFLICT (segment_id, customer_id) WHERE exited_at IS NULL DO NOTHING RETURNING customer_id"
    )
    open_params = [segment.pk, stamp, segment.pk]
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One statement for the exits and the entries, from one evaluation of the rule, so they
                # never disagree. A full recompute first evaluates the rule alone into a temporary table:
                # a plain query runs on parallel workers, one inside a statement that writes cannot (3x
                # slower at 1M customers). A scoped one (a few customers) uses a materialized CTE.
                if scope is None:
                    cursor.execute(f"CREATE TEMPORARY TABLE {MATCHED} ON COMMIT DROP AS {match_sql}", match_params)
                    cursor.execute(f"ANALYZE {MATCHED}")
                    # Both sides are large: hash joins. Membership statistics lag behind bulk writes, and
                    # a nested loop planned on a stale "few rows" estimate rescans the table per member.
                    cursor.execute("SET LOCAL enable_nestloop = off")
                    m, source, source_params = f"{MATCHED} m", "", []
                else:
                    m, source, source_params = "m", f"m AS MATERIALIZED ({match_sql}), ", list(match_params)
                cursor.execute(
                    f"WITH {source}closed AS ({close.format(m=m)}), opened AS ({open_.format(m=m)}) "
                    "SELECT 'x', customer_id FROM closed UNION ALL SELECT 'e', customer_id FROM opened",
                    [*source_params, *close_params, *open_params],
                )
                rows = cursor.fetchall()
                if scope is None:
                    cursor.execute("RESET enable_nestloop")
                    cursor.execute(f"DROP TABLE {MATCHED}")
                result.exited = sorted(cid for kind, cid in rows if kind == "x")
                result.entered = sorted(cid for kind, cid in rows if kind == "e")
            else:
                cursor.execute(close.format(m=f"({match_sql}) m"), [*close_params, *match_params])
                result.exited = sorted(row[0] for row in cursor.fetchall())
                cursor.execute(
                    open_.format(m=f"({match_sql}) m"), [*open_params[:2], *match_params, open_params[2]]
                )
                result.entered = sorted(row[0] for row in cursor.fetchall())
        if scope is None:
            Segment.objects.filter(pk=segment.pk).update(last_computed_at=now)
        _announce(segment, result)
    return result


def sync_customers(
    store, items: list[tuple[Segment, Node, Sequence[int]]], *, now: datetime | None = None
) -> dict[int, SyncResult]:
    """The real-time form of ``sync_segment`` for many segments at once, each narrowed to a few customers:
    the same compiled queries, run as one ``UNION ALL`` round trip, then the same open/close of stays."""
    now = now or timezone.now()
    items = [(s, n, list(scope)) for s, n, scope in items if scope]
    if not items:
        return {}
    parts, params = [], []
    for segment, node, scope in items:
        sql, p = scoped_sql(store, segment, node, scope, now)
        parts.append(f"SELECT %s AS sid, m.id FROM ({sql}) m")
        params += [segment.pk, *p]
    matched: dict[int, set[int]] = {s.pk: set() for s, _, _ in items}
    results: dict[int, SyncResult] = {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for sid, cid in cursor.fetchall():
                matched[sid].add(cid)
        everyone = {cid for _, _, scope in items for cid in scope}
        current: dict[int, set[int]] = {s.pk: set() for s, _, _ in items}
        for sid, cid in current_stays(matched, everyone):
            current[sid].add(cid)
        new_rows = []
        for segment, _, scope in items:
            inside = current[segment.pk] & set(scope)
            result = SyncResult(
                entered=sorted(matched[segment.pk] - inside), exited=sorted(inside - matched[segment.pk])
            )
            if result.exited:
                SegmentMembership.objects.filter(
                    segment=segment, customer_id__in=result.exited, exited_at__isnull=True
                ).update(exited_at=now)
            new_rows += [
                SegmentMembership(segment=segment, customer_id=c, entered_at=now) for c in result.entered
            ]
            if result.entered or result.exited:
                results[segment.pk] = result
                _announce(segment, result)
        SegmentMembership.objects.bulk_create(new_rows, ignore_conflicts=True)
    return results


SENTINEL_NOW = datetime(2200, 1, 1, tzinfo=UTC)
SENTINEL_ID = -7_777_777
_SQL: dict[tuple, tuple[float, str, list]] = {}
MATCHED = "segment_sync_matched"  # the temporary table of a full recompute's evaluation


def scoped_sql(store, segment: Segment, node: Node, scope: list[int], now: datetime) -> tuple[str, list]:
    """The compiled query of ``segment`` narrowed to ``scope``. For one customer the compiled SQL is built
    once (with a sentinel customer id and a sentinel "now" far in the future) and reused for a minute with
    the real id and the real "now" substituted: building Django queries costs more than running them.
    Every "now"-derived parameter is now plus a fixed offset, except calendar windows (not cached)."""
    cacheable = len(scope) == 1 and not any(
        isinstance(n, Performed) and n.window is not None and n.window.same_month_last_year
        for n in walk(node)
    )
    if not cacheable:
        return (
            matching_customers(store, node, now=now, scope=scope, reuse_store_facts=True)
            .order_by()
            .values("id")
            .query.sql_with_params()
        )
    key = (store.pk, store.created_at, segment.pk, segment.version, segment.updated_at)
    hit = _SQL.get(key)
    if hit is None or hit[0] < time.monotonic():
        sql, params = (
            matching_customers(store, node, now=SENTINEL_NOW, scope=[SENTINEL_ID], reuse_store_facts=True)
            .order_by()
            .values("id")
            .query.sql_with_params()
        )
        hit = _SQL[key] = (time.monotonic() + SHARED_TTL, sql, list(params))
    shift = now - SENTINEL_NOW
    return hit[1], [_substitute(p, scope[0], shift) for p in hit[2]]


def _substitute(param, customer_id: int, shift):
    if isinstance(param, int) and not isinstance(param, bool) and param == SENTINEL_ID:
        return customer_id
    if isinstance(param, datetime) and param.year >= 2150:
        return param + shift
    if (
        isinstance(param, str)
        and param[:2] in ("21", "22")
        and param[:4].isdigit()
        and int(param[:4]) >= 2150
    ):
        try:
            moved = datetime.fromisoformat(param).replace(tzinfo=UTC) + shift
        except ValueError:
            return param
        return connection.ops.adapt_datetimefield_value(moved)
    return param


def current_stays(segment_ids, customer_ids):
    return SegmentMembership.objects.filter(
        segment_id__in=list(segment_ids), customer_id__in=list(customer_ids), exited_at__isnull=True
    ).values_list("segment_id", "customer_id")


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
