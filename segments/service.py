"""What the admin and the API share: saving a definition (version, change log, recompute), previews and
the advisory warnings (tiny segment, nearly identical to another)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django_q.tasks import async_task

from shopconnect.timeline.models import Customer, Store

from .describe import describe
from .evaluate import matching_customers
from .models import Segment, SegmentChange, SegmentMembership
from .rules import Node, parse

TINY = 100  # below this many members a segment is too small to learn from (A/B tests, reports)
SIMILAR = 0.9  # Jaccard overlap above which two segments are "nearly identical"


def save_segment(segment: Segment, user=None, old_definition: dict | None = None) -> Segment:
    """Save after validation: bump the version and log the change when the definition changed, then
    recompute the membership in a task."""
    is_new = segment.pk is None
    changed = is_new or old_definition != segment.definition
    if user is not None and getattr(user, "is_authenticated", False):
        segment.updated_by = user
        if is_new:
            segment.created_by = user
    with transaction.atomic():
        if changed and not is_new:
            segment.version += 1
        segment.save()
        if changed:
            SegmentChange.objects.create(
                segment=segment,
                user=segment.updated_by,
                version=segment.version,
                old_definition=None if is_new else old_definition,
                new_definition=segment.definition,
            )
        if changed:
            sid = segment.pk
            transaction.on_commit(
                lambda: async_task("segments.tasks.recompute_segment", sid, task_name="segments.recompute")
            )
    return segment


@dataclass
class Preview:
    count: int
    sample: list[Customer]
    description: str
    warnings: list[str] = field(default_factory=list)


def preview(
    store: Store, definition: dict, *, segment_id: int | None = None, sample_size: int = 10
) -> Preview:
    """Count and sample without saving. Raises ``RuleError`` for an invalid tree."""
    node = parse(definition, store, segment_id=segment_id)
    qs = matching_customers(store, node)
    count = qs.count()
    return Preview(
        count,
        list(qs.order_by("-id")[:sample_size]),
        describe(node),
        warnings(store, qs, count, exclude_id=segment_id),
    )


def warnings(store: Store, qs: QuerySet[Customer], count: int, exclude_id: int | None = None) -> list[str]:
    found = []
    if count < TINY:
        found.append(
            f"Only {count} {'customer matches' if count == 1 else 'customers match'}: too small to learn "
            f"from (A/B tests and reports need at least {TINY}). You can still save it."
        )
    # Every other segment's size and its overlap with this rule, in one query (not two per segment).
    current = SegmentMembership.objects.filter(segment__store=store, exited_at__isnull=True)
    if exclude_id is not None:
        current = current.exclude(segment_id=exclude_id)
    rows = (
        current.order_by()
        .values("segment_id", "segment__name")
        .annotate(size=Count("id"), overlap=Count("id", filter=Q(customer_id__in=qs.order_by().values("id"))))
        .order_by("segment__name")
    )
    for row in rows:
        size, overlap = row["size"], row["overlap"]
        if overlap / (size + count - overlap) >= SIMILAR:
            found.append(f"Nearly identical to “{row['segment__name']}” ({overlap} shared of {count} and {size}).")
    return found


def describe_definition(definition: dict, store: Store | None = None) -> str:
    return describe(parse(definition, store))


__all__ = ["Node", "Preview", "describe_definition", "preview", "save_segment", "warnings"]
