"""Exit goals, checked in SQL against the customer's whole timeline.

A flow's goal is reached when the customer has an ``order.placed`` event that

- carries the trigger's checkout or cart (any of its ``checkout_id``, ``checkout_token``, ``cart_token``
  equals any of the trigger's), whenever it was recorded and whatever its time: platforms do not order
  their deliveries, and the order that completed a checkout can arrive before the checkout itself;
- or, for "any order", happened at or after the trigger.

The trigger event itself never counts (a post-purchase flow is not ended by its own order). The checks
are one query per batch (an indexed ``EXISTS``-style subquery per row on the customer's orders), asked at
three moments: when a customer would enrol (``triggers.enrol``: the goal already reached, they do not
enter), before each run of an enrollment's steps (``engine``: so before every email and every wait's
decision), and when an order arrives (``triggers.apply_exit_goals``: active enrollments exit at once).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, NullIf

from shopconnect.timeline.models import Event

from ..models import Enrollment, Flow

REF_KEYS = ("checkout_id", "checkout_token", "cart_token")


def _ref(key: str, properties: str):
    """A checkout/cart reference as text, NULL when missing or empty (so '' never matches '')."""
    return NullIf(Cast(KeyTextTransform(key, properties), TextField()), Value(""), output_field=TextField())


def _orders(customer: str, trigger_id: str) -> QuerySet[Event]:
    orders = Event.objects.filter(customer_id=OuterRef(customer), type="order.placed").exclude(
        id=Coalesce(OuterRef(trigger_id), Value(0), output_field=BigIntegerField()))
    return orders.annotate(**{f"goal_o_{k}": _ref(k, "properties") for k in REF_KEYS}).order_by("occurred_at", "id")


def _annotate(queryset: QuerySet, *, customer: str, trigger_id: str, properties: str, trigger_time) -> QuerySet:
    """``goal_for_ref``: an order carrying the trigger's checkout/cart; ``goal_after``: an order at or after
    the trigger. Each is the order's id on the platform (``order_ref``), or NULL."""
    queryset = queryset.annotate(**{f"goal_t_{k}": _ref(k, properties) for k in REF_KEYS},
                                 goal_time=trigger_time)
    same = Q()
    for theirs in REF_KEYS:
        for ours in REF_KEYS:
            same |= Q(**{f"goal_o_{ours}": OuterRef(f"goal_t_{theirs}")})
    orders = _orders(customer, trigger_id)
    return queryset.annotate(
        goal_for_ref=Subquery(orders.filter(same).values("order_ref")[:1]),
        goal_after=Subquery(orders.filter(occurred_at__gte=OuterRef("goal_time")).values("order_ref")[:1]),
    )


def _reason(for_ref: str | None, after: str | None, any_order: bool) -> str:
    if for_ref is not None:
        return f"goal reached: {_order(for_ref)} for this checkout or cart"
    if any_order and after is not None:
        return f"goal reached: {_order(after)} placed after the trigger"
    return ""


def _order(ref: str) -> str:
    return f"order {ref}" if ref else "an order"


def _with_orders(queryset: QuerySet) -> QuerySet:
    """Only rows whose customer has an order at all: one cheap indexed query narrows the batch (most cart
    abandoners of a batch never ordered) before the per-row subqueries run."""
    buyers = Event.objects.filter(customer_id=OuterRef("customer_id"), type="order.placed")
    return queryset.filter(Exists(buyers))


def reached_for_enrollments(enrollment_ids: Iterable[int]) -> dict[int, str]:
    """Enrollments (of flows with a goal) whose goal is reached: id -> the reason for the log."""
    ids = list(enrollment_ids)
    if not ids:
        return {}
    candidates = list(_with_orders(Enrollment.objects.filter(id__in=ids).exclude(flow__exit_goal="")).order_by()
                      .values_list("id", flat=True))
    if not candidates:
        return {}
    rows = _annotate(Enrollment.objects.filter(id__in=candidates).order_by(), customer="customer_id",
                     trigger_id="trigger_event_id", properties="trigger_event__properties",
                     trigger_time=Coalesce(F("trigger_event__occurred_at"), F("entered_at")))
    reasons = {}
    for pk, goal, for_ref, after in rows.values_list("id", "flow__exit_goal", "goal_for_ref", "goal_after"):
        why = _reason(for_ref, after, goal == Flow.Goal.ANY_ORDER)
        if why:
            reasons[pk] = why
    return reasons


def reached_for_triggers(flow: Flow, event_ids: Iterable[int]) -> dict[int, str]:
    """Trigger events whose goal (in this flow) is already reached: event id -> the reason."""
    ids = list(event_ids)
    if not flow.exit_goal or not ids:
        return {}
    candidates = list(_with_orders(Event.objects.filter(id__in=ids)).order_by().values_list("id", flat=True))
    if not candidates:
        return {}
    rows = _annotate(Event.objects.filter(id__in=candidates).order_by(), customer="customer_id", trigger_id="id",
                     properties="properties", trigger_time=F("occurred_at"))
    reasons = {}
    for pk, for_ref, after in rows.values_list("id", "goal_for_ref", "goal_after"):
        why = _reason(for_ref, after, flow.exit_goal == Flow.Goal.ANY_ORDER)
        if why:
            reasons[pk] = why
    return reasons
