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
from .evaluate import matching_customers, member_ids_sql
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
    match_sql, match_params = member_ids_sql(matching_customers(segment.store, node, now=now, scope=scope))
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


_SQL: dict[tuple, tuple[float, str, list, dict[int, str]]] = {}
MATCHED = "segment_sync_matched"  # the temporary table of a full recompute's evaluation
# Two probes: a rule compiled for (customer A, time A) and for (customer B, time B) differs exactly in the
# parameters that come from the customer or the time; every other parameter is the rule's own.
_PROBES = ((-1, datetime(2000, 1, 1, tzinfo=UTC)), (-2, datetime(2001, 6, 2, 12, 30, tzinfo=UTC)))


def _compiled(store, node: Node, scope: list[int], now: datetime) -> tuple[str, list]:
    return member_ids_sql(matching_customers(store, node, now=now, scope=scope, reuse_store_facts=True))


def scoped_sql(store, segment: Segment, node: Node, scope: list[int], now: datetime) -> tuple[str, list]:
    """The compiled query of ``segment`` narrowed to ``scope``, exactly as ``_compiled`` builds it.

    For one customer the SQL is built once and reused for a minute (building Django queries costs more
    than running them): it is compiled for two probe customers at two probe times, and the parameters
    that differ between the two are the customer's id or derived from "now" (always now plus a fixed
    offset: windows and relative dates; calendar windows are not cached); those positions get the real id
    or the real now plus the same offset. A rule's own values never change between the probes, so none
    of them can be mistaken for the customer or the time, whatever they are.
    """
    cacheable = len(scope) == 1 and not any(
        isinstance(n, Performed) and n.window is not None and n.window.same_month_last_year
        for n in walk(node)
    )
    if not cacheable:
        return _compiled(store, node, scope, now)
    key = (store.pk, store.created_at, segment.pk, segment.version, segment.updated_at)
    hit = _SQL.get(key)
    if hit is None or hit[0] < time.monotonic():
        hit = _template(store, node)
        if hit is None:
            return _compiled(store, node, scope, now)
        _SQL[key] = hit
    _, sql, params, moving = hit
    shift = now - _PROBES[0][1]
    out = list(params)
    for i, what in moving.items():
        out[i] = scope[0] if what == "id" else _shifted(params[i], shift)
    return sql, out


def _template(store, node: Node):
    """(expires, sql, parameters at probe A, {position: "id" | "time"}), or None when the two probes do
    not give the same statement (then nothing is cached)."""
    (id_a, now_a), (id_b, now_b) = _PROBES
    sql, params = _compiled(store, node, [id_a], now_a)
    sql_b, params_b = _compiled(store, node, [id_b], now_b)
    if sql != sql_b or len(params) != len(params_b):
        return None
    moving: dict[int, str] = {}
    for i, (a, b) in enumerate(zip(params, params_b, strict=True)):
        if a == b:
            continue
        if a == id_a and b == id_b:
            moving[i] = "id"
        elif _as_time(a) is not None and _as_time(b) is not None and (
            _as_time(b) - _as_time(a) == now_b - now_a
        ):
            moving[i] = "time"
        else:
            return None  # a parameter that moves some other way: do not cache
    return time.monotonic() + SHARED_TTL, sql, list(params), moving


def _as_time(param) -> datetime | None:
    if isinstance(param, datetime):
        return param if param.tzinfo else param.replace(tzinfo=UTC)
    if isinstance(param, str):
        try:
            value = datetime.fromisoformat(param)
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _shifted(param, shift):
    """A time parameter moved by ``shift``, in the form the database adapter gave it."""
    if isinstance(param, datetime):
        return param + shift
    return connection.ops.adapt_datetimefield_value(_as_time(param) + shift)


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
