"""Shopify orders and refunds -> canonical order events (pure).

Topics: ``orders/create``, ``orders/paid``, ``orders/updated``, ``orders/cancelled``,
``orders/fulfilled``, ``refunds/create`` (and the same shapes from the GraphQL backfill, converted by
``integrations.shopify.backfill``).

An order is a set of transitions, each an event with a dedupe key taken from the order itself:
``shopify:order:<id>:placed|paid|fulfilled|cancelled`` and ``shopify:refund:<id>``. Every order topic
emits every transition its snapshot shows, so a missed or late ``orders/create`` is recovered from any
later topic, a duplicate adds nothing, and an ``orders/updated`` older than what is stored can only
repeat transitions already recorded: events are never removed, so state never rolls back.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shopconnect.timeline.canonical import CanonicalEvent

from .parse import email_of, line_items, money, money_str, required_when, sid, when

SOURCE = "shopify"
PAID_STATES = frozenset({"paid", "partially_refunded", "refunded"})


def _identity(order: dict) -> dict[str, Any]:
    customer = order.get("customer") or {}
    return {
        "email": email_of(order.get("email"), order.get("contact_email"), customer.get("email")),
        "external_id": sid(customer.get("id")),
    }


def order_events(order: dict) -> list[CanonicalEvent]:
    """Every transition an order snapshot shows (placed, then paid/fulfilled/cancelled/refunds)."""
    order_id = sid(order["id"])
    who = _identity(order)
    placed_at = required_when(order, "created_at", "processed_at")
    total = money(order.get("total_price"))
    events = [
        CanonicalEvent(
            type="order.placed",
            occurred_at=placed_at,
            dedupe_key=f"shopify:order:{order_id}:placed",
            source=SOURCE,
            order_ref=order_id,
            amount=total if total is not None else Decimal("0.00"),
            properties={
                "order_id": order_id,
                "order_number": str(order.get("order_number") or order.get("name") or ""),
                "total": money_str(order.get("total_price")),
                "subtotal": money_str(order.get("subtotal_price")),
                "currency": order.get("currency") or "",
                "line_items": line_items(order.get("line_items")),
                "discount_codes": [d.get("code") for d in order.get("discount_codes") or [] if d.get("code")],
                "checkout_id": sid(order.get("checkout_id")),
                "checkout_token": order.get("checkout_token"),
                "cart_token": order.get("cart_token"),
            },
            **who,
        )
    ]
    updated_at = when(order.get("updated_at")) or placed_at
    if order.get("financial_status") in PAID_STATES:
        events.append(
            CanonicalEvent(
                type="order.paid",
                occurred_at=when(order.get("processed_at")) or updated_at,
                dedupe_key=f"shopify:order:{order_id}:paid",
                source=SOURCE,
                order_ref=order_id,
                properties={"order_id": order_id, "total": money_str(order.get("total_price"))},
                **who,
            )
        )
    if order.get("fulfillment_status") == "fulfilled":
        fulfilled_at = max(
            (when(f.get("created_at")) for f in order.get("fulfillments") or [] if f.get("created_at")),
            default=updated_at,
        )
        events.append(
            CanonicalEvent(
                type="order.fulfilled",
                occurred_at=fulfilled_at,
                dedupe_key=f"shopify:order:{order_id}:fulfilled",
                source=SOURCE,
                order_ref=order_id,
                properties={"order_id": order_id},
                **who,
            )
        )
    if order.get("cancelled_at"):
        events.append(
            CanonicalEvent(
                type="order.cancelled",
                occurred_at=when(order["cancelled_at"]),
                dedupe_key=f"shopify:order:{order_id}:cancelled",
                source=SOURCE,
                order_ref=order_id,
                amount=total,
                properties={"order_id": order_id, "reason": order.get("cancel_reason") or ""},
                **who,
            )
        )
    for refund in order.get("refunds") or []:
        events.append(refund_event({**refund, "order_id": refund.get("order_id") or order["id"]}, who))
    return events


def refund_amount(refund: dict) -> Decimal:
    """Money given back: successful refund transactions, else the refunded lines and their tax."""
    transactions = [
        t
        for t in refund.get("transactions") or []
        if t.get("kind") == "refund" and t.get("status") in ("success", None)
    ]
    if transactions:
        return sum((money(t.get("amount")) or Decimal("0") for t in transactions), Decimal("0.00"))
    lines = refund.get("refund_line_items") or []
    return sum(
        (
            (money(li.get("subtotal")) or Decimal("0")) + (money(li.get("total_tax")) or Decimal("0"))
            for li in lines
        ),
        Decimal("0.00"),
    )


def refund_event(refund: dict, who: dict[str, Any] | None = None) -> CanonicalEvent:
    """``refunds/create`` carries no customer: ``who`` comes from the order when known (see adapter)."""
    order_id = sid(refund["order_id"])
    refund_id = sid(refund["id"])
    amount = refund_amount(refund)
    return CanonicalEvent(
        type="order.refunded",
        occurred_at=required_when(refund, "created_at", "processed_at"),
        dedupe_key=f"shopify:refund:{refund_id}",
        source=SOURCE,
        order_ref=order_id,
        amount=amount,
        properties={
            "order_id": order_id,
            "refund_id": refund_id,
            "amount": str(amount),
            "line_items": [
                {**line_items([li.get("line_item") or {}])[0], "quantity": int(li.get("quantity") or 0)}
                for li in refund.get("refund_line_items") or []
            ],
        },
        **(who or {}),
    )
