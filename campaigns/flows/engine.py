"""The flow engine: advance due enrollments in batches, recording every decision.

``advance_due_enrollments`` claims a batch of active enrollments whose ``due_at`` has passed (row locks
with SKIP LOCKED on PostgreSQL; SQLite's write lock serializes), runs each through its steps until it
has to wait, and writes the batch back with bulk statements: enrollments, decisions, outbox rows
(idempotent keys: flow, step, customer, trigger), tags. Then the sender is enqueued. A customer in the
flow's holdout (``Flow.holdout_percent``, by hash of flow and customer) gets skipped ``holdout`` rows
instead of emails.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from shopconnect.timeline.models import CustomerTag, Event

from ..campaign.assign import in_holdout
from ..consent import suppress
from ..models import HOLDOUT, Enrollment, Flow, FlowDecision, FlowStep, Message
from ..outbox import enqueue, message_key
from ..policy import local_zone
from .steps import delay_until, pick_variant
from .triggers import flow_filters_match, goal_reached

BATCH_SIZE = 500
MAX_STEPS_PER_RUN = 50  # a misconfigured loop of instant steps stops here and resumes next run


class _Batch:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.decisions: list[FlowDecision] = []
        self.messages: list[Message] = []
        self.add_tags: list[CustomerTag] = []
        self.remove_tags: dict[int, list[str]] = defaultdict(list)

    def log(self, enrollment: Enrollment, step: FlowStep | None, kind: str, detail: str = "") -> None:
        self.decisions.append(FlowDecision(enrollment_id=enrollment.pk, step=step, at=self.now, kind=kind,
                                           detail=detail[:300]))


def _steps(flow_ids) -> dict[int, dict[int, FlowStep]]:
    steps: dict[int, dict[int, FlowStep]] = defaultdict(dict)
    for step in FlowStep.objects.filter(flow_id__in=flow_ids).select_related("template"):
        steps[step.flow_id][step.position] = step
    return steps


def _following(steps: dict[int, FlowStep], position: int) -> int | None:
    later = [p for p in steps if p > position]
    return min(later) if later else None


def _next(step: FlowStep, steps: dict[int, FlowStep]) -> int | None:
    return step.config["next"] if "next" in (step.config or {}) else _following(steps, step.position)


def _orders_since(enrollments: list[Enrollment]) -> dict[int, list[Event]]:
    goal = [e for e in enrollments if e.flow.exit_goal]
    if not goal:
        return {}
    since = min(e.entered_at for e in goal) - timedelta(days=1)
    orders: dict[int, list[Event]] = defaultdict(list)
    for order in Event.objects.filter(customer_id__in={e.customer_id for e in goal}, type="order.placed",
                                      occurred_at__gte=since).only("customer_id", "occurred_at", "properties"):
        orders[order.customer_id].append(order)
    return orders


def _finish(enrollment: Enrollment, batch: _Batch, status: str, reason: str, step=None) -> None:
    enrollment.status, enrollment.finished_at, enrollment.exit_reason = status, batch.now, reason[:200]
    enrollment.waiting_since = None
    kind = FlowDecision.Kind.COMPLETED if status == Enrollment.Status.COMPLETED else FlowDecision.Kind.EXITED
    batch.log(enrollment, step, kind, reason)


def _run(enrollment: Enrollment, steps: dict[int, FlowStep], orders: list[Event], batch: _Batch) -> None:
    flow, now = enrollment.flow, batch.now
    if flow.exit_goal and any(goal_reached(flow.exit_goal, enrollment, o) for o in orders):
        _finish(enrollment, batch, Enrollment.Status.EXITED, "goal reached: order placed")
        return
    if not flow.enabled:
        enrollment.due_at = now + timedelta(hours=1)  # paused: keep the place, look again later
        return
    position: int | None = enrollment.position
    for _ in range(MAX_STEPS_PER_RUN):
        step = steps.get(position) if position is not None else None
        if step is None:
            _finish(enrollment, batch, Enrollment.Status.COMPLETED, "reached the end of the flow")
            return
        enrollment.position = step.position
        config = step.config or {}
        kind = step.kind
        if kind == FlowStep.Kind.DELAY:
            if enrollment.waiting_since is None:
                enrollment.waiting_since = now
                enrollment.due_at = delay_until(config, now, local_zone(enrollment.customer, flow.store))
                batch.log(enrollment, step, FlowDecision.Kind.WAITED, f"until {enrollment.due_at:%Y-%m-%d %H:%M} UTC")
                return
            enrollment.waiting_since = None
            position = _next(step, steps)
        elif kind == FlowStep.Kind.WAIT_FOR_EVENT:
            types = config.get("event_types") or []
            timeout = timedelta(hours=float(config.get("timeout_hours") or 0))
            if enrollment.waiting_since is None:
                enrollment.waiting_since = now
                enrollment.due_at = now + timeout
                batch.log(enrollment, step, FlowDecision.Kind.WAITED, f"for {', '.join(types)} until "
                          f"{enrollment.due_at:%Y-%m-%d %H:%M} UTC")
                return
            happened = Event.objects.filter(customer_id=enrollment.customer_id, type__in=types,
                                            occurred_at__gte=enrollment.waiting_since).exists()
            if happened:
                batch.log(enrollment, step, FlowDecision.Kind.BRANCHED, "event happened")
                position = config.get("on_event")
            elif now >= enrollment.waiting_since + timeout:
                batch.log(enrollment, step, FlowDecision.Kind.BRANCHED, "timed out")
                position = config.get("on_timeout", _following(steps, step.position))
            else:
                enrollment.due_at = enrollment.waiting_since + timeout
                return
            enrollment.waiting_since = None
        elif kind == FlowStep.Kind.SEND_EMAIL:
            ok, why = flow_filters_match(flow, enrollment.customer_id)
            if not ok:
                _finish(enrollment, batch, Enrollment.Status.EXITED, why, step)
                return
            context = {k: config[k] for k in ("discount_code", "skip_smart_sending") if config.get(k)}
            # A holdout member's send is recorded as a skipped row and never sent; the enrollment goes on,
            # so the orders it places count as the flow's control group.
            held = bool(flow.holdout_percent) and in_holdout(f"flow:{flow.pk}", enrollment.customer_id,
                                                             flow.holdout_percent)
            batch.messages.append(Message(
                store_id=flow.store_id, customer_id=enrollment.customer_id, template_id=step.template_id,
                flow_id=flow.pk, step_id=step.pk, enrollment_id=enrollment.pk,
                trigger_event_id=enrollment.trigger_event_id, variant=HOLDOUT if held else enrollment.variant,
                context=context,
                idempotency_key=message_key("flow", flow.pk, "step", step.pk, "customer", enrollment.customer_id,
                                            enrollment.entry_key),
                next_attempt_at=now,
                **({"state": Message.State.SKIPPED, "skip_reason": "holdout"} if held else {}),
            ))
            if held:
                batch.log(enrollment, step, FlowDecision.Kind.SKIPPED, "holdout: not sent (control group)")
            else:
                batch.log(enrollment, step, FlowDecision.Kind.SENT, f"queued {step.template}")
            position = _next(step, steps)
        elif kind == FlowStep.Kind.CONDITION:
            try:
                from segments.evaluate import customer_matches

                matched = customer_matches(flow.store, config.get("rule"), enrollment.customer_id)
            except Exception as exc:  # fail closed: an unevaluable condition is "no"
                matched = False
                batch.log(enrollment, step, FlowDecision.Kind.SKIPPED, f"condition not evaluated: {exc}")
            batch.log(enrollment, step, FlowDecision.Kind.BRANCHED, "yes" if matched else "no")
            position = config.get("yes", _following(steps, step.position)) if matched else config.get("no")
        elif kind == FlowStep.Kind.AB_SPLIT:
            variant = pick_variant(config["variants"], flow.pk, step.pk, enrollment.customer_id)
            enrollment.variant = str(variant["label"])[:32]
            batch.log(enrollment, step, FlowDecision.Kind.BRANCHED, f"variant {enrollment.variant}")
            position = variant.get("next", _following(steps, step.position))
        elif kind == FlowStep.Kind.UPDATE_CUSTOMER:
            for tag in config.get("add_tags") or []:
                batch.add_tags.append(CustomerTag(customer_id=enrollment.customer_id, tag=str(tag)[:100]))
            batch.remove_tags[enrollment.customer_id].extend(config.get("remove_tags") or [])
            if config.get("suppress"):
                suppress(flow.store, enrollment.customer.email, "manual", f"flow {flow.pk}: {config['suppress']}")
            changes = {k: v for k, v in config.items() if k != "next"}
            batch.log(enrollment, step, FlowDecision.Kind.UPDATED, str(changes))
            position = _next(step, steps)
        else:  # exit
            _finish(enrollment, batch, Enrollment.Status.EXITED, config.get("reason") or "exit step", step)
            return
    enrollment.position = position if position is not None else enrollment.position
    enrollment.due_at = now + timedelta(minutes=1)  # a long run of instant steps: resume next run


ENROLLMENT_FIELDS = ("id", "flow_id", "customer_id", "trigger_event_id", "entry_key", "checkout_ref", "status",
                     "position", "due_at", "waiting_since", "variant", "entered_at", "finished_at", "exit_reason")
STATE_FIELDS = ("status", "position", "due_at", "waiting_since", "variant", "finished_at", "exit_reason")


def _save(enrollments: list[Enrollment]) -> None:
    """One UPDATE per distinct new state (usually a handful per batch), not a 500-row CASE statement."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for e in enrollments:
        groups[tuple(getattr(e, f) for f in STATE_FIELDS)].append(e.pk)
    for values, ids in groups.items():
        Enrollment.objects.filter(id__in=ids).update(**dict(zip(STATE_FIELDS, values, strict=True)))


