"""Parse a JSON rule tree into typed nodes, rejecting anything invalid with where (a JSON path) and why.

Convenience nodes (``not_performed``, ``since`` windows, count shorthands) are rewritten here into the
few core nodes, so the compiler stays small. Invalid trees never reach evaluation (fail closed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import is_naive, make_aware

from shopconnect.timeline import vocabulary as v

from . import vocab as w
from .limits import MAX_BYTES, MAX_CHILDREN, MAX_DEPTH, MAX_EXPANDED, MAX_NODES
from .nodes import (
    And,
    Attribute,
    FollowUp,
    InSegment,
    Node,
    Not,
    Or,
    Percentile,
    Performed,
    Prediction,
    PropertyFilter,
    Total,
    Window,
)

VERSION = 1
COUNT_OPS = w.COUNT_OPS
SUM_OPS = ("gt", "gte", "lt", "lte")


class RuleError(ValueError):
    """An invalid rule tree; ``path`` says where (``$.rules[1].window.last.days``), the message says why."""

    def __init__(self, path: str, why: str):
        self.path, self.why = path, why
        super().__init__(f"{path}: {why}")


SegmentLoader = Callable[[int], "tuple[str, dict] | None"]

#: every key each object of the language may have; anything else is an error (never silently ignored)
KEYS = {
    "and": ("type", "rules"),
    "or": ("type", "rules"),
    "not": ("type", "rule"),
    "performed": (
        "type", "event", "count", "window", "where", "same", "distinct", "hour_of_day", "day_of_week",
        "not_followed_by", "sum",
    ),
    "attribute": ("type", "field", "op", "value"),
    "prediction": ("type", "field", "op", "value"),
    "percentile": ("type", "field", "direction", "percent"),
    "in_segment": ("type", "segment"),
    "count": ("op", "value"),
    "window": ("last", "until", "start", "end", "since", "same_month_last_year"),
    "where": ("property", "op", "value"),
    "hour_of_day": ("from", "to"),
    "not_followed_by": ("event", "where", "after"),
    "sum": ("property", "op", "value"),
}
KEYS["not_performed"] = KEYS["performed"]


def _keys(raw: Mapping, what: str, path: str, extra: tuple[str, ...] = ()) -> None:
    allowed = KEYS[what] + extra
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        key = unknown[0]
        raise RuleError(
            f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else path,
            f"unknown key {key!r} in {_what(what)}; allowed: {', '.join(allowed)}",
        )


def _what(kind: str) -> str:
    return {
        "count": "a count",
        "window": "a time frame",
        "where": "a property filter",
        "hour_of_day": "a time of day",
        "not_followed_by": "a follow-up",
        "sum": "a sum",
    }.get(kind, f"a {kind!r} rule")


def validate(definition: Any, store=None, *, segment_id: int | None = None) -> Node:
    """``parse`` for forms and serializers: raises Django's ValidationError with the same message."""
    try:
        return parse(definition, store, segment_id=segment_id)
    except RuleError as exc:
        raise ValidationError(str(exc), code="invalid_rule") from exc


def parse(
    definition: Any, store=None, *, segment_id: int | None = None, loader: SegmentLoader | None = None
) -> Node:
    """The typed tree of ``definition``. ``store`` resolves ``in_segment`` references (their trees are
    parsed too, each once, so a reference cycle through ``segment_id`` or any other segment is an error).

    Bounded: at most ``MAX_BYTES`` of JSON and ``MAX_NODES`` conditions in the definition, ``MAX_DEPTH``
    levels of nesting counting referenced segments, ``MAX_EXPANDED`` conditions once references are
    expanded (computed per referenced segment, so a tree of references is rejected without expanding it).
    """
    if not isinstance(definition, Mapping):
        raise RuleError("$", "the definition must be a JSON object")
    _check_size(definition)
    if loader is None and store is not None:
        loader = _db_loader(store)
    stack = (segment_id,) if segment_id else ()
    return _Parser(loader, stack, {}).root(definition)


