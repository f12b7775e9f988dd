"""Attribution: credit each placed order to the email that earned it (``AttributedOrder``).

The rule, per store (``EmailProvider``; defaults when the store has none): the last email the customer
CLICKED within ``click_window_days`` before the order, else the last email OPENED within
``open_window_days`` (0: opens never count), opens flagged ``machine`` left out when
``exclude_machine_opens``. The window edges are inclusive: a click exactly 5 days before the order
counts, one 5 days and a second before does not. Only the customer's own ``email.*`` events count.

Set-based: ``attribute_orders`` handles a batch of events with a constant number of statements (one
SELECT that finds each order's last click and last open with correlated subqueries on the
``(customer, type, occurred_at)`` index, one for the touched events, one for their messages, one
INSERT, one UPDATE for refunds), whatever the batch size. Idempotent: an order event is credited once
(``order_event`` is unique) and an order id already credited is skipped, so redelivered or replayed
orders are never credited twice.

Refunds net out: ``refresh_refunds`` sets ``refunded`` to the sum of the order's ``order.refunded``
amounts (at most the revenue), or the whole revenue once the order is cancelled; it recomputes from the
timeline, so it can run any number of times. ``reattribute_after_touches`` handles opens and clicks that
arrive after the order they precede; ``rebuild_attribution`` redoes a store's date range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least

from shopconnect.timeline import vocabulary as v
from shopconnect.timeline.aggregates import MONEY
from shopconnect.timeline.models import Event, Store

from ..models import AttributedOrder, EmailProvider, Message

CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Windows:
    click_days: int = 5
    open_days: int = 5
    exclude_machine_opens: bool = True

    @classmethod
    def for_store(cls, store_id: int) -> Windows:
        row = (EmailProvider.objects.filter(store_id=store_id)
               .values_list("click_window_days", "open_window_days", "exclude_machine_opens").first())
        return cls(*row) if row else cls()

    @property
    def longest(self) -> timedelta:
        return timedelta(days=max(self.click_days, self.open_days))


def _last_touch(event_type: str, days: int, exclude_machine: bool = False) -> Subquery:
    since = ExpressionWrapper(OuterRef("occurred_at") - timedelta(days=days), output_field=DateTimeField())
    touches = Event.objects.filter(
        customer_id=OuterRef("customer_id"), type=event_type,
        occurred_at__lte=OuterRef("occurred_at"), occurred_at__gte=since,
        properties__has_key="message_id",
    )
    if exclude_machine:
        touches = touches.exclude(properties__machine=True)
    return Subquery(touches.order_by("-occurred_at", "-id").values("id")[:1])


def attribute_orders(store_id: int, event_ids: Sequence[int], windows: Windows | None = None) -> int:
    """Credit the ``order.placed`` events among these ids; returns how many orders were credited."""
    windows = windows or Windows.for_store(store_id)
    credited = 0
    ids = list(event_ids)
    for start in range(0, len(ids), CHUNK):
        credited += _attribute_chunk(store_id, ids[start : start + CHUNK], windows)
    return credited


def _attribute_chunk(store_id: int, ids: list[int], windows: Windows) -> int:
    already = AttributedOrder.objects.filter(store_id=store_id, order_id=OuterRef("order_ref"))
    orders = (Event.objects.filter(store_id=store_id, id__in=ids, type=v.ORDER_PLACED, customer__isnull=False)
              .exclude(order_ref="").filter(~Exists(already)))
    annotations = {"click_id": _last_touch(v.EMAIL_CLICKED, windows.click_days)}
    if windows.open_days:
        annotations["open_id"] = _last_touch(v.EMAIL_OPENED, windows.open_days, windows.exclude_machine_opens)
    rows = list(orders.annotate(**annotations).order_by("occurred_at", "id").values(
        "id", "customer_id", "order_ref", "occurred_at", "amount", *annotations))
    touched = [(row, "click", row["click_id"]) if row["click_id"] else (row, "open", row.get("open_id"))
               for row in rows]
    touched = [(row, touch, tid) for row, touch, tid in touched if tid]
    if not touched:
        return 0
    touch_events = {e["id"]: e for e in Event.objects.filter(id__in=[t for _, _, t in touched])
                    .values("id", "occurred_at", "properties")}
    message_ids = {int(mid) for e in touch_events.values()
                   if str(mid := e["properties"].get("message_id", "")).isdigit()}
    messages = {m["id"]: m for m in Message.objects.filter(store_id=store_id, id__in=message_ids)
                .values("id", "campaign_id", "flow_id", "step_id", "variant")}
    credits: dict[str, AttributedOrder] = {}
    for row, touch, tid in touched:
        event = touch_events[tid]
        raw = str(event["properties"].get("message_id", ""))
        message = messages.get(int(raw)) if raw.isdigit() else None
        if row["order_ref"] in credits:
            continue  # the same order twice in one batch (another dedupe key): the first wins
        credits[row["order_ref"]] = AttributedOrder(
            store_id=store_id, order_event_id=row["id"], customer_id=row["customer_id"], order_id=row["order_ref"],
            ordered_at=row["occurred_at"], revenue=row["amount"] or Decimal("0"),
            message_id=message["id"] if message else None,
            campaign_id=message["campaign_id"] if message else None,
            flow_id=message["flow_id"] if message else None,
            step_id=message["step_id"] if message else None,
            variant=(message["variant"] if message else str(event["properties"].get("variant") or ""))[:32],
            touch=touch, touched_at=event["occurred_at"],
        )
    with transaction.atomic():
        created = AttributedOrder.objects.bulk_create(list(credits.values()), ignore_conflicts=True)
        refresh_refunds(store_id, list(credits))
    return len(created)


def reattribute_after_touches(store_id: int, event_ids: Sequence[int], windows: Windows | None = None) -> int:
    """Opens and clicks that arrive after the order they precede (a provider's webhook late, a replay):
    recompute the credit of the orders those customers placed within the window after the touches.
    A constant number of statements; recomputing a credit that was already right changes nothing."""
    windows = windows or Windows.for_store(store_id)
    touches = list(Event.objects.filter(store_id=store_id, id__in=list(event_ids), customer__isnull=False,
                                        type__in=(v.EMAIL_CLICKED, v.EMAIL_OPENED), properties__has_key="message_id")
                   .values_list("customer_id", "occurred_at"))
    if not touches:
        return 0
    times = [at for _, at in touches]
    orders = list(Event.objects.filter(store_id=store_id, type=v.ORDER_PLACED, customer_id__in={c for c, _ in touches},
                                       occurred_at__gte=min(times), occurred_at__lte=max(times) + windows.longest)
                  .exclude(order_ref="").values_list("id", "order_ref"))
    if not orders:
        return 0
    with transaction.atomic():
        AttributedOrder.objects.filter(store_id=store_id, order_id__in={ref for _, ref in orders}).delete()
        return attribute_orders(store_id, [pk for pk, _ in orders], windows)


def refresh_refunds(store_id: int, order_ids: Iterable[str]) -> int:
    """Set ``refunded`` of these credited orders from their refunds and cancellation (one UPDATE)."""
    order_ids = list(order_ids)
    if not order_ids:
        return 0
    # ``order_ref <> ''`` lets PostgreSQL use the partial (store, order_ref) index.
    refunds = (Event.objects.filter(store_id=store_id, type=v.ORDER_REFUNDED, order_ref=OuterRef("order_id"))
               .exclude(order_ref="").order_by().values("order_ref").annotate(total=Sum("amount")).values("total"))
    cancelled = (Event.objects.filter(store_id=store_id, type=v.ORDER_CANCELLED, order_ref=OuterRef("order_id"))
                 .exclude(order_ref=""))
    zero = Value(Decimal("0"), output_field=MONEY)
    updated = 0
    for start in range(0, len(order_ids), CHUNK):
        chunk = order_ids[start : start + CHUNK]
        updated += AttributedOrder.objects.filter(store_id=store_id, order_id__in=chunk).update(
            refunded=Case(
                When(Exists(cancelled), then=F("revenue")),
                default=Least(Coalesce(Subquery(refunds, output_field=MONEY), zero), F("revenue")),
                output_field=MONEY,
            )
        )
    return updated


def net_out(store_id: int, event_ids: Sequence[int]) -> int:
    """Refunds and cancellations among these events: refresh the credited orders they name."""
    refs = set(Event.objects.filter(store_id=store_id, id__in=list(event_ids),
                                    type__in=(v.ORDER_REFUNDED, v.ORDER_CANCELLED))
               .exclude(order_ref="").values_list("order_ref", flat=True))
    return refresh_refunds(store_id, refs)


def rebuild_attribution(store: Store | int, since: datetime | None = None, until: datetime | None = None) -> int:
    """Forget and recompute the credits of a store's orders placed in [since, until)."""
    store_id = store.pk if isinstance(store, Store) else store
    orders = Event.objects.filter(store_id=store_id, type=v.ORDER_PLACED)
    credited = AttributedOrder.objects.filter(store_id=store_id)
    if since:
        orders, credited = orders.filter(occurred_at__gte=since), credited.filter(ordered_at__gte=since)
    if until:
        orders, credited = orders.filter(occurred_at__lt=until), credited.filter(ordered_at__lt=until)
    windows = Windows.for_store(store_id)
    with transaction.atomic():
        credited.delete()
        ids = list(orders.order_by("id").values_list("id", flat=True))
        return attribute_orders(store_id, ids, windows)