def advance_batch(now: datetime | None = None, size: int = BATCH_SIZE) -> int:
    now = now or timezone.now()
    batch = _Batch(now)
    with transaction.atomic():
        due = Enrollment.objects.filter(status=Enrollment.Status.ACTIVE, due_at__lte=now).order_by("due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        enrollments = list(due.select_related("customer", "trigger_event").only(
            *ENROLLMENT_FIELDS, "customer__email", "customer__timezone", "trigger_event__occurred_at")[:size])
        if not enrollments:
            return 0
        flows = {f.pk: f for f in Flow.objects.filter(id__in={e.flow_id for e in enrollments}).select_related("store")}
        for enrollment in enrollments:
            enrollment.flow = flows[enrollment.flow_id]
        steps = _steps({e.flow_id for e in enrollments})
        orders = _orders_since(enrollments)
        for enrollment in enrollments:
            _run(enrollment, steps[enrollment.flow_id], orders.get(enrollment.customer_id, []), batch)
        _save(enrollments)
        FlowDecision.objects.bulk_create(batch.decisions, batch_size=1000)
        if batch.messages:
            enqueue(batch.messages)
        if batch.add_tags:
            CustomerTag.objects.bulk_create(batch.add_tags, ignore_conflicts=True)
        for customer_id, tags in batch.remove_tags.items():
            if tags:
                CustomerTag.objects.filter(customer_id=customer_id, tag__in=tags).delete()
    return len(enrollments)


def advance_due_enrollments(now: datetime | None = None, max_batches: int | None = None,
                            send: bool = True) -> int:
    """The scheduled task: advance every due enrollment, then hand new messages to the sender."""
    total = batches = 0
    while max_batches is None or batches < max_batches:
        count = advance_batch(now)
        if not count:
            break
        total += count
        batches += 1
    if total and send:
        from django_q.tasks import async_task

        async_task("campaigns.sender.send_due_messages")
    return total


