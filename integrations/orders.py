"""One builder of canonical order events for every platform.

An adapter reads its payload into an ``Order`` (plain facts: who, when, how much, which lines, and the
transitions the snapshot shows); ``order_events`` turns it into the timeline's events. So every platform's
``order.placed`` / ``order.paid`` / ``order.fulfilled`` / ``order.cancelled`` / ``order.refunded``
carries the same properties under the same names, and the same dedupe keys:

- ``<platform>:order:<order id>:placed|paid|fulfilled|cancelled``
- ``<platform>:refund:<refund id>`` (refund ids are unique per store on both platforms)

Keys come from the resource alone, never from the delivery or the clock, so a webhook, its redelivery,
a backfill and a reconciliation of the same order give each event once. A fact the platform does not
have is empty (``""``, ``[]``, ``None``) but the key is always there. Pure: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from shopconnect.timeline.canonical import CanonicalEvent

from .values import money

ZERO = Decimal("0.00")


def line_item(
    *,
    product_id: str | None,
    variant_id: str | None,
    title: str,
    quantity: int,
    price: Decimal | None,
    sku: str = "",
    vendor: str = "",
    variant_title: str = "",
) -> dict[str, Any]:
    """One order, checkout or refund line in the timeline's shape (money as a decimal string)."""
    return {
        "product_id": product_id or "",
        "variant_id": variant_id or "",
        "title": title or "",
        "variant_title": variant_title or "",
        "sku": sku or "",
        "vendor": vendor or "",
        "quantity": quantity,
        "price": None if price is None else str(price),
    }


def discount_application(kind: str, title: Any, code: Any, value: Any, value_type: str,
                         target_type: str) -> dict[str, Any]:
    """One discount the order got (a code or an automatic discount), in one shape for every platform:
    ``value`` is the amount (``fixed_amount``) or the percentage (``percentage``) as a decimal string."""
    amount = money(value, "discount_applications.value")
    return {
        "type": kind or "",
        "title": str(title or code or "")[:200],
        "code": str(code or "")[:100],
        "value": None if amount is None else str(amount),
        "value_type": value_type or "",
        "target_type": target_type or "",
    }