def parse_where(raw: Any, events: str | list[str], path: str = "$") -> tuple[PropertyFilter, ...]:
    """Property filters on their own (``[{"property", "op", "value"}, ...]`` for ``events``), as the
    builder's "where" mode stores them, e.g. a flow trigger's filters. Same rules and errors as ``where``
    inside a ``performed`` condition."""
    names = _events(events, f"{path}.event")
    if raw is not None and not isinstance(raw, list):
        raise RuleError(path, "expected a list of property filters")
    if raw is not None and len(raw) > MAX_CHILDREN:
        raise RuleError(path, f"at most {MAX_CHILDREN} property filters")
    return _Parser(None, (), {}).filters(raw, names, path)


def _check_size(definition) -> None:
    import json

    try:
        size = len(json.dumps(definition, separators=(",", ":"), default=str))
    except (RecursionError, ValueError) as exc:
        raise RuleError("$", f"the definition is nested too deeply (at most {MAX_DEPTH} levels)") from exc
    if size > MAX_BYTES:
        raise RuleError("$", f"the definition is {size:,} bytes; at most {MAX_BYTES:,}")


def _db_loader(store) -> SegmentLoader:
    def load(segment_id: int):
        from segments.models import Segment

        row = Segment.objects.filter(store=store, pk=segment_id).values_list("name", "definition").first()
        return row

    return load


@dataclass
class _Parsed:
    """A referenced segment, parsed once per ``parse`` call (memo), with its size and height."""

    name: str
    node: Node
    height: int  # levels below its root
    expanded: int  # conditions with its own references expanded


