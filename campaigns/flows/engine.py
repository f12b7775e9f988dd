"""The flow engine: advance due enrollments in batches, recording every decision.

``advance_due_enrollments`` claims a batch of active enrollments whose ``due_at`` has passed (row locks
with SKIP LOCKED on PostgreSQL; SQLite's write lock serializes), runs each through its steps until it
has to wait, and writes the batch back with bulk statements: enrollments, decisions, outbox rows
(idempotent keys: flow, step, customer, trigger; and an intent key, ``intent``, so that two flows never
queue the same kind of message about the same checkout, cart or product), tags. Then the sender is
enqueued. A customer in the flow's holdout (``Flow.holdout_percent``, by hash of flow and customer) gets
skipped ``holdout`` rows instead of emails.

Before each run of an enrollment the exit goal is checked against the whole timeline (``goals``, one
query per batch), and waits for an event look for it in one query per wait step, so nothing here loops
over a customer's events in Python.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import BigIntegerField, Exists, OuterRef, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from shopconnect.timeline.models import CustomerTag, Event

from ..campaign.assign import in_holdout
from ..consent import suppress
from ..models import HOLDOUT, Enrollment, Flow, FlowDecision, FlowStep, Message
from ..outbox import enqueue, message_key
from ..policy import local_zone
from .goals import reached_for_enrollments
from .intent import intent_key, refused
from .steps import delay_until, pick_variant
from .triggers import flow_filters_match

BATCH_SIZE = 500
MAX_STEPS_PER_RUN = 50  # a misconfigured loop of instant steps stops here and resumes next run


class _Batch:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.decisions: list[FlowDecision] = []
        self.messages: list[Message] = []
        self.queued: dict[str, FlowDecision] = {}  # idempotency key -> its "email queued" decision
        self.add_tags: list[CustomerTag] = []
        self.remove_tags: dict[int, list[str]] = defaultdict(list)
        self.splits: dict[int, dict | None] = {}

    def split(self, flow: Flow, step: FlowStep) -> dict | None:
        """The variant everyone now gets at an A/B split whose test period is over, else None."""
        if step.pk not in self.splits:
            from ..campaign.abtest import decide_split

            self.splits[step.pk] = decide_split(flow, step, self.now)
        return self.splits[step.pk]

    def enqueue(self) -> None:
        """Write the outbox rows; a row refused because another flow holds its intent (``intent``) is
        written as skipped instead, and its decision says why."""
        if not self.messages:
            return
        enqueue(self.messages)
        with_intent: dict[int, list[Message]] = defaultdict(list)
        for m in self.messages:
            if m.intent_key:
                with_intent[m.store_id].append(m)
        lost: dict[str, str] = {}
        for store_id, rows in with_intent.items():
            lost.update(refused(store_id, rows))
        skipped = []
        for m in self.messages:
            why = lost.get(m.idempotency_key)
            if why:
                m.intent_key, m.state, m.skip_reason = "", Message.State.SKIPPED, why
                skipped.append(m)
                decision = self.queued.get(m.idempotency_key)
                if decision is not None:
                    decision.kind, decision.detail = FlowDecision.Kind.SKIPPED, f"not queued: {why}"[:300]
        if skipped:
            enqueue(skipped)

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


def _waits_over(enrollments: list[Enrollment], steps: dict[int, dict[int, FlowStep]]) -> set[int]:
    """Enrollments resuming at a wait-for-event step whose event has happened since the wait began
    (whenever it was recorded; the trigger event itself never counts): one query per wait step."""
    waiting: dict[tuple[int, int], list[int]] = defaultdict(list)
    for e in enrollments:
        step = steps[e.flow_id].get(e.position)
        if step is not None and step.kind == FlowStep.Kind.WAIT_FOR_EVENT and e.waiting_since is not None:
            waiting[(e.flow_id, e.position)].append(e.pk)
    over: set[int] = set()
    for (flow_id, position), ids in waiting.items():
        types = (steps[flow_id][position].config or {}).get("event_types") or []
        happened = Event.objects.filter(customer_id=OuterRef("customer_id"), type__in=types,
                                        occurred_at__gte=OuterRef("waiting_since")).exclude(
            id=Coalesce(OuterRef("trigger_event_id"), Value(0), output_field=BigIntegerField()))
        over.update(Enrollment.objects.filter(id__in=ids).filter(Exists(happened)).values_list("id", flat=True))
    return over


def _finish(enrollment: Enrollment, batch: _Batch, status: str, reason: str, step=None) -> None:
    enrollment.status, enrollment.finished_at, enrollment.exit_reason = status, batch.now, reason[:200]
    enrollment.waiting_since = None
    kind = FlowDecision.Kind.COMPLETED if status == Enrollment.Status.COMPLETED else FlowDecision.Kind.EXITED
    batch.log(enrollment, step, kind, reason)


def _trigger_time(enrollment: Enrollment, now: datetime) -> datetime:
    event = enrollment.trigger_event
    return min(event.occurred_at, now) if event is not None else enrollment.entered_at


def _run(enrollment: Enrollment, steps: dict[int, FlowStep], goal: str, waited: bool, batch: _Batch) -> None:
    """Run one enrollment's steps until it has to wait. ``goal`` is the exit goal's reason when it is
    reached (checked for every run, so before every email and every wait's decision); ``waited`` says
    that the event a wait-for-event step is waiting for has happened."""
    flow, now = enrollment.flow, batch.now
    if goal:
        _finish(enrollment, batch, Enrollment.Status.EXITED, goal)
        return
    if not flow.enabled:
        enrollment.due_at = now + timedelta(hours=1)  # paused: keep the place, look again later
        return
    position: int | None = enrollment.position
    # Nothing has waited yet in this flow: a wait starting now counts events from the trigger on.
    from_trigger = enrollment.waiting_since is None and position == min(steps, default=position)
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
            from_trigger = False
            position = _next(step, steps)
        elif kind == FlowStep.Kind.WAIT_FOR_EVENT:
            types = config.get("event_types") or []
            timeout = timedelta(hours=float(config.get("timeout_hours") or 0))
            if enrollment.waiting_since is None:
                start = _trigger_time(enrollment, now) if from_trigger else now
                enrollment.waiting_since = start
                # Begun in the past (at the trigger): look at what already happened on the next pass.
                enrollment.due_at = now if start < now else start + timeout
                batch.log(enrollment, step, FlowDecision.Kind.WAITED, f"for {', '.join(types)} until "
                          f"{start + timeout:%Y-%m-%d %H:%M} UTC")
                return
            from_trigger = False
            if waited:
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
            trigger = enrollment.trigger_event
            message = Message(
                store_id=flow.store_id, customer_id=enrollment.customer_id, template_id=step.template_id,
                flow_id=flow.pk, step_id=step.pk, enrollment_id=enrollment.pk,
                trigger_event_id=enrollment.trigger_event_id, variant=HOLDOUT if held else enrollment.variant,
                context=context, message_class=step.message_class,
                idempotency_key=message_key("flow", flow.pk, "step", step.pk, "customer", enrollment.customer_id,
                                            enrollment.entry_key),
                # a holdout row holds the intent too: the control group gets no copy from another flow
                intent_key=intent_key(flow, step, steps.values(), trigger.type if trigger else None,
                                      trigger.properties if trigger else None),
                next_attempt_at=now,
                **({"state": Message.State.SKIPPED, "skip_reason": "holdout"} if held else {}),
            )
            batch.messages.append(message)
            if held:
                batch.log(enrollment, step, FlowDecision.Kind.SKIPPED, "holdout: not sent (control group)")
            else:
                batch.log(enrollment, step, FlowDecision.Kind.SENT, f"queued {step.template}")
            batch.queued[message.idempotency_key] = batch.decisions[-1]
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
            decided = batch.split(flow, step)
            if decided is not None:  # the test period is over: everyone gets the winner (or the default)
                variant, why = decided, f"variant {decided['label']}: {step.decision_reason}"
            else:
                variant = pick_variant(config["variants"], flow.pk, step.pk, enrollment.customer_id)
                why = f"variant {variant['label']}"
            enrollment.variant = str(variant["label"])[:32]
            batch.log(enrollment, step, FlowDecision.Kind.BRANCHED, why)
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
            *ENROLLMENT_FIELDS, "customer__email", "customer__timezone", "trigger_event__occurred_at",
            "trigger_event__type", "trigger_event__properties")[:size])
        if not enrollments:
            return 0
        flows = {f.pk: f for f in Flow.objects.filter(id__in={e.flow_id for e in enrollments}).select_related("store")}
        for enrollment in enrollments:
            enrollment.flow = flows[enrollment.flow_id]
        steps = _steps({e.flow_id for e in enrollments})
        goals = reached_for_enrollments([e.pk for e in enrollments if e.flow.exit_goal])
        waited = _waits_over(enrollments, steps)
        for enrollment in enrollments:
            _run(enrollment, steps[enrollment.flow_id], goals.get(enrollment.pk, ""), enrollment.pk in waited, batch)
        _save(enrollments)
        batch.enqueue()
        FlowDecision.objects.bulk_create(batch.decisions, batch_size=1000)
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


