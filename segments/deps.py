"""What a rule depends on: which event types can change it (the real-time path re-evaluates only those
segments) and whether passing time or other customers can change it (the scheduled sweep's job)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shopconnect.timeline.localtime import LOCAL_TIME_CHANGED

from .rules import Attribute, Node, Percentile, Performed, Prediction, walk
from .rules import vocab as w

#: pseudo/event types after which every segment is re-evaluated for the customer
ALWAYS = frozenset({"visitor.merged", "customer.deleted", "customer.created"})


@dataclass
class Dependencies:
    types: set[str] = field(default_factory=set)
    any_event: bool = False
    time: bool = False  # windows relative to now: results change as time passes
    others: bool = False  # percentiles and predictions: results change when other rows change

    def affected_by(self, types: set[str]) -> bool:
        return self.any_event or bool(types & ALWAYS) or bool(types & self.types)

    @property
    def needs_sweep(self) -> bool:
        return self.time or self.others


def dependencies(node: Node) -> Dependencies:
    deps = Dependencies()
    for n in walk(node):
        if isinstance(n, Performed):
            deps.types.update(n.events)
            for fu in n.not_followed_by:
                deps.types.update(fu.events)
            deps.time |= n.window is not None and n.window.relative
            if n.hours is not None or n.weekdays is not None:
                deps.types.add(LOCAL_TIME_CHANGED)  # a new time zone moves their events' local times
        elif isinstance(n, Attribute):
            types = w.ATTRIBUTE_DEPENDS.get(n.field, frozenset({w.ANY}))
            deps.any_event |= w.ANY in types
            deps.types.update(types - {w.ANY})
            deps.time |= n.op in ("within_last", "more_than_ago", "within_next")
        elif isinstance(n, Percentile):
            deps.types.update(w.ATTRIBUTE_DEPENDS.get(n.field, frozenset()))
            deps.others = True
        elif isinstance(n, Prediction):
            deps.others = True
    return deps
