"""Shopify orders and refunds -> canonical order events (pure), through ``integrations.orders``.

Topics: ``orders/create``, ``orders/paid``, ``orders/updated``, ``orders/cancelled``,
``orders/fulfilled``, ``orders/partially_fulfilled``, ``refunds/create`` (and the same shapes from the
GraphQL backfill, converted by ``integrations.shopify.backfill``).

Every order topic reads the whole snapshot into an ``Order`` and emits every transition it shows
(placed, paid, fulfilled, cancelled, each refund), so a missed or late ``orders/create`` is recovered from
any later topic, a duplicate adds nothing, and an ``orders/updated`` older than what is stored can only
repeat transitions already recorded: events are never removed, so state never rolls back.

Kept for rules and emails: tags, ``source_name``, landing and referring site, ``customer_locale``,
``buyer_accepts_marketing``, discount codes and automatic discounts (``discount_applications``,
``total_discounts``), ``current_total_price``, shipping/billing city and province, line-item vendor and
variant title, fulfillment tracking numbers and URLs, ``note_attributes`` (as ``attributes``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from integrations.orders import Order, Refund, discount_application, refund_event
from integrations.orders import order_events as canonical_order_events
from integrations.values import first_timestamp, money, platform_id, tag_list, text, timestamp
from shopconnect.timeline.canonical import CanonicalEvent

from .parse import email_of, line_items

SOURCE = "shopify"
PAID_STATES = frozenset({"paid", "partially_refunded", "refunded"})


def _identity(order: dict) -> dict[str, Any]:
    customer = order.get("customer") or {}
    return {
        "email": email_of(order.get("email"), order.get("contact_email"), customer.get("email")),
        "external_id": platform_id(customer.get("id")),
    }


def _discount_applications(order: dict) -> list[dict[str, Any]]:
    return [
        discount_application(d.get("type"), d.get("title") or d.get("description"), d.get("code"), d.get("value"),
                             d.get("value_type"), d.get("target_type"))
        for d in order.get("discount_applications") or []
    ]


def _tracking(order: dict) -> list[dict[str, str]]:
    out = []
    for f in order.get("fulfillments") or []:
        numbers = f.get("tracking_numbers") or ([f["tracking_number"]] if f.get("tracking_number") else [])
        urls = f.get("tracking_urls") or ([f["tracking_url"]] if f.get("tracking_url") else [])
        for i in range(max(len(numbers), len(urls), 1 if f.get("tracking_company") else 0)):
            out.append({"number": numbers[i] if i < len(numbers) else "", "url": urls[i] if i < len(urls) else "",
                        "company": f.get("tracking_company") or ""})
    return out


def _refund(refund: dict, order_id: str) -> Refund:
    return Refund(
        refund_id=platform_id(refund["id"]),
        at=first_timestamp(refund, "created_at", "processed_at"),
        amount=refund_amount(refund),
        reason=text(refund.get("note"), 300),
        line_items=[
            {**line_items([li.get("line_item") or {}])[0], "quantity": int(li.get("quantity") or 0)}
            for li in refund.get("refund_line_items") or []
        ],
    )


def order_facts(order: dict) -> Order:
    """What a Shopify order snapshot says, in the shared shape."""
    order_id = platform_id(order["id"])
    placed_at = first_timestamp(order, "created_at", "processed_at")
    updated_at = timestamp(order.get("updated_at"), "updated_at") or placed_at
    address = order.get("billing_address") or order.get("shipping_address") or {}
    shipping = sum((money(s.get("price"), "shipping_lines.price") or Decimal("0") for s in
                    order.get("shipping_lines") or []), Decimal("0.00"))
    fulfilled_at = None
    if order.get("fulfillment_status") == "fulfilled":
        times = [timestamp(f.get("created_at"), "fulfillments.created_at") for f in order.get("fulfillments") or []]
        fulfilled_at = max((t for t in times if t), default=updated_at)
    return Order(
        platform=SOURCE,
        order_id=order_id,
        placed_at=placed_at,
        **_identity(order),
        order_number=str(order.get("order_number") or order.get("name") or ""),
        currency=order.get("currency") or "",
        total=money(order.get("total_price"), "total_price"),
        subtotal=money(order.get("subtotal_price"), "subtotal_price"),
        current_total=money(order.get("current_total_price"), "current_total_price"),
        total_discounts=money(order.get("total_discounts"), "total_discounts"),
        total_tax=money(order.get("total_tax"), "total_tax"),
        total_shipping=money(order.get("total_shipping_price_set"), "total_shipping_price_set")
        if order.get("total_shipping_price_set") else (shipping if order.get("shipping_lines") else None),
        line_items=line_items(order.get("line_items")),
        discount_codes=[d.get("code") for d in order.get("discount_codes") or [] if d.get("code")],
        discount_applications=_discount_applications(order),
        shipping_lines=[{"title": text(s.get("title"), 200), "code": text(s.get("code"), 100),
                         "price": str(money(s.get("price"), "shipping_lines.price") or "0.00")}
                        for s in order.get("shipping_lines") or []],
        checkout_id=platform_id(order.get("checkout_id")),
        checkout_token=order.get("checkout_token"),
        cart_token=order.get("cart_token"),
        tags=tag_list(order.get("tags")),
        source_name=text(order.get("source_name"), 100),
        landing_site=text(order.get("landing_site"), 2000),
        referring_site=text(order.get("referring_site"), 2000),
        customer_locale=text(order.get("customer_locale"), 20),
        buyer_accepts_marketing=order.get("buyer_accepts_marketing"),
        payment_method=", ".join(order.get("payment_gateway_names") or []),
        note=text(order.get("note"), 2000),
        city=text(address.get("city"), 200),
        province=text(address.get("province"), 200),
        country=text(address.get("country_code"), 2).upper(),
        attributes={str(a.get("name")): a.get("value") for a in order.get("note_attributes") or [] if a.get("name")},
        paid_at=(timestamp(order.get("processed_at"), "processed_at") or updated_at)
        if order.get("financial_status") in PAID_STATES else None,
        fulfilled_at=fulfilled_at,
        tracking=_tracking(order),
        cancelled_at=timestamp(order.get("cancelled_at"), "cancelled_at"),
        cancel_reason=order.get("cancel_reason") or "",
        refunds=[_refund(r, order_id) for r in order.get("refunds") or []],
    )


def order_events(order: dict) -> list[CanonicalEvent]:
    """Every transition an order snapshot shows (placed, then paid/fulfilled/cancelled/refunds)."""
    return canonical_order_events(order_facts(order))


def refund_amount(refund: dict) -> Decimal:
    """Money given back: successful refund transactions, else the refunded lines and their tax."""
    transactions = [
        t
        for t in refund.get("transactions") or []
        if t.get("kind") == "refund" and t.get("status") in ("success", None)
    ]
    if transactions:
        return sum((money(t.get("amount"), "transactions.amount") or Decimal("0") for t in transactions),
                   Decimal("0.00"))
    lines = refund.get("refund_line_items") or []
    return sum(
        (
            (money(li.get("subtotal"), "refund_line_items.subtotal") or Decimal("0"))
            + (money(li.get("total_tax"), "refund_line_items.total_tax") or Decimal("0"))
            for li in lines
        ),
        Decimal("0.00"),
    )


def refund_events(refund: dict) -> list[CanonicalEvent]:
    """``refunds/create`` carries no customer: the adapter finds the order's owner (``expand``)."""
    order_id = platform_id(refund["order_id"])
    currency = next((t.get("currency") for t in refund.get("transactions") or [] if t.get("currency")), "")
    return [refund_event(SOURCE, order_id, _refund(refund, order_id), currency=currency)]
