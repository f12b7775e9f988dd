"""Parsed rules, cached per segment version: the real-time path and the sweep run for every event batch
and every five minutes, and must not re-parse every segment of the store each time.

A cached tree is reused while the segment's definition and the name and definition of every segment it
refers to are what it was parsed from (compared as data, so no clock, id reuse or missed version bump can
serve a stale tree). The cache is per process and bounded.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import Iterator

from shopconnect.timeline.models import Store

from .models import Segment
from .rules import InSegment, Node, RuleError, parse, walk

log = logging.getLogger(__name__)

MAX_ENTRIES = 5000
#: segment pk -> (its definition, {referenced pk: (name, definition)}, tree)
_TREES: OrderedDict[int, tuple[dict, dict[int, tuple], Node]] = OrderedDict()


def parsed_segments(store: Store, only_active: bool = True) -> Iterator[tuple[Segment, Node]]:
    """Every (active) segment of the store with its parsed tree; invalid ones are logged and skipped."""
    rows = {s.pk: s for s in Segment.objects.filter(store=store).select_related("store")}

    def loader(sid: int):
        s = rows.get(sid)
        return (s.name, s.definition) if s else None

    for pk, segment in rows.items():
        if only_active and not segment.is_active:
            continue
        hit = _TREES.get(pk)
        if (
            hit is not None
            and hit[0] == segment.definition
            and all(loader(ref) == was for ref, was in hit[1].items())
        ):
            _TREES.move_to_end(pk)
            yield segment, hit[2]
            continue
        try:
            node = parse(segment.definition, loader=loader, segment_id=pk)
        except RuleError:
            log.error("segment %s has an invalid definition; skipped", pk)
            continue
        refs = {n.segment_id: loader(n.segment_id) for n in walk(node) if isinstance(n, InSegment)}
        _TREES[pk] = (copy.deepcopy(segment.definition), copy.deepcopy(refs), node)
        while len(_TREES) > MAX_ENTRIES:
            _TREES.popitem(last=False)
        yield segment, node


def clear() -> None:
    _TREES.clear()
