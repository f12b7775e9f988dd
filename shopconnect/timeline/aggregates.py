"""Per-customer aggregates, computed from the timeline in SQL.

``recompute_aggregates`` is the definition: ``rebuild_aggregates`` calls it for every customer, and
``record_events`` calls ``refresh_after_insert`` for the customers a batch touched. That recomputes the
columns the batch's event types can change, except on PostgreSQL where a customer's new events can only
add (activity, email, placed orders and refunds of orders not cancelled): there the events' contribution is
added to the stored values in one UPDATE (``_add_contributions``). The timeline only grows (visitor merges
and cancellations are recomputed), so stored values plus the contribution equal the recomputation; a
property test checks both paths against a rebuild and a plain-Python reference.

Money: lifetime value is the sum of placed orders minus their refunds; a cancelled order counts neither
as an order nor as money (its refunds are ignored too, so nothing nets out twice).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.sql.subqueries import UpdateQuery

from . import vocabulary as v
from .binary import execute_binary
from .models import Customer, Event

if TYPE_CHECKING:
    from .canonical import CanonicalEvent

MONEY = DecimalField(max_digits=14, decimal_places=2)
ORDER_FIELDS = ("orders_count", "total_spent", "average_order_value", "first_order_at", "last_order_at")
ALL_FIELDS = ORDER_FIELDS + ("last_seen_at", "last_opened_at", "last_clicked_at", "emails_received")


def fields_for_types(types: Iterable[str]) -> set[str]:
    """Which aggregate columns events of these types can change."""
    fields: set[str] = set()
    for t in types:
        if t in v.ORDER_MONEY_TYPES:
            fields.update(ORDER_FIELDS)
        if v.is_activity(t):
            fields.add("last_seen_at")
        if t == v.EMAIL_OPENED:
            fields.add("last_opened_at")
        if t == v.EMAIL_CLICKED:
            fields.add("last_clicked_at")
        if t == v.EMAIL_SENT:
            fields.add("emails_received")
    return fields


def _scalar(qs, expression, output_field=None):
    """A correlated scalar subquery: one aggregate over the outer customer's events."""
    qs = qs.order_by().values("customer_id").annotate(result=expression).values("result")
    return Subquery(qs, output_field=output_field) if output_field else Subquery(qs)


@cache
def _expressions() -> dict:
    """Built once: the expressions are resolved (copied) per query, so sharing them is safe."""
    own = Event.objects.filter(customer_id=OuterRef("pk"))
    cancelled = Event.objects.filter(
        customer_id=OuterRef("customer_id"), type=v.ORDER_CANCELLED, order_ref=OuterRef("order_ref")
    )
    placed = own.filter(type=v.ORDER_PLACED).filter(~Exists(cancelled))
    refunds = own.filter(type=v.ORDER_REFUNDED).filter(~Exists(cancelled))
    zero = Value(0, output_field=MONEY)
    return {
        "orders_count": Coalesce(_scalar(placed, Count("id")), Value(0), output_field=IntegerField()),
        "total_spent": ExpressionWrapper(
            Coalesce(_scalar(placed, Sum("amount"), MONEY), zero)
            - Coalesce(_scalar(refunds, Sum("amount"), MONEY), zero),
            output_field=MONEY,
        ),
        "first_order_at": _scalar(placed, Min("occurred_at")),
        "last_order_at": _scalar(placed, Max("occurred_at")),
        "last_seen_at": _scalar(
            own.filter(Q(type__in=v.ACTIVITY_TYPES) | Q(type__startswith="custom.")), Max("occurred_at")
        ),
        "last_opened_at": _scalar(own.filter(type=v.EMAIL_OPENED), Max("occurred_at")),
        "last_clicked_at": _scalar(own.filter(type=v.EMAIL_CLICKED), Max("occurred_at")),
        "emails_received": Coalesce(
            _scalar(own.filter(type=v.EMAIL_SENT), Count("id")), Value(0), output_field=IntegerField()
        ),
    }


def recompute_aggregates(customer_ids: Iterable[int], fields: Iterable[str] = ALL_FIELDS) -> None:
    """Set the given aggregate columns of these customers from their events (one or two UPDATEs)."""
    ids = list(customer_ids)
    fields = frozenset(fields)
    if not ids or not fields:
        return
    statements = _compiled_statements(fields, connection.vendor)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            for sql, params in statements:
                cursor.execute(sql.replace(_ID_SLOT, ", ".join(["%s"] * len(chunk))), [*params, *chunk])


_ID_SLOT = "__customer_ids__"


@cache
def _compiled_statements(fields: frozenset[str], vendor: str) -> list[tuple[str, list]]:
    """The UPDATE statements for a set of columns, compiled by the ORM once and reused.

    Compiling these correlated subqueries costs more than running them for a small batch, and
    ``record_events`` runs them for every batch. The id list is the statement's last parameter.
    """
    expressions = _expressions()
    updates = {name: expressions[name] for name in fields if name in expressions}
    statements = []
    if updates:
        statements.append(updates)
    if "average_order_value" in fields:
        # A second statement: SQL evaluates every SET expression against the old row.
        statements.append({"average_order_value": Case(
            # The division in floating point: SQLite stores a whole amount (21.00) as an integer, and its
            # 21 / 2 is 10 (every decimal expression is cast to NUMERIC there, so a decimal factor cannot help).
            When(orders_count__gt=0, then=ExpressionWrapper(
                ExpressionWrapper(F("total_spent") * Value(1.0), FloatField()) / F("orders_count"), MONEY)),
            default=Value(0, output_field=MONEY),
            output_field=MONEY,
        )})
    compiled = []
    for values in statements:
        query = Customer.objects.filter(id__in=[0]).query.chain(UpdateQuery)
        query.add_update_values(values)
        compiler = query.get_compiler(connection=connection)
        compiler.pre_sql_setup()
        sql, params = compiler.as_sql()
        if not sql.endswith("IN (%s)") or params[-1] != 0:
            raise RuntimeError(f"unexpected aggregate UPDATE shape: {sql[-60:]}")
        compiled.append((sql[: -len("(%s)")] + f"({_ID_SLOT})", list(params[:-1])))
    return compiled


