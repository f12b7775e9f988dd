"""Plain-language description of a parsed rule tree, for the admin editor and the API."""

from __future__ import annotations

from datetime import timedelta

from shopconnect.timeline import vocabulary as v

from .rules import And, Attribute, InSegment, Node, Not, Or, Percentile, Performed, Prediction
from .rules import vocab as w
from .rules.nodes import PropertyFilter, Window
from .rules.publish import OP_LABELS

_DAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def span(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
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


def _lower(text: str) -> str:
    """Lowercase the first letter of a label, unless it starts an acronym ("RFM group")."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _events(types) -> str:
    return " or ".join(f"“{v.label(t)}”" for t in types)


def _prop(types, name: str) -> str:
    found = v.prop(types[0], name)
    return _lower(found.label) if found is not None else name.replace("_", " ")


def _filter(types, f: PropertyFilter) -> str:
    return f"{_prop(types, f.name)} {OP_LABELS[f.op]} {_value(f.value)}"


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
            return _performed(node.child, "has not done")
        if isinstance(node.child, InSegment):
            return f"is not in segment “{node.child.name}”"
        return f"not ({describe(node.child, depth + 1)})"
    if isinstance(node, InSegment):
        return f"is in segment “{node.name}”"
    if isinstance(node, Performed):
        return _performed(node, "has done")
    if isinstance(node, Attribute):
        if node.op in ("has", "has_not"):
            return f"{OP_LABELS[node.op]} {node.value!r}"
        return _field_text(_lower(w.ATTRIBUTES[node.field][2]), node.op, node.value)
    if isinstance(node, Prediction):
        return _field_text(_lower(w.PREDICTIONS[node.field][2]), node.op, node.value)
    if isinstance(node, Percentile):
        by = _lower(w.ATTRIBUTES[node.field][2])
        return f"is in the {node.direction} {node.percent:g}% of customers by {by}"
    return "?"


def _performed(node: Performed, verb: str) -> str:
    text = f"{verb} {_events(node.events)}"
    if node.filters:
        text += " where " + " and ".join(_filter(node.events, f) for f in node.filters)
    if node.at_most is None and node.at_least != 1:
        text += f" at least {node.at_least} times"
    elif node.at_most is not None:
        text += (
            f" exactly {node.at_least} times"
            if node.at_least == node.at_most
            else f" between {node.at_least} and {node.at_most} times"
        )
    if node.total is not None:
        words = {"gt": "more than", "gte": "at least", "lt": "less than", "lte": "at most"}[node.total.op]
        amount = (
            span(timedelta(seconds=node.total.value))
            if node.total.name.endswith("_seconds") and float(node.total.value).is_integer()
            else f"{node.total.value:g}"
        )
        text += f" adding up to {words} {amount} ({_prop(node.events, node.total.name)})"
    if node.count_distinct:
        text += f" (counting different {_prop(node.events, node.count_distinct)})"
    if node.group_by:
        text += f" for the same {_prop(node.events, node.group_by)}"
    if node.window:
        text += " " + _window(node.window)
    if node.hours:
        text += f" between {node.hours[0]}:00 and {node.hours[1]}:00 in their time zone"
    if node.weekdays:
        text += " on " + ", ".join(_DAYS[d] for d in sorted(node.weekdays))
    for fu in node.not_followed_by:
        later = f"{span(fu.gap)} after" if fu.gap else "after"
        cond = (" where " + " and ".join(_filter(fu.events, f) for f in fu.filters)) if fu.filters else ""
        text += f", with no {_events(fu.events)}{cond} {later}"
    return text


def _field_text(name: str, op: str, value) -> str:
    if op == "within_last":
        return f"{name} is within the last {span(value)}"
    if op == "more_than_ago":
        return f"{name} is more than {span(value)} ago"
    if op == "within_next":
        return f"{name} is within the next {span(value)}"
    if op in ("is_set", "not_set"):
        return f"{name} {OP_LABELS[op]}"
    if op == "between":
        return f"{name} is between {value[0]} and {value[1]}"
    return f"{name} {OP_LABELS[op]} {_value(value)}"
