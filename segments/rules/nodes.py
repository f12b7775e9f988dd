"""Typed nodes of a parsed rule tree. The compiler and the plain-language describer read only these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Union


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class PropertyFilter:
    name: str
    kind: str  # vocab.STR or vocab.NUM
    op: str
    value: Any


@dataclass(frozen=True)
class Window:
    """Relative (``last``/``until`` before now), absolute (``start``/``end``) or ``same_month_last_year``."""

    last: timedelta | None = None
    until: timedelta | None = None
    start: datetime | None = None
    end: datetime | None = None
    same_month_last_year: bool = False

    @property
    def relative(self) -> bool:
        return self.last is not None or self.until is not None or self.same_month_last_year


@dataclass(frozen=True)
class FollowUp:
    """ "... and no ``events`` (matching ``filters``) later than the event plus ``gap``"."""

    events: tuple[str, ...]
    filters: tuple[PropertyFilter, ...] = ()
    gap: timedelta = timedelta(0)


@dataclass(frozen=True)
class Total:
    """``sum``: the sum of a number property over the matching events, compared with ``op`` ``value``."""

    name: str
    op: str
    value: float


@dataclass(frozen=True)
class Performed:
    events: tuple[str, ...]
    at_least: int = 1
    at_most: int | None = None
    window: Window | None = None
    filters: tuple[PropertyFilter, ...] = ()
    group_by: str | None = None  # "the same <property>" (count per value)
    count_distinct: str | None = None  # count distinct values instead of events
    hours: tuple[int, int] | None = None  # local hour in [from, to) (wraps past midnight)
    weekdays: frozenset[int] | None = None  # ISO 1=Monday .. 7=Sunday, local
    not_followed_by: tuple[FollowUp, ...] = ()
    total: Total | None = None  # "in total more than 180 seconds"


@dataclass(frozen=True)
class Attribute:
    field: str
    kind: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Prediction:
    field: str
    kind: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Percentile:
    field: str
    direction: str  # top | bottom
    percent: float


@dataclass(frozen=True)
class InSegment:
    segment_id: int
    name: str
    child: Node = field(compare=False)


Node = Union[And, Or, Not, Performed, Attribute, Prediction, Percentile, InSegment]  # noqa: UP007


def walk(node: Node):
    """Every node of a tree, depth first (including referenced segments' trees)."""
    yield node
    if isinstance(node, (And, Or)):
        for child in node.children:
            yield from walk(child)
    elif isinstance(node, (Not, InSegment)):
        yield from walk(node.child)