def refresh_after_insert(new_events: Sequence[tuple[CanonicalEvent, int]], merged: set[int]) -> None:
    """Bring up to date the customers of these newly inserted events and those whose visitor history moved.

    At most a few statements per batch: customers whose order money changed (or whose history moved)
    get every column recomputed; the others only the columns their event types can change.
    """
    touched: dict[int, set[str]] = defaultdict(set)
    for event, customer_id in new_events:
        touched[customer_id].add(event.type)
    recompute = set(merged)
    if connection.vendor == "postgresql":
        recompute |= {cid for cid, types in touched.items() if v.ORDER_CANCELLED in types}
        recompute |= _touching_cancelled_orders(new_events, recompute)
        _add_contributions([(e, cid) for e, cid in new_events if cid not in recompute])
    else:
        recompute |= set(touched)
    groups: dict[frozenset[str], list[int]] = defaultdict(list)
    for customer_id in recompute:
        fields = fields_for_types(touched.get(customer_id, ()))
        if customer_id in merged or "orders_count" in fields:
            fields = set(ALL_FIELDS)
        elif fields:
            fields = {name for name in ALL_FIELDS if name not in ORDER_FIELDS}
        if fields:
            groups[frozenset(fields)].append(customer_id)
    for fields, ids in groups.items():
        recompute_aggregates(sorted(ids), fields)


def _touching_cancelled_orders(new_events: Sequence[tuple[CanonicalEvent, int]], skip: set[int]) -> set[int]:
    """Customers with a new placement or refund of an order whose cancellation is already stored."""
    refs = {
        (cid, e.order_ref) for e, cid in new_events
        if cid not in skip and e.type in (v.ORDER_PLACED, v.ORDER_REFUNDED)
    }
    if not refs:
        return set()
    cancelled = Event.objects.filter(
        customer_id__in={cid for cid, _ in refs}, type=v.ORDER_CANCELLED
    ).values_list("customer_id", "order_ref")
    return {cid for cid, ref in cancelled if (cid, ref) in refs}


_ADD_SQL = """
UPDATE {customer} AS c SET
    orders_count = c.orders_count + d.orders,
    total_spent = c.total_spent + d.spent,
    average_order_value = CASE WHEN c.orders_count + d.orders > 0
        THEN round((c.total_spent + d.spent) / (c.orders_count + d.orders), 2) ELSE 0 END,
    first_order_at = LEAST(c.first_order_at, d.first_order),
    last_order_at = GREATEST(c.last_order_at, d.last_order),
    last_seen_at = GREATEST(c.last_seen_at, d.seen),
    last_opened_at = GREATEST(c.last_opened_at, d.opened),
    last_clicked_at = GREATEST(c.last_clicked_at, d.clicked),
    emails_received = c.emails_received + d.sent
FROM unnest(%s::bigint[], %s::integer[], %s::numeric[], %s::timestamptz[], %s::timestamptz[],
            %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::integer[])
     AS d(id, orders, spent, first_order, last_order, seen, opened, clicked, sent)
WHERE c.id = d.id
"""


def _add_contributions(new_events: Sequence[tuple[CanonicalEvent, int]]) -> None:
    """PostgreSQL: add what new (additive) events contribute to each customer's stored aggregates.

    The same definitions as ``_expressions``: orders and money from placed orders minus refunds, last seen
    from activity, last open and click, emails received from sends. LEAST and GREATEST ignore NULLs.
    """
    rows: dict[int, list] = {}
    for event, cid in new_events:
        t, at = event.type, event.occurred_at
        row = rows.get(cid)
        if row is None:
            row = rows[cid] = [cid, 0, Decimal(0), None, None, None, None, None, 0]
        if t == v.ORDER_PLACED:
            row[1] += 1
            row[2] += event.amount or 0
            row[3] = at if row[3] is None or at < row[3] else row[3]
            row[4] = at if row[4] is None or at > row[4] else row[4]
        elif t == v.ORDER_REFUNDED:
            row[2] -= event.amount or 0
        elif t == v.EMAIL_SENT:
            row[8] += 1
        if v.is_activity(t):
            row[5] = at if row[5] is None or at > row[5] else row[5]
        if t == v.EMAIL_OPENED:
            row[6] = at if row[6] is None or at > row[6] else row[6]
        elif t == v.EMAIL_CLICKED:
            row[7] = at if row[7] is None or at > row[7] else row[7]
    changed = [row for row in rows.values() if row[1] or row[2] or row[8] or any(row[3:8])]
    if not changed:
        return
    changed.sort()  # lock customers in id order: concurrent batches then wait instead of deadlocking
    columns = [list(column) for column in zip(*changed, strict=True)]
    execute_binary(_ADD_SQL.format(customer=connection.ops.quote_name(Customer._meta.db_table)), columns)


def rebuild_aggregates(store_id: int | None = None, chunk: int = 2000) -> int:
    """Recompute every aggregate of every customer (of one store); returns how many customers."""
    qs = Customer.objects.order_by("id")
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    done, last_id = 0, 0
    while True:
        ids = list(qs.filter(id__gt=last_id).values_list("id", flat=True)[:chunk])
        if not ids:
            return done
        recompute_aggregates(ids)
        done += len(ids)
        last_id = ids[-1]
