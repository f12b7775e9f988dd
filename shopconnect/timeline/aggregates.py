"""Per-customer aggregates, computed from the timeline in SQL.

``recompute_aggregates`` is the single definition: ``record_events`` calls it for the customers a batch
touched (limited to the columns the batch's event types can change), and ``rebuild_aggregates`` calls it
for every customer. So the incremental values are the full recomputation by construction.

Money: lifetime value is the sum of placed orders minus their refunds; a cancelled order counts neither
as an order nor as money (its refunds are ignored too, so nothing nets out twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
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
from .models import Customer, Event

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
            When(orders_count__gt=0, then=ExpressionWrapper(F("total_spent") / F("orders_count"), MONEY)),
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