@dataclass
class Refund:
    refund_id: str
    at: datetime
    amount: Decimal
    reason: str = ""
    line_items: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Order:
    """What an order snapshot says, in platform-neutral terms."""

    platform: str
    order_id: str
    placed_at: datetime
    email: str | None = None
    external_id: str | None = None
    #: only for a guest (no platform customer): what the order says of the buyer
    guest_profile: dict[str, Any] | None = None
    placed: bool = True  # False: the order exists but is not an order yet (no order.placed)
    order_number: str = ""
    currency: str = ""
    total: Decimal | None = None
    subtotal: Decimal | None = None
    current_total: Decimal | None = None  # after edits, refunds and removals
    total_discounts: Decimal | None = None
    total_tax: Decimal | None = None
    total_shipping: Decimal | None = None
    line_items: list[dict[str, Any]] = field(default_factory=list)
    discount_codes: list[str] = field(default_factory=list)
    #: [{type, title, code, value, value_type, target_type}] (automatic discounts and codes alike)
    discount_applications: list[dict[str, Any]] = field(default_factory=list)
    #: [{title, code, price}]
    shipping_lines: list[dict[str, Any]] = field(default_factory=list)
    checkout_id: str | None = None
    checkout_token: str | None = None
    cart_token: str | None = None
    tags: list[str] = field(default_factory=list)
    source_name: str = ""  # where the order was created (web, pos, checkout, admin, rest-api...)
    landing_site: str = ""
    referring_site: str = ""
    customer_locale: str = ""
    buyer_accepts_marketing: bool | None = None
    payment_method: str = ""
    note: str = ""
    city: str = ""
    province: str = ""
    country: str = ""
    #: free key/value data the store attached (Shopify note_attributes, WooCommerce meta_data), as sent
    attributes: dict[str, Any] = field(default_factory=dict)
    paid_at: datetime | None = None
    fulfilled_at: datetime | None = None
    #: [{number, url, company}] of the order's fulfillments
    tracking: list[dict[str, str]] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    refunds: list[Refund] = field(default_factory=list)


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def order_events(order: Order) -> list[CanonicalEvent]:
    """Every event the order's snapshot implies, each with its resource-based dedupe key."""
    p, oid = order.platform, order.order_id
    who = {"email": order.email, "external_id": order.external_id}
    base = {"order_id": oid, "order_number": order.order_number, "currency": order.currency}
    total = _money(order.total)

    def event(kind: str, key: str, at: datetime, properties: dict[str, Any], **extra: Any) -> CanonicalEvent:
        return CanonicalEvent(type=f"order.{kind}", occurred_at=at, dedupe_key=key, source=p, order_ref=oid,
                              properties={**base, **properties}, **who, **extra)

    events: list[CanonicalEvent] = []
    if order.placed:
        events.append(event("placed", f"{p}:order:{oid}:placed", order.placed_at, {
            "total": total if total is not None else "0.00",
            "subtotal": _money(order.subtotal),
            "current_total": _money(order.current_total),
            "total_discounts": _money(order.total_discounts),
            "total_tax": _money(order.total_tax),
            "total_shipping": _money(order.total_shipping),
            "line_items": order.line_items,
            "discount_codes": order.discount_codes,
            "discount_applications": order.discount_applications,
            "shipping_lines": order.shipping_lines,
            "checkout_id": order.checkout_id,
            "checkout_token": order.checkout_token,
            "cart_token": order.cart_token,
            "tags": order.tags,
            "source_name": order.source_name,
            "landing_site": order.landing_site,
            "referring_site": order.referring_site,
            "customer_locale": order.customer_locale,
            "buyer_accepts_marketing": order.buyer_accepts_marketing,
            "payment_method": order.payment_method,
            "note": order.note,
            "city": order.city,
            "province": order.province,
            "country": order.country,
            "attributes": order.attributes,
        }, amount=order.total if order.total is not None else ZERO, profile=order.guest_profile))
    if order.paid_at is not None:
        events.append(event("paid", f"{p}:order:{oid}:paid", order.paid_at, {"total": total},
                            amount=order.total))
    if order.fulfilled_at is not None:
        events.append(event("fulfilled", f"{p}:order:{oid}:fulfilled", order.fulfilled_at, {
            "tracking_numbers": [t["number"] for t in order.tracking if t.get("number")],
            "tracking_urls": [t["url"] for t in order.tracking if t.get("url")],
            "tracking_company": next((t["company"] for t in order.tracking if t.get("company")), ""),
        }))
    if order.cancelled_at is not None:
        events.append(event("cancelled", f"{p}:order:{oid}:cancelled", order.cancelled_at,
                            {"total": total, "reason": order.cancel_reason}, amount=order.total))
    for refund in order.refunds:
        events.append(refund_event(order.platform, oid, refund, currency=order.currency, **who))
    return events


def refund_event(platform: str, order_id: str, refund: Refund, *, currency: str = "",
                 email: str | None = None, external_id: str | None = None) -> CanonicalEvent:
    """``order.refunded``; a refund seen alone (Shopify ``refunds/create``) may not know its buyer yet, so
    it carries only what the refund itself says (the same whichever way it arrives first)."""
    return CanonicalEvent(
        type="order.refunded",
        occurred_at=refund.at,
        dedupe_key=f"{platform}:refund:{refund.refund_id}",
        source=platform,
        order_ref=order_id,
        amount=refund.amount,
        email=email,
        external_id=external_id,
        properties={
            "order_id": order_id,
            "currency": currency,
            "refund_id": refund.refund_id,
            "amount": str(refund.amount),
            "reason": refund.reason,
            "line_items": refund.line_items,
        },
    )
