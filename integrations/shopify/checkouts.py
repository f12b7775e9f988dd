"""Shopify checkouts and carts -> canonical events (pure).

Topics: ``checkouts/create``, ``checkouts/update``, ``carts/create``, ``carts/update``.

A checkout is ``checkout.started`` once (``shopify:checkout:<id>:started``) and a
``checkout.updated`` per version (``shopify:checkout:<id>:<updated_at>``); an update whose create was
never delivered still yields the ``checkout.started``. Events carry ``checkout_id``, ``checkout_token``
and ``cart_token`` so that the order completing a checkout (whose ``order.placed`` carries the same
values) can be matched to it, and ``recovery_url`` (Shopify's ``abandoned_checkout_url``) for
cart-recovery emails. Carts carry no customer: the adapter links a cart to the customer of an earlier
checkout or order with the same cart token.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.values import first_timestamp as required_when
from integrations.values import money_text, stamp
from shopconnect.timeline.canonical import CanonicalEvent

from .parse import email_of, line_items, sid

SOURCE = "shopify"


def checkout_step(checkout: dict) -> str:
    if checkout.get("shipping_lines") or checkout.get("shipping_line"):
        return "payment"
    if checkout.get("shipping_address"):
        return "shipping"
    return "contact"


def checkout_events(checkout: dict, created: bool) -> list[CanonicalEvent]:
    # Keyed by the numeric id, which the GraphQL backfill (AbandonedCheckout) shares; the token is kept.
    key = sid(checkout.get("id")) or checkout["token"]
    token = checkout.get("token")
    customer = checkout.get("customer") or {}
    who: dict[str, Any] = {
        "email": email_of(checkout.get("email"), customer.get("email")),
        "external_id": sid(customer.get("id")),
    }
    props = {
        "checkout_id": sid(checkout.get("id")),
        "checkout_token": token,
        "cart_token": checkout.get("cart_token"),
        "total": money_text(checkout.get("total_price"), "total_price"),
        "currency": checkout.get("presentment_currency") or checkout.get("currency") or "",
        "line_items": line_items(checkout.get("line_items")),
        "recovery_url": checkout.get("abandoned_checkout_url") or "",
    }
    started_at = required_when(checkout, "created_at", "updated_at")
    events = [
        CanonicalEvent(
            type="checkout.started",
            occurred_at=started_at,
            dedupe_key=f"shopify:checkout:{key}:started",
            source=SOURCE,
            properties=props,
            **who,
        )
    ]
    if not created:
        updated_at = required_when(checkout, "updated_at", "created_at")
        events.append(
            CanonicalEvent(
                type="checkout.updated",
                occurred_at=updated_at,
                dedupe_key=f"shopify:checkout:{key}:{stamp(updated_at)}",
                source=SOURCE,
                properties={
                    **props,
                    "step": checkout_step(checkout),
                    "completed": bool(checkout.get("completed_at")),
                },
                **who,
            )
        )
    return events


def cart_events(cart: dict) -> list[CanonicalEvent]:
    token = cart.get("token") or sid(cart["id"])
    updated_at = required_when(cart, "updated_at", "created_at")
    items = line_items(cart.get("line_items"))
    total = sum((Decimal(i["price"] or "0") * i["quantity"] for i in items), Decimal("0.00"))
    return [
        CanonicalEvent(
            type="cart.updated",
            occurred_at=updated_at,
            dedupe_key=f"shopify:cart:{token}:{stamp(updated_at)}",
            source=SOURCE,
            properties={"cart_token": token, "action": "updated", "line_items": items, "total": str(total)},
        )
    ]
