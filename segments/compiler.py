"""The one compiler: a parsed rule tree -> a Django ``Q`` over ``Customer`` (``Exists`` and ``IN``
subqueries over the events table), for PostgreSQL and SQLite alike.

Batch and single-customer evaluation use this same compilation; ``scope`` only narrows the customers
looked at (and the event subqueries, so one customer's check reads one customer's events).
Semantics are two-valued: a missing value (NULL field, absent property, no prediction row) makes a
condition false, and ``not`` is its exact complement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Sum, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)

from shopconnect.timeline.localtime import valid_zone, zone_of
from shopconnect.timeline.models import Customer, CustomerTag, Event, Store

from .predictions.models import CustomerPrediction
from .rules import vocab as w
from .rules.nodes import (
    And,
    Attribute,
    InSegment,
    Node,
    Not,
    Or,
    Percentile,
    Performed,
    Prediction,
    PropertyFilter,
    Window,
)
from .sqlfuncs import SafeNumber

_CMP = {"eq": Exact, "gt": GreaterThan, "gte": GreaterThanOrEqual, "lt": LessThan, "lte": LessThanOrEqual}


def valid_tz(name: str | None) -> bool:
    return valid_zone(name)


def store_tz(store: Store) -> str:
    return zone_of(None, store.timezone)


def top_count(n: int, percent: float) -> int:
    """How many of ``n`` ranked customers are in the top/bottom ``percent`` (at least one)."""
    return max(1, math.ceil(round(n * percent / 100, 9)))


def same_month_last_year(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year - 1, now.month, 1, tzinfo=UTC)
    end = datetime(now.year - 1 + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


#: (store id, what) -> (expires at monotonic, value): store-wide facts the real-time path may reuse briefly
_SHARED: dict[tuple, tuple[float, object]] = {}
SHARED_TTL = 60.0


@dataclass
class Context:
    """``reuse_store_facts``: the real-time path reuses percentile thresholds for up to a minute (they
    are store-wide, not about the customer at hand); batch and sweep never do."""

    store: Store
    now: datetime
    scope: Sequence[int] | None = None
    reuse_store_facts: bool = False

    def store_fact(self, what: tuple, compute):
        if not self.reuse_store_facts:
            return compute()
        key = (self.store.pk, self.store.created_at, *what)
        hit = _SHARED.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        value = compute()
        _SHARED[key] = (time.monotonic() + SHARED_TTL, value)
        return value


def compile_rule(node: Node, ctx: Context) -> Q:
    if isinstance(node, And):
        q = Q()
        for child in node.children:
            q &= compile_rule(child, ctx)
        return q
    if isinstance(node, Or):
        q = Q(pk__in=[])
        for child in node.children:
            q |= compile_rule(child, ctx)
        return q
    if isinstance(node, Not):
        return ~compile_rule(node.child, ctx)
    if isinstance(node, InSegment):
        return compile_rule(node.child, ctx)
    if isinstance(node, Performed):
        return _performed(node, ctx)
    if isinstance(node, Attribute):
        if node.kind == w.TAGS:
            has = Exists(CustomerTag.objects.filter(customer_id=OuterRef("pk"), tag=node.value))
            return Q(has) if node.op == "has" else ~Q(has)
        return _field_q(w.ATTRIBUTES[node.field][0], node.kind, node.op, node.value, ctx.now, nullable=True)
    if isinstance(node, Prediction):
        cond = _field_q(w.PREDICTIONS[node.field][0], node.kind, node.op, node.value, ctx.now, nullable=True)
        return Q(Exists(CustomerPrediction.objects.filter(cond, customer_id=OuterRef("pk"))))
    if isinstance(node, Percentile):
        return _percentile(node, ctx)
    raise TypeError(f"cannot compile {node!r}")  # unreachable for parsed trees: fail closed


def _field_q(name: str, kind: str, op: str, value, now: datetime, nullable: bool) -> Q:
    present = Q(**{f"{name}__isnull": False})
    if op == "is_set":
        return present & ~Q(**{name: ""}) if kind in (w.STR, w.CHOICE) else present
    if op == "not_set":
        return ~(present & ~Q(**{name: ""})) if kind in (w.STR, w.CHOICE) else ~present
    if op in _CMP:
        return Q(**{f"{name}__{op if op != 'eq' else 'exact'}": value})
    if op == "neq":
        return present & ~Q(**{name: value})
    if op == "between":
        return Q(**{f"{name}__gte": value[0], f"{name}__lte": value[1]})
    if op == "in":
        return Q(**{f"{name}__in": list(value)})
    if op == "not_in":
        return present & ~Q(**{f"{name}__in": list(value)})
    if op == "before":
        return Q(**{f"{name}__lt": value})
    if op == "after":
        return Q(**{f"{name}__gt": value})
    if op == "within_last":
        return Q(**{f"{name}__gte": now - value})
    if op == "more_than_ago":
        return Q(**{f"{name}__lt": now - value})
    if op == "within_next":
        return Q(**{f"{name}__gte": now, f"{name}__lte": now + value})
    raise ValueError(f"operator {op!r}")


def _property_q(f: PropertyFilter) -> Q:
    raw = KeyTextTransform(f.name, "properties")
    expr = SafeNumber(raw) if f.kind == w.NUM else Cast(raw, TextField())
    present = Q(IsNull(expr, False))
    if f.op in _CMP:
        return Q(_CMP[f.op](expr, f.value))
    if f.op == "neq":
        return present & ~Q(Exact(expr, f.value))
    if f.op == "in":
        return Q(In(expr, list(f.value)))
    if f.op == "not_in":
        return present & ~Q(In(expr, list(f.value)))
    if f.op == "contains":
        return Q(IContains(expr, f.value))
    raise ValueError(f"operator {f.op!r}")


def window_bounds(window: Window, now: datetime) -> tuple[datetime | None, datetime | None, bool]:
    """(start inclusive, end, end inclusive?) of a window at ``now``."""
    if window.same_month_last_year:
        start, end = same_month_last_year(now)
        return start, end, False
    if window.relative:
        return (
            (now - window.last if window.last else None),
            (now - window.until if window.until else None),
            True,
        )
    return window.start, window.end, False


def _events(types, filters, ctx: Context):
    """The events a condition looks at, of any store: ``_store`` narrows them where it is needed."""
    qs = Event.objects.filter(type__in=list(types))
    for f in filters:
        qs = qs.filter(_property_q(f))
    return qs


def _performed(node: Performed, ctx: Context) -> Q:
    qs = _events(node.events, node.filters, ctx)
    if node.window is not None:
        start, end, inclusive = window_bounds(node.window, ctx.now)
        if start is not None:
            qs = qs.filter(occurred_at__gte=start)
        if end is not None:
            qs = qs.filter(**{"occurred_at__lte" if inclusive else "occurred_at__lt": end})
    # Local hours and weekdays are stored with each event (shopconnect.timeline.localtime): plain
    # comparisons on indexed integers, NULL (not computed) never matches.
    if node.hours is not None:
        lo, hi = node.hours
        if lo < hi:
            qs = qs.filter(local_hour__gte=lo, local_hour__lt=hi)
        else:  # past midnight: 22:00 to 06:00
            qs = qs.filter(Q(local_hour__gte=lo) | Q(local_hour__lt=hi))
    if node.weekdays is not None:
        qs = qs.filter(local_weekday__in=sorted(node.weekdays))
    for fu in node.not_followed_by:
        later = _store(_events(fu.events, fu.filters, ctx), ctx, correlated=True)
        later = later.filter(customer_id=OuterRef("customer_id"))
        later = later.filter(
            occurred_at__gt=OuterRef("occurred_at") + fu.gap if fu.gap else OuterRef("occurred_at")
        )
        qs = qs.filter(~Exists(later))
    q = _at_least(qs, node, node.at_least, ctx) if node.at_least > 0 else Q()
    if node.at_most is not None:
        q &= ~_at_least(qs, node, node.at_most + 1, ctx)
    if node.total is not None:
        q &= _total(qs, node.total, ctx)
    return q


def _total(qs, total, ctx: Context) -> Q:
    """Customers whose matching events add up (the number property ``total.name``) to ``op value``."""
    inner = _store(qs, ctx).filter(customer_id__isnull=False)
    if ctx.scope is not None:
        inner = inner.filter(customer_id__in=list(ctx.scope))
    summed = Sum(SafeNumber(KeyTextTransform(total.name, "properties")))
    inner = inner.order_by().values("customer_id").annotate(_total=summed)
    return Q(pk__in=inner.filter(**{f"_total__{total.op}": total.value}).values("customer_id"))


def _store(qs, ctx: Context, *, correlated: bool = False):
    """Events of the store. ``correlated``: the query is tied to one customer's row (``customer_id =
    OuterRef``). SQLite, which has no statistics, picks the (store, type, ...) index for such a subquery
    when it names the store, scanning every event of the type once per customer (13 s for "viewed a
    product" on the 500-customer demo); without the store term it can only use the (customer, type,
    time) index (milliseconds), and the customer's events are the store's anyway. PostgreSQL plans with
    statistics and keeps the store term (its index serves the semi-join at a million customers)."""
    if correlated and connection.vendor == "sqlite":
        return qs
    return qs.filter(store_id=ctx.store.pk)


def _at_least(qs, node: Performed, n: int, ctx: Context) -> Q:
    if n == 1 and node.group_by is None and node.count_distinct is None:
        return Q(Exists(_store(qs, ctx, correlated=True).filter(customer_id=OuterRef("pk"))))
    inner = _store(qs, ctx).filter(customer_id__isnull=False)
    if ctx.scope is not None:
        inner = inner.filter(customer_id__in=list(ctx.scope))
    keys = ["customer_id"]
    if node.group_by:
        inner = inner.annotate(_group=Cast(KeyTextTransform(node.group_by, "properties"), TextField()))
        inner = inner.filter(_group__isnull=False)
        keys.append("_group")
    counted = (
        Count(Cast(KeyTextTransform(node.count_distinct, "properties"), TextField()), distinct=True)
        if node.count_distinct
        else Count("id")
    )
    inner = inner.order_by().values(*keys).annotate(_n=counted).filter(_n__gte=n).values("customer_id")
    return Q(pk__in=inner)


def _percentile(node: Percentile, ctx: Context) -> Q:
    name = node.field
    base = Customer.objects.filter(store=ctx.store, deleted_at__isnull=True, **{f"{name}__isnull": False})

    def compute():
        n = base.count()
        if n == 0:
            return None
        order = F(name).desc() if node.direction == "top" else F(name).asc()
        return base.order_by(order).values_list(name, flat=True)[top_count(n, node.percent) - 1]

    threshold = ctx.store_fact(("percentile", name, node.direction, node.percent), compute)
    if threshold is None:
        return Q(pk__in=[])
    return Q(**{f"{name}__gte" if node.direction == "top" else f"{name}__lte": threshold})


def local_now(store: Store) -> datetime:  # pragma: no cover - convenience for describers
    return datetime.now(ZoneInfo(store_tz(store)))


__all__ = [
    "Context",
    "compile_rule",
    "top_count",
    "valid_tz",
    "window_bounds",
    "same_month_last_year",
    "timedelta",
]
