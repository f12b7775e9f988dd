"""Entering flows: event triggers (with property filters in the rule language, checked in SQL), segment
entered/exited, date properties; the relevance window (``relevance``), the re-entry rule, flow filters,
the exit goal checked at entry, and exit goals applied the moment an order arrives
(``goals``: SQL over the whole timeline).

Called from the ``events_recorded`` and segment signals through tasks that take ids
(``campaigns.tasks``). Re-entry is enforced by the database: ``entry_key`` is "once" for once-ever
flows (so the unique (flow, customer, entry_key) constraint refuses a second enrollment), else the
trigger's identity; "once per N days" also excludes customers who entered within N days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from shopconnect.timeline.models import Customer, Event

from ..models import Enrollment, Flow, FlowDecision, Message
from . import relevance
from .goals import reached_for_enrollments, reached_for_triggers


def validate_filters(flow: Flow) -> None:
    """An event trigger's filters are rule-language property conditions on its event
    (``segments.rules.parse_where``: the same properties, operators and errors as a segment's "where")."""
    from segments.rules import RuleError, parse_where

    if flow.trigger != Flow.Trigger.EVENT or not flow.trigger_event_type:
        return
    try:
        parse_where(flow.trigger_filters, flow.trigger_event_type, path="filters")
    except RuleError as exc:
        raise ValidationError({"trigger_filters": str(exc)}, code="invalid_rule") from exc


def passing_events(flow: Flow, events: Sequence[Event]) -> list[Event]:
    """The flow's trigger events among ``events`` that pass its filters, checked in SQL by the rule
    language's one evaluator (``segments.evaluate.matching_events``). Invalid stored filters let
    nothing through (fail closed: never mail everyone)."""
    mine = [e for e in events if e.type == flow.trigger_event_type]
    if not flow.trigger_filters or not mine:
        return mine
    from segments.evaluate import matching_events
    from segments.rules import RuleError

    try:
        passed = set(matching_events(Event.objects.filter(id__in=[e.pk for e in mine]), flow.trigger_event_type,
                                     flow.trigger_filters).values_list("id", flat=True))
    except RuleError:
        return []
    return [e for e in mine if e.pk in passed]


def flow_filters_match(flow: Flow, customer_id: int) -> tuple[bool, str]:
    """Flow filters (a segment rule) on the customer now. Fails closed if they cannot be evaluated."""
    if not flow.flow_filters:
        return True, ""
    try:
        from segments.evaluate import customer_matches
    except ImportError:
        return False, "flow filters cannot be evaluated (segments engine unavailable)"
    try:
        ok = customer_matches(flow.store, flow.flow_filters, customer_id)
    except Exception as exc:  # invalid stored rule: never mail everyone
        return False, f"flow filters invalid: {exc}"[:200]
    return ok, "" if ok else "does not match the flow filters"


@dataclass(slots=True)
class Entry:
    customer_id: int
    trigger_key: str
    event_id: int | None = None
    checkout_ref: str = ""
    occurred_at: datetime | None = None  # the triggering event's time (event triggers)
    event_type: str = ""


def _stale(flow: Flow, entries: list[Entry], now: datetime) -> tuple[list[Entry], list[tuple[Entry, str]]]:
    """Split off triggers older than the flow's relevance window (logged when recent enough to matter)."""
    limit = relevance.window(flow)
    if limit is None:
        return entries, []
    fresh, old = [], []
    for entry in entries:
        why = relevance.too_old(entry.event_type, entry.occurred_at, now, limit) if entry.occurred_at else ""
        if not why:
            fresh.append(entry)
        elif now - entry.occurred_at <= limit + relevance.LOG_HORIZON:
            old.append((entry, why))
    return fresh, old


def enrol(flow: Flow, entries: Iterable[Entry], now: datetime | None = None) -> int:
    """Enrol customers; returns how many entered. In order: the relevance window (a trigger too old does
    not enter), the re-entry rule, the flow filters, and the exit goal against the whole timeline (a
    checkout that already became an order does not enter). Triggers that did not enter for the window
    or the goal are kept as "did not enter" rows with the reason (``entry_key`` "skip:<trigger>", which
    no re-entry rule counts)."""
    now = now or timezone.now()
    entries, skipped = _stale(flow, list(entries), now)
    if flow.reentry == Flow.Reentry.PER_DAYS and entries:
        recent = set(Enrollment.objects.filter(
            flow=flow, customer_id__in={e.customer_id for e in entries},
            entered_at__gt=now - timedelta(days=flow.reentry_days),
        ).exclude(status=Enrollment.Status.NOT_ENTERED).values_list("customer_id", flat=True))
        entries = [e for e in entries if e.customer_id not in recent]
    keyed = [(e, ("once" if flow.reentry == Flow.Reentry.ONCE else e.trigger_key)[:100]) for e in entries]
    existing = set(Enrollment.objects.filter(
        flow=flow, customer_id__in={e.customer_id for e, _ in keyed}, entry_key__in={k for _, k in keyed},
    ).values_list("customer_id", "entry_key")) if keyed else set()
    goal = reached_for_triggers(flow, {e.event_id for e, _ in keyed if e.event_id})
    rows, seen_customers = [], set()
    for entry, key in keyed:
        once_per_batch = flow.reentry != Flow.Reentry.EVERY_TIME
        if (entry.customer_id, key) in existing or (once_per_batch and entry.customer_id in seen_customers):
            continue  # the re-entry rule; the unique (flow, customer, entry_key) guards against races
        if flow.flow_filters and not flow_filters_match(flow, entry.customer_id)[0]:
            continue
        if entry.event_id in goal:
            skipped.append((entry, goal[entry.event_id]))
            continue
        seen_customers.add(entry.customer_id)
        rows.append(Enrollment(flow=flow, customer_id=entry.customer_id, trigger_event_id=entry.event_id,
                               entry_key=key, checkout_ref=entry.checkout_ref[:128], position=0,
                               due_at=now, entered_at=now))
    reasons = {}
    for entry, why in skipped:
        key = f"skip:{entry.trigger_key}"[:100]
        reasons[(entry.customer_id, key)] = why
        rows.append(Enrollment(flow=flow, customer_id=entry.customer_id, trigger_event_id=entry.event_id,
                               entry_key=key, checkout_ref=entry.checkout_ref[:128], position=0, due_at=now,
                               entered_at=now, finished_at=now, status=Enrollment.Status.NOT_ENTERED,
                               exit_reason=why[:200]))
    if not rows:
        return 0
    Enrollment.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    wanted = {(r.customer_id, r.entry_key) for r in rows}
    created = [(eid, reasons.get((cid, key))) for eid, cid, key in Enrollment.objects.filter(
        flow=flow, entered_at=now, customer_id__in={r.customer_id for r in rows},
        entry_key__in={r.entry_key for r in rows},
    ).values_list("id", "customer_id", "entry_key") if (cid, key) in wanted]
    FlowDecision.objects.bulk_create(
        [FlowDecision(enrollment_id=eid, at=now, kind=FlowDecision.Kind.NOT_ENTERED, detail=why[:300]) if why else
         FlowDecision(enrollment_id=eid, at=now, kind=FlowDecision.Kind.ENTERED, detail="trigger matched")
         for eid, why in created], batch_size=1000)
    return sum(1 for _, why in created if not why)


def checkout_ref(properties: dict) -> str:
    return str(properties.get("checkout_id") or properties.get("cart_token") or "")


def enrol_from_events(store_id: int, event_ids: Sequence[int]) -> int:
    flows = list(Flow.objects.filter(store_id=store_id, enabled=True, trigger=Flow.Trigger.EVENT)
                 .select_related("store"))
    if not flows:
        return 0
    events = list(Event.objects.filter(id__in=event_ids, customer__isnull=False,
                                       type__in={f.trigger_event_type for f in flows})
                  .only("id", "type", "customer_id", "properties", "occurred_at"))
    total = 0
    for flow in flows:
        entries = [Entry(e.customer_id, f"event:{e.pk}", e.pk, checkout_ref(e.properties or {}), e.occurred_at,
                         e.type)
                   for e in passing_events(flow, events)]
        total += enrol(flow, entries)
    return total


def enrol_from_segment(store_id: int, segment_id: int, customer_ids: Sequence[int], entered: bool) -> int:
    trigger = Flow.Trigger.SEGMENT_ENTERED if entered else Flow.Trigger.SEGMENT_EXITED
    now = timezone.now()
    total = 0
    for flow in Flow.objects.filter(store_id=store_id, enabled=True, trigger=trigger,
                                    trigger_segment_id=segment_id).select_related("store"):
        total += enrol(flow, [Entry(cid, f"segment:{segment_id}:{now.isoformat()}") for cid in customer_ids], now)
    return total


def enrol_date_triggers(now: datetime | None = None) -> int:
    """Daily: customers whose birthday (a YYYY-MM-DD or MM-DD property) or first-order anniversary is today."""
    now = now or timezone.now()
    total = 0
    for flow in Flow.objects.filter(enabled=True, trigger=Flow.Trigger.DATE_PROPERTY).select_related("store"):
        customers = Customer.objects.filter(store=flow.store, deleted_at__isnull=True)
        if flow.date_property == "first_order_at":
            customers = customers.filter(first_order_at__month=now.month, first_order_at__day=now.day,
                                         first_order_at__year__lt=now.year)
        else:
            suffix = f"{now.month:02d}-{now.day:02d}"
            key = f"properties__{flow.date_property}"
            customers = customers.filter(Q(**{f"{key}__endswith": "-" + suffix}) | Q(**{key: suffix}))
        ids = customers.values_list("id", flat=True).iterator(chunk_size=2000)
        batch: list[Entry] = []
        for cid in ids:
            batch.append(Entry(cid, f"date:{now.year}"))
            if len(batch) >= 2000:
                total += enrol(flow, batch, now)
                batch = []
        total += enrol(flow, batch, now)
    return total


def _exit(reasons: dict[int, str], now: datetime) -> int:
    """Active enrollments leave with their reasons; their queued messages are skipped."""
    by_reason: dict[str, list[int]] = {}
    for eid, why in reasons.items():
        by_reason.setdefault(why, []).append(eid)
    count = 0
    for why, ids in by_reason.items():
        left = list(Enrollment.objects.filter(id__in=ids, status=Enrollment.Status.ACTIVE).values_list("id", flat=True))
        count += Enrollment.objects.filter(id__in=left, status=Enrollment.Status.ACTIVE).update(
            status=Enrollment.Status.EXITED, finished_at=now, exit_reason=why[:200], waiting_since=None)
        FlowDecision.objects.bulk_create([FlowDecision(enrollment_id=eid, at=now, kind=FlowDecision.Kind.EXITED,
                                                       detail=why[:300]) for eid in left])
        Message.objects.filter(enrollment_id__in=left, state=Message.State.QUEUED).update(
            state=Message.State.SKIPPED, skip_reason=f"left the flow: {why}"[:200])
    return count


def apply_exit_goals(store_id: int, event_ids: Sequence[int], now: datetime | None = None) -> int:
    """An order arrived: active enrollments of its customer whose goal is now reached exit at once (no
    further email). The goal is checked against the whole timeline (``goals``), in SQL."""
    now = now or timezone.now()
    customers = set(Event.objects.filter(id__in=event_ids, type="order.placed", customer__isnull=False)
                    .values_list("customer_id", flat=True))
    if not customers:
        return 0
    active = (Enrollment.objects.filter(flow__store_id=store_id, customer_id__in=customers,
                                        status=Enrollment.Status.ACTIVE).exclude(flow__exit_goal="")
              .values_list("id", flat=True))
    return _exit(reached_for_enrollments(active), now)


def wake_waiting(store_id: int, event_ids: Sequence[int], now: datetime | None = None) -> int:
    """Enrollments waiting for an event that just happened become due now (the engine decides)."""
    now = now or timezone.now()
    pairs = set(Event.objects.filter(id__in=event_ids, customer__isnull=False).values_list("customer_id", "type"))
    if not pairs:
        return 0
    from ..models import FlowStep

    waits = Q()
    wait_steps = FlowStep.objects.filter(flow__store_id=store_id, flow__enabled=True, kind=FlowStep.Kind.WAIT_FOR_EVENT)
    for flow_id, position in wait_steps.values_list("flow_id", "position"):
        waits |= Q(flow_id=flow_id, position=position)
    if not waits:
        return 0
    return Enrollment.objects.filter(waits, customer_id__in={c for c, _ in pairs}, status=Enrollment.Status.ACTIVE,
                                     waiting_since__isnull=False, due_at__gt=now).update(due_at=now)
