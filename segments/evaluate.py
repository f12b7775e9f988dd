"""Evaluate a rule tree: ``matching_customers`` (batch) and ``customer_matches`` (one customer) run the
same compiled query; the second only narrows it to one customer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import EmptyResultSet
from django.db.models import QuerySet
from django.utils import timezone

from shopconnect.timeline.models import Customer, Event, Store

from .compiler import Context, compile_rule
from .rules import Node, parse, parse_where


def matching_customers(
    store: Store,
    definition: dict | Node,
    *,
    now: datetime | None = None,
    scope: Sequence[int] | None = None,
    segment_id: int | None = None,
    reuse_store_facts: bool = False,
) -> QuerySet[Customer]:
    """The store's (not deleted) customers that match. Raises ``RuleError`` for an invalid tree."""
    node = definition if not isinstance(definition, dict) else parse(definition, store, segment_id=segment_id)
    ctx = Context(store=store, now=now or timezone.now(), scope=scope, reuse_store_facts=reuse_store_facts)
    qs = Customer.objects.filter(store=store, deleted_at__isnull=True)
    if scope is not None:
        qs = qs.filter(pk__in=list(scope))
    return qs.filter(compile_rule(node, ctx))


def customer_matches(
    store: Store, definition: dict | Node, customer_id: int, *, now: datetime | None = None
) -> bool:
    return matching_customers(store, definition, now=now, scope=[customer_id]).exists()


def member_ids_sql(qs: QuerySet[Customer]) -> tuple[str, list]:
    """``SELECT id`` of a ``matching_customers`` queryset as SQL and parameters. A rule Django proves
    empty while compiling (say "orders count below -1") is a query that matches nobody, not an error."""
    try:
        sql, params = qs.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:
        table = Customer._meta.db_table
        return f"SELECT id FROM {table} WHERE 1 = 0", []
    return sql, list(params)


def matching_events(events: QuerySet[Event], event_type: str, where) -> QuerySet[Event]:
    """The events of ``events`` that pass property filters ``where`` (``parse_where``: a flow trigger's
    filters), compiled exactly as a ``performed`` condition's ``where``. Raises ``RuleError`` when invalid."""
    from .compiler import _property_q

    for f in parse_where(where, event_type):
        events = events.filter(_property_q(f))
    return events
