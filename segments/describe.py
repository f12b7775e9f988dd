"""Plain-language description of a parsed rule tree, for the admin editor and the API."""

from __future__ import annotations

from datetime import timedelta

from .rules import And, Attribute, InSegment, Node, Not, Or, Percentile, Performed, Prediction
from .rules.nodes import PropertyFilter, Window

_OPS = {
    "eq": "is",
    "neq": "is not",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "between": "is between",
    "before": "is before",
    "after": "is after",
    "is_set": "is set",
    "not_set": "is not set",
    "has": "has tag",
    "has_not": "does not have tag",
}
_DAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def span(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return str(d)


def _value(v) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    if isinstance(v, timedelta):
        return span(v)
    if hasattr(v, "isoformat"):
        return v.strftime("%Y-%m-%d %H:%M UTC")
    return repr(v) if isinstance(v, str) else str(v)


def _filter(f: PropertyFilter) -> str:
    return f"{f.name} {_OPS[f.op]} {_value(f.value)}"


def _window(w: Window) -> str:
    if w.same_month_last_year:
        return "in this month last year"
    if w.relative:
        if w.last and w.until:
            return f"between {span(w.last)} and {span(w.until)} ago"
        return f"in the last {span(w.last)}" if w.last else f"more than {span(w.until)} ago"
    parts = []
    if w.start:
        parts.append(f"since {_value(w.start)}")
    if w.end:
        parts.append(f"before {_value(w.end)}")
    return " and ".join(parts)


def describe(node: Node, depth: int = 0) -> str:
    if isinstance(node, (And, Or)):
        joiner = " and " if isinstance(node, And) else " or "
        text = joiner.join(describe(c, depth + 1) for c in node.children)
        return f"({text})" if depth else text
    if isinstance(node, Not):
        if isinstance(node.child, Performed):
            return describe(node.child, depth).replace("did ", "did not do ", 1)
        return f"not ({describe(node.child, depth + 1)})"
    if isinstance(node, InSegment):
        return f"is in segment “{node.name}”"
    if isinstance(node, Performed):
        what = " or ".join(node.events)
        text = f"did {what}"
        if node.filters:
            text += " where " + " and ".join(_filter(f) for f in node.filters)
        if node.at_most is None and node.at_least != 1:
            text += f" at least {node.at_least} times"
        elif node.at_most is not None:
            text += (
                f" exactly {node.at_least} times"
                if node.at_least == node.at_most
                else f" between {node.at_least} and {node.at_most} times"
            )
        if node.count_distinct:
            text += f" (counting different {node.count_distinct})"
        if node.group_by:
            text += f" for the same {node.group_by}"
        if node.window:
            text += " " + _window(node.window)
        if node.hours:
            text += f" between {node.hours[0]}:00 and {node.hours[1]}:00 in their time zone"
        if node.weekdays:
            text += " on " + ", ".join(_DAYS[d] for d in sorted(node.weekdays))
        for fu in node.not_followed_by:
            later = f"{span(fu.gap)} after" if fu.gap else "after"
            cond = (" where " + " and ".join(_filter(f) for f in fu.filters)) if fu.filters else ""
            text += f", with no {' or '.join(fu.events)}{cond} {later}"
        return text
    if isinstance(node, Attribute):
        if node.op in ("has", "has_not"):
            return f"{_OPS[node.op]} {node.value!r}"
        return _field_text(node.field.replace("_", " "), node.op, node.value)
    if isinstance(node, Prediction):
        return _field_text("predicted " + node.field.replace("_", " "), node.op, node.value)
    if isinstance(node, Percentile):
        return f"is in the {node.direction} {node.percent:g}% of customers by {node.field.replace('_', ' ')}"
    return "?"


def _field_text(name: str, op: str, value) -> str:
    if op == "within_last":
        return f"{name} is within the last {span(value)}"
    if op == "more_than_ago":
        return f"{name} is more than {span(value)} ago"
    if op == "within_next":
        return f"{name} is within the next {span(value)}"
    if op in ("is_set", "not_set"):
        return f"{name} {_OPS[op]}"
    if op == "between":
        return f"{name} is between {value[0]} and {value[1]}"
    return f"{name} {_OPS[op]} {_value(value)}"