class _Parser:
    def __init__(self, loader: SegmentLoader | None, stack: tuple[int, ...], memo: dict[int, _Parsed]):
        self.loader, self.stack, self.memo = loader, stack, memo
        self.nodes = 0  # conditions in this definition
        self.expanded = 0  # ... plus those of the segments it refers to
        self.height = 0

    def root(self, raw: Mapping) -> Node:
        version = raw.get("version", VERSION)
        if version != VERSION:
            raise RuleError("$.version", f"unsupported version {version!r} (this server reads version {VERSION})")
        return self.node(raw, "$", 0, root=True)

    def count(self, path: str, n: int = 1) -> None:
        self.nodes += n
        self.expanded += n
        if self.nodes > MAX_NODES:
            raise RuleError(path, f"a rule has at most {MAX_NODES} conditions")
        if self.expanded > MAX_EXPANDED:
            raise RuleError(
                path, f"with the segments it refers to, this rule has more than {MAX_EXPANDED} conditions"
            )

    def node(self, raw: Any, path: str, depth: int, root: bool = False) -> Node:
        if depth > MAX_DEPTH:
            raise RuleError(path, f"rules are nested more than {MAX_DEPTH} levels deep")
        self.height = max(self.height, depth)
        if not isinstance(raw, Mapping):
            raise RuleError(path, 'each rule must be a JSON object with a "type"')
        kind = raw.get("type")
        handler = {
            "and": self.group,
            "or": self.group,
            "not": self.negation,
            "performed": self.performed,
            "not_performed": self.performed,
            "attribute": self.attribute,
            "prediction": self.prediction,
            "percentile": self.percentile,
            "in_segment": self.in_segment,
        }.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise RuleError(
                f"{path}.type",
                f"unknown rule type {kind!r}; expected one of and, or, not, performed, "
                "not_performed, attribute, prediction, percentile, in_segment",
            )
        _keys(raw, kind, path, ("version",) if root else ())
        self.count(path)
        return handler(raw, path, depth)

    def group(self, raw, path, depth):
        rules = raw.get("rules")
        if not isinstance(rules, list) or not rules:
            raise RuleError(f"{path}.rules", f'"{raw["type"]}" needs a non-empty list of rules')
        if len(rules) > MAX_CHILDREN:
            raise RuleError(f"{path}.rules", f"at most {MAX_CHILDREN} rules in one group")
        children = tuple(self.node(r, f"{path}.rules[{i}]", depth + 1) for i, r in enumerate(rules))
        if len(children) == 1:
            return children[0]
        return And(children) if raw["type"] == "and" else Or(children)

    def negation(self, raw, path, depth):
        return Not(self.node(raw.get("rule"), f"{path}.rule", depth + 1))

    # -- performed ---------------------------------------------------------------------------------------
    def performed(self, raw, path, depth):
        if "event" not in raw:
            raise RuleError(f"{path}.event", "which event? (an event type or a list of them)")
        events = _events(raw.get("event"), f"{path}.event")
        at_least, at_most = _count(raw.get("count"), f"{path}.count")
        filters = self.filters(raw.get("where"), events, f"{path}.where")
        same = _prop_name(raw.get("same"), events, f"{path}.same")
        distinct = _prop_name(raw.get("distinct"), events, f"{path}.distinct")
        hours = None
        if raw.get("hour_of_day") is not None:
            h = raw["hour_of_day"]
            p = f"{path}.hour_of_day"
            if not isinstance(h, Mapping):
                raise RuleError(p, 'expected {"from": 0-23, "to": 1-24}')
            _keys(h, "hour_of_day", p)
            start = _int(h.get("from"), f"{p}.from", 0, 23)
            end = _int(h.get("to"), f"{p}.to", 1, 24)
            if start == end:
                raise RuleError(p, '"from" and "to" must differ')
            hours = (start, end)
        weekdays = None
        if raw.get("day_of_week") is not None:
            days = raw["day_of_week"]
            p = f"{path}.day_of_week"
            if not isinstance(days, list) or not days:
                raise RuleError(p, "expected a non-empty list of ISO weekdays (1 = Monday .. 7 = Sunday)")
            weekdays = frozenset(_int(d, f"{p}[{i}]", 1, 7) for i, d in enumerate(days))
        follow = raw.get("not_followed_by") or []
        if not isinstance(follow, list):
            raise RuleError(f"{path}.not_followed_by", "expected a list")
        if len(follow) > MAX_CHILDREN:
            raise RuleError(f"{path}.not_followed_by", f"at most {MAX_CHILDREN} follow-ups")
        followups = []
        for i, f in enumerate(follow):
            p = f"{path}.not_followed_by[{i}]"
            if not isinstance(f, Mapping):
                raise RuleError(p, 'expected {"event": ..., "where": [...], "after": {"minutes": N}}')
            _keys(f, "not_followed_by", p)
            self.count(p)
            fev = _events(f.get("event"), f"{p}.event")
            gap = _duration(f["after"], f"{p}.after") if f.get("after") is not None else timedelta(0)
            followups.append(FollowUp(fev, self.filters(f.get("where"), fev, f"{p}.where"), gap))
        total = self.total(raw.get("sum"), events, f"{path}.sum")
        node = Performed(
            events,
            at_least,
            at_most,
            _window(raw.get("window"), f"{path}.window"),
            filters,
            same,
            distinct,
            hours,
            weekdays,
            tuple(followups),
            total,
        )
        return Not(node) if raw["type"] == "not_performed" else node

    def total(self, raw, events, path) -> Total | None:
        """``"sum": {"property": "duration_seconds", "op": "gt", "value": 180}`` (a number property)."""
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise RuleError(path, 'expected {"property": ..., "op": "gt", "value": N}')
        _keys(raw, "sum", path)
        name = _prop_name(raw.get("property"), events, f"{path}.property")
        if name is None or _kinds(events, name) != w.NUM:
            raise RuleError(f"{path}.property", "a number property to add up is required")
        op = _op(raw.get("op"), SUM_OPS, f"{path}.op", "a sum")
        return Total(name, op, _number(raw.get("value"), f"{path}.value"))

    def filters(self, raw, events, path) -> tuple[PropertyFilter, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise RuleError(path, "expected a list of property filters")
        out = []
        for i, f in enumerate(raw):
            p = f"{path}[{i}]"
            if not isinstance(f, Mapping):
                raise RuleError(p, 'expected {"property": ..., "op": ..., "value": ...}')
            _keys(f, "where", p)
            self.count(p)
            name = _prop_name(f.get("property"), events, f"{p}.property")
            if name is None:
                raise RuleError(f"{p}.property", "a property name is required")
            kind = _kinds(events, name)
            ops = w.PROPERTY_NUMBER_OPS if kind == w.NUM else w.PROPERTY_STRING_OPS
            op = _op(f.get("op"), ops, f"{p}.op", f"property {name!r}")
            out.append(PropertyFilter(name, kind, op, _value(kind, op, f.get("value"), f"{p}.value")))
        return tuple(out)

    # -- customer fields -----------------------------------------------------------------------------------
    def attribute(self, raw, path, depth):
        name = raw.get("field")
        if name not in w.ATTRIBUTES:
            raise RuleError(
                f"{path}.field",
                f"unknown customer field {name!r}; expected one of {', '.join(sorted(w.ATTRIBUTES))}",
            )
        kind = w.ATTRIBUTES[name][1]
        op = _op(raw.get("op"), w.OPS_BY_KIND[kind], f"{path}.op", f"field {name!r}")
        value = _field_value(kind, op, raw.get("value"), f"{path}.value", w.CHOICES.get(name))
        return Attribute(name, kind, op, value)

    def prediction(self, raw, path, depth):
        name = raw.get("field")
        if name not in w.PREDICTIONS:
            raise RuleError(
                f"{path}.field",
                f"unknown prediction {name!r}; expected one of {', '.join(sorted(w.PREDICTIONS))}",
            )
        kind = w.PREDICTIONS[name][1]
        op = _op(raw.get("op"), w.OPS_BY_KIND[kind], f"{path}.op", f"prediction {name!r}")
        return Prediction(
            name, kind, op, _field_value(kind, op, raw.get("value"), f"{path}.value", w.CHOICES.get(name))
        )

    def percentile(self, raw, path, depth):
        name = raw.get("field")
        if name not in w.PERCENTILE_FIELDS:
            raise RuleError(f"{path}.field", f"percentiles rank by one of {', '.join(w.PERCENTILE_FIELDS)}")
        direction = raw.get("direction", "top")
        if direction not in ("top", "bottom"):
            raise RuleError(f"{path}.direction", 'expected "top" or "bottom"')
        percent = raw.get("percent")
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
            raise RuleError(f"{path}.percent", "expected a number above 0 and at most 100")
        return Percentile(name, direction, float(percent))

    def in_segment(self, raw, path, depth):
        sid = raw.get("segment")
        if isinstance(sid, bool) or not isinstance(sid, int):
            raise RuleError(f"{path}.segment", "expected a segment id (an integer)")
        if sid in self.stack:
            raise RuleError(f"{path}.segment", f"segment {sid} refers back to itself (a cycle)")
        if self.loader is None:
            raise RuleError(f"{path}.segment", "segment references need a store")
        ref = self.memo.get(sid)
        if ref is None:
            found = self.loader(sid)
            if found is None:
                raise RuleError(f"{path}.segment", f"no segment {sid} in this store")
            name, definition = found
            inner = _Parser(self.loader, self.stack + (sid,), self.memo)
            try:
                if not isinstance(definition, Mapping):
                    raise RuleError("$", "the definition must be a JSON object")
                child = inner.root(definition)
            except RuleError as exc:
                raise RuleError(f"{path}.segment", f"segment {sid} ({name}) is invalid: {exc}") from exc
            ref = self.memo[sid] = _Parsed(name, child, inner.height, inner.expanded)
        if depth + 1 + ref.height > MAX_DEPTH:
            raise RuleError(
                f"{path}.segment",
                f"with segment {sid} ({ref.name}), rules are nested more than {MAX_DEPTH} levels deep",
            )
        self.height = max(self.height, depth + 1 + ref.height)
        self.expanded += ref.expanded
        if self.expanded > MAX_EXPANDED:
            raise RuleError(
                f"{path}.segment",
                f"with segment {sid} ({ref.name}) and the segments it refers to, this rule has more than "
                f"{MAX_EXPANDED} conditions",
            )
        return InSegment(sid, ref.name, ref.node)


def _events(raw, path) -> tuple[str, ...]:
    names = raw if isinstance(raw, list) else [raw]
    if not names or not all(isinstance(n, str) for n in names):
        raise RuleError(path, "expected an event type or a list of event types")
    for i, n in enumerate(names):
        if not w.is_event_type(n):
            where = path if not isinstance(raw, list) else f"{path}[{i}]"
            raise RuleError(where, f"unknown event type {n!r}")
    return tuple(dict.fromkeys(names))


def _kinds(events, name) -> str | None:
    kinds = {w.property_kind(e, name) for e in events}
    return kinds.pop() if len(kinds) == 1 and None not in kinds else None


def _prop_name(raw, events, path) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or _kinds(events, raw) is None:
        allowed = sorted(set.intersection(*(set(w.filterable_properties(e)) for e in events)))
        custom = all(e.startswith("custom.") and e not in v.BY_NAME for e in events)
        hint = (
            "custom event properties are lowercase names (letters, digits, _)"
            if custom
            else f"its properties are: {', '.join(allowed)}" if allowed else "it has no property rules may use"
        )
        raise RuleError(path, f"{raw!r} is not a property of {', '.join(events)} that rules may use; {hint}")
    return raw


def _count(raw, path) -> tuple[int, int | None]:
    if raw is None:
        return 1, None
    if not isinstance(raw, Mapping):
        raise RuleError(path, 'expected {"op": "gte", "value": N}')
    _keys(raw, "count", path)
    op = _op(raw.get("op"), COUNT_OPS, f"{path}.op", "a count")
    if op == "between":
        lo, hi = _pair(raw.get("value"), f"{path}.value", lambda x, p: _int(x, p, 0, 100000))
        return lo, hi
    n = _int(raw.get("value"), f"{path}.value", 0, 100000)
    lo, hi = {"gte": (n, None), "gt": (n + 1, None), "eq": (n, n), "lte": (0, n), "lt": (0, n - 1)}[op]
    if hi is not None and hi < lo:
        raise RuleError(f"{path}.value", "no count can satisfy this")
    return lo, hi


def _window(raw, path) -> Window | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not raw:
        raise RuleError(
            path,
            'expected {"last": {"days": N}}, {"start": ..., "end": ...}, {"since": ...} '
            'or {"same_month_last_year": true}',
        )
    _keys(raw, "window", path)
    if "same_month_last_year" in raw:
        if raw["same_month_last_year"] is not True or len(raw) > 1:
            raise RuleError(f"{path}.same_month_last_year", 'expected {"same_month_last_year": true} alone')
        return Window(same_month_last_year=True)
    relative = [k for k in ("last", "until") if k in raw]
    absolute = [k for k in ("start", "since", "end") if k in raw]
    if relative and absolute:
        raise RuleError(
            f"{path}.{absolute[0]}",
            'a time frame is either relative ("last"/"until") or dates ("start"/"since"/"end"), not both',
        )
    if "start" in raw and "since" in raw:
        raise RuleError(f"{path}.since", '"since" and "start" mean the same: give one')
    if relative:
        last = _duration(raw["last"], f"{path}.last") if "last" in raw else None
        until = _duration(raw["until"], f"{path}.until") if "until" in raw else None
        if last is not None and until is not None and until >= last:
            raise RuleError(f"{path}.until", '"until" must be shorter than "last"')
        return Window(last=last, until=until)
    start = (
        _datetime(raw.get("start", raw.get("since")), f"{path}.start")
        if ("start" in raw or "since" in raw)
        else None
    )
    end = _datetime(raw["end"], f"{path}.end") if "end" in raw else None
    if start is None and end is None:
        raise RuleError(path, 'a window needs "last", "until", "start"/"since" or "end"')
    if start and end and end <= start:
        raise RuleError(f"{path}.end", "the end must be after the start")
    return Window(start=start, end=end)


def _duration(raw, path) -> timedelta:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise RuleError(path, 'expected one of {"minutes": N}, {"hours": N}, {"days": N}')
    unit, n = next(iter(raw.items()))
    if unit not in w.UNITS:
        raise RuleError(path, f"unknown unit {unit!r}; expected minutes, hours or days")
    return w.UNITS[unit] * _int(n, f"{path}.{unit}", 1, w.MAX_UNITS[unit])


def _datetime(raw, path) -> datetime:
    value = None
    if isinstance(raw, str):
        value = parse_datetime(raw)
        if value is None and parse_date(raw):
            value = datetime.combine(parse_date(raw), datetime.min.time())
    if value is None:
        raise RuleError(path, "expected an ISO 8601 date or date-time")
    if not 1970 <= value.year <= 2100:
        raise RuleError(path, "expected a date between 1970 and 2100")
    return make_aware(value, UTC) if is_naive(value) else value.astimezone(UTC)


def _int(raw, path, lo, hi) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        raise RuleError(path, f"expected a whole number from {lo} to {hi}")
    return raw


def _number(raw, path) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise RuleError(path, "expected a number")
    return raw


def _pair(raw, path, convert):
    if not isinstance(raw, list) or len(raw) != 2:
        raise RuleError(path, "expected [low, high]")
    lo, hi = convert(raw[0], f"{path}[0]"), convert(raw[1], f"{path}[1]")
    if hi < lo:
        raise RuleError(path, "the low end is above the high end")
    return lo, hi


def _op(raw, allowed, path, what) -> str:
    if raw not in allowed:
        raise RuleError(
            path, f"operator {raw!r} does not apply to {what}; expected one of {', '.join(allowed)}"
        )
    return raw


def _string(raw, path, choices=None) -> str:
    if not isinstance(raw, str) or len(raw) > 255:
        raise RuleError(path, "expected a string (at most 255 characters)")
    if choices is not None and raw not in choices:
        raise RuleError(path, f"expected one of {', '.join(repr(c) for c in choices)}")
    return raw


def _value(kind, op, raw, path):
    """Property filter values."""
    if kind == w.NUM:
        return _number(raw, path)
    if op in ("in", "not_in"):
        if not isinstance(raw, list) or not raw or len(raw) > 100:
            raise RuleError(path, "expected a list of 1 to 100 strings")
        return tuple(_string(x, f"{path}[{i}]") for i, x in enumerate(raw))
    return _string(raw, path)


def _field_value(kind, op, raw, path, choices):
    if op in ("is_set", "not_set"):
        return None
    if kind == w.NUM:
        return _pair(raw, path, _number) if op == "between" else _number(raw, path)
    if kind == w.DATE:
        if op in ("before", "after"):
            return _datetime(raw, path)
        return _duration(raw, path)
    if kind == w.TAGS:
        return _string(raw, path)
    if op in ("in", "not_in"):
        if not isinstance(raw, list) or not raw or len(raw) > 100:
            raise RuleError(path, "expected a list of 1 to 100 values")
        return tuple(_string(x, f"{path}[{i}]", choices) for i, x in enumerate(raw))
    return _string(raw, path, choices)
