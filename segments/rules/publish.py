"""The rule language's vocabulary as one JSON document, for the segment builder (and anyone else).

``document()`` is generated from the whitelists the parser itself uses (``segments.rules.vocab``, which
reads the canonical event vocabulary), so the builder can only offer what the parser accepts, and a new
event type, property, attribute or prediction appears in the builder without touching its code. The admin
serves it at ``/admin/segments/segment/vocabulary/`` (with ``?store=ID``: that store's segments, for "in
another segment"), the API at ``GET /api/v1/segments/vocabulary/``.

Each operator says which value it takes (``value``): ``none``, ``number``, ``number_pair``, ``string``,
``string_list``, ``choice``, ``choice_list``, ``duration`` ({"days": N}) or ``datetime`` (ISO 8601).
"""

from __future__ import annotations

from shopconnect.timeline import vocabulary as v

from . import limits
from . import vocab as w
from .parser import SUM_OPS, VERSION

OP_LABELS = {
    "eq": "is",
    "neq": "is not",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "between": "is between",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "is_set": "is known",
    "not_set": "is not known",
    "before": "is before",
    "after": "is after",
    "within_last": "is within the last",
    "more_than_ago": "is more than … ago",
    "within_next": "is within the next",
    "has": "has tag",
    "has_not": "does not have tag",
}
COUNT_LABELS = {
    "gte": "at least",
    "gt": "more than",
    "eq": "exactly",
    "lte": "at most",
    "lt": "fewer than",
    "between": "between",
}
SUM_LABELS = {"gt": "more than", "gte": "at least", "lt": "less than", "lte": "at most"}
#: number properties measured in seconds: the builder lets a marketer type minutes or hours instead
SECONDS_SUFFIX = "_seconds"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
KINDS = (
    ("performed", "What someone has done"),
    ("not_performed", "What someone has not done"),
    ("attribute", "Properties about someone"),
    ("prediction", "Predictions about someone"),
    ("percentile", "Top or bottom share of customers"),
    ("in_segment", "In or not in another segment"),
    ("group", "A group of conditions"),
)
WINDOWS = (
    ("any", "at any time"),
    ("last", "in the last"),
    ("between_ago", "between … ago"),
    ("until", "more than … ago"),
    ("dates", "between dates"),
    ("since", "since"),
    ("before", "before"),
    ("same_month_last_year", "in this month last year"),
)


def _value_shape(kind: str, op: str) -> str:
    if op in ("is_set", "not_set"):
        return "none"
    if kind == w.NUM:
        return "number_pair" if op == "between" else "number"
    if kind == w.DATE:
        return "datetime" if op in ("before", "after") else "duration"
    if kind == w.CHOICE:
        return "choice_list" if op in ("in", "not_in") else "choice"
    return "string_list" if op in ("in", "not_in") else "string"


def _ops(kind: str, ops) -> list[dict]:
    return [{"op": op, "label": OP_LABELS[op], "value": _value_shape(kind, op)} for op in ops]


def _choice_label(value: str) -> str:
    return value.replace("_", " ").capitalize() if value else "Unknown"


def _fields(table: dict, kind_ops=w.OPS_BY_KIND) -> list[dict]:
    out = []
    for name, (_model_field, kind, label) in table.items():
        entry = {"name": name, "label": label, "kind": kind, "operators": _ops(kind, kind_ops[kind])}
        if name in w.CHOICES:
            entry["choices"] = [{"value": c, "label": _choice_label(c)} for c in w.CHOICES[name]]
        out.append(entry)
    return out


def _event(e: v.EventType) -> dict:
    return {
        "name": e.name,
        "label": e.label,
        "group": e.group,
        "properties": [
            {"name": name, "label": p.label, "type": p.type, "values": list(p.values)}
            for name, p in e.properties.items()
            if p.filterable
        ],
    }


def document(segments: list[dict] | None = None) -> dict:
    """The vocabulary document; ``segments`` ([{"id", "name"}]) are the ones "in segment" may pick."""
    return {
        "version": VERSION,
        "kinds": [{"type": t, "label": label} for t, label in KINDS],
        "groups": list(v.GROUPS),
        "events": [_event(e) for e in v.EVENTS],
        "custom_events": {
            "pattern": v.CUSTOM_TYPE.pattern,
            "property_pattern": v.CUSTOM_PROPERTY.pattern,
            "property_type": v.STRING,
        },
        "property_operators": {kind: _ops(kind, ops) for kind, ops in w.PROPERTY_OPS.items()},
        "count_operators": [{"op": op, "label": COUNT_LABELS[op]} for op in w.COUNT_OPS],
        "sum_operators": [{"op": op, "label": SUM_LABELS[op]} for op in SUM_OPS],
        "seconds_suffix": SECONDS_SUFFIX,
        "windows": [{"kind": k, "label": label} for k, label in WINDOWS],
        "units": [{"unit": u, "max": w.MAX_UNITS[u]} for u in w.UNITS],
        "weekdays": [{"value": i, "label": name} for i, name in enumerate(WEEKDAYS, start=1)],
        "attributes": _fields(w.ATTRIBUTES),
        "predictions": _fields(w.PREDICTIONS),
        "percentile_fields": [{"name": f, "label": w.ATTRIBUTES[f][2]} for f in w.PERCENTILE_FIELDS],
        "segments": segments or [],
        "limits": {
            "max_depth": limits.MAX_DEPTH,
            "max_children": limits.MAX_CHILDREN,
            "max_conditions": limits.MAX_NODES,
            "max_expanded": limits.MAX_EXPANDED,
        },
    }
