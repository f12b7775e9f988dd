"""A slow, obviously-correct evaluator in plain Python: the oracle the compiled SQL is compared with."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from segments.compiler import store_tz, top_count, valid_tz, window_bounds
from segments.predictions.models import CustomerPrediction
from segments.rules import And, Attribute, InSegment, Not, Or, Percentile, Performed, Prediction
from segments.rules import vocab as w
from segments.sqlfuncs import safe_number
from shopconnect.timeline.localtime import local_part
from shopconnect.timeline.models import Customer, CustomerTag, Event


def _text(value):
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Reference:
    def __init__(self, store, now: datetime):
        self.store, self.now = store, now
        self.customers = [c for c in Customer.objects.filter(store=store) if c.deleted_at is None]
        self.events = defaultdict(list)
        for e in Event.objects.filter(store=store, customer__isnull=False):
            self.events[e.customer_id].append(e)
        self.tags = defaultdict(set)
        for t in CustomerTag.objects.filter(customer__store=store):
            self.tags[t.customer_id].add(t.tag)
        self.predictions = {p.customer_id: p for p in CustomerPrediction.objects.filter(store=store)}

    def members(self, node) -> set[int]:
        return {c.pk for c in self.customers if self.matches(node, c)}

    def matches(self, node, c) -> bool:
        if isinstance(node, And):
            return all(self.matches(n, c) for n in node.children)
        if isinstance(node, Or):
            return any(self.matches(n, c) for n in node.children)
        if isinstance(node, Not):
            return not self.matches(node.child, c)
        if isinstance(node, InSegment):
            return self.matches(node.child, c)
        if isinstance(node, Performed):
            return self.performed(node, c)
        if isinstance(node, Attribute):
            if node.kind == w.TAGS:
                return (node.value in self.tags[c.pk]) == (node.op == "has")
            return compare(getattr(c, w.ATTRIBUTES[node.field][0]), node.kind, node.op, node.value, self.now)
        if isinstance(node, Prediction):
            p = self.predictions.get(c.pk)
            return p is not None and compare(
                getattr(p, w.PREDICTIONS[node.field][0]), node.kind, node.op, node.value, self.now
            )
        if isinstance(node, Percentile):
            values = [getattr(x, node.field) for x in self.customers if getattr(x, node.field) is not None]
            mine = getattr(c, node.field)
            if not values or mine is None:
                return False
            ranked = sorted(values, reverse=node.direction == "top")
            threshold = ranked[top_count(len(values), node.percent) - 1]
            return mine >= threshold if node.direction == "top" else mine <= threshold
        raise TypeError(node)

    def tz(self, c) -> str:
        return c.timezone if valid_tz(c.timezone) else store_tz(self.store)

    def event_ok(self, e, types, filters) -> bool:
        return e.type in types and all(prop_ok(e.properties.get(f.name), f) for f in filters)

    def performed(self, node: Performed, c) -> bool:
        mine = self.events[c.pk]
        chosen = []
        for e in mine:
            if not self.event_ok(e, node.events, node.filters):
                continue
            if node.window is not None:
                start, end, inclusive = window_bounds(node.window, self.now)
                if start is not None and e.occurred_at < start:
                    continue
                if end is not None and (e.occurred_at > end if inclusive else e.occurred_at >= end):
                    continue
            if node.hours is not None:
                h = local_part(e.occurred_at, self.tz(c), "hour")
                lo, hi = node.hours
                if not ((lo <= h < hi) if lo < hi else (h >= lo or h < hi)):
                    continue
            if (
                node.weekdays is not None
                and local_part(e.occurred_at, self.tz(c), "isodow") not in node.weekdays
            ):
                continue
            if any(
                self.event_ok(x, fu.events, fu.filters) and x.occurred_at > e.occurred_at + fu.gap
                for fu in node.not_followed_by
                for x in mine
            ):
                continue
            chosen.append(e)

        def measure(events):
            if node.count_distinct:
                return len({_text(e.properties.get(node.count_distinct)) for e in events} - {None})
            return len(events)

        if node.group_by:
            groups = defaultdict(list)
            for e in chosen:
                key = _text(e.properties.get(node.group_by))
                if key is not None:
                    groups[key].append(e)
            count = max((measure(g) for g in groups.values()), default=0)
        else:
            count = measure(chosen)
        return count >= node.at_least and (node.at_most is None or count <= node.at_most)


def prop_ok(raw, f) -> bool:
    value = safe_number(raw) if f.kind == w.NUM else _text(raw)
    if value is None:
        return False
    op = f.op
    return {
        "eq": lambda: value == f.value,
        "neq": lambda: value != f.value,
        "gt": lambda: value > f.value,
        "gte": lambda: value >= f.value,
        "lt": lambda: value < f.value,
        "lte": lambda: value <= f.value,
        "in": lambda: value in f.value,
        "not_in": lambda: value not in f.value,
        "contains": lambda: f.value.lower() in value.lower(),
    }[op]()


def compare(actual, kind, op, value, now) -> bool:
    if op == "is_set":
        return actual not in (None, "")
    if op == "not_set":
        return actual in (None, "")
    if actual is None:
        return False
    if isinstance(actual, Decimal) and isinstance(value, float):
        value = Decimal(str(value))
    if op == "eq":
        return actual == value
    if op == "neq":
        return actual != value
    if op in ("gt", "after"):
        return actual > value
    if op == "gte":
        return actual >= value
    if op in ("lt", "before"):
        return actual < value
    if op == "lte":
        return actual <= value
    if op == "between":
        lo, hi = value
        return lo <= actual <= hi
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    if op == "within_last":
        return actual >= now - value
    if op == "more_than_ago":
        return actual < now - value
    if op == "within_next":
        return now <= actual <= now + value
    raise ValueError(op)
