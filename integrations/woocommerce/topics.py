"""WooCommerce REST v3 payloads -> canonical events and products (pure: no database, no network).

WooCommerce does not retry a delivery and sends the resource's *latest state* at delivery time, with a
delivery id that is not stable. So nothing here depends on the delivery: every event is derived from
the state of the resource, and its dedupe key is built from the resource, so the same state delivered
twice (or by a backfill, or by the reconciliation) yields each event once.

Topics handled:

- ``order.created``, ``order.updated``, ``order.restored`` (the full order):
  ``order.placed`` once the order is processing, on-hold, completed or refunded, or paid (``<id>:placed``);
  ``order.paid`` once ``date_paid_gmt`` is set (``<id>:paid``); ``order.fulfilled`` when completed
  (``<id>:fulfilled``); ``order.cancelled`` when cancelled (``<id>:cancelled``); one ``order.refunded``
  per entry of ``refunds`` (``<id>:refund:<refund id>``, amount positive).
  ``checkout-draft`` (block checkout), ``pending`` and ``failed`` orders are a started checkout, not an
  order: ``checkout.started`` (``<id>:checkout``) when an email is known.
- ``order.deleted`` (``{"id": N}``): the action ``order_deleted``; ``apply`` records it as a cancellation.
- ``customer.created`` / ``customer.updated``: the profile (``customer.updated`` keyed by its
  ``date_modified_gmt``, so each distinct state counts once); ``customer.deleted`` (``{"id": N}``): the
  action ``customer_deleted``.
- ``product.created`` / ``product.updated``: catalog entries.
- marketing opt-ins that plugins write into order and customer meta data: ``consent.changed``
  (``integrations.woocommerce.consent`` lists the sources).

Identity: a registered customer is ``customer_id`` (the platform id) plus the billing email; a guest order
(``customer_id`` 0) is identified by its billing email alone. Dates: the ``*_gmt`` fields are naive UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.base import Normalized
from shopconnect.timeline.canonical import CanonicalEvent, ProductRecord, normalize_email

from .consent import customer_consent, order_consent

SOURCE = "woocommerce"
PLACED_STATUSES = frozenset({"processing", "on-hold", "completed", "refunded"})
CHECKOUT_STATUSES = frozenset({"checkout-draft", "pending", "failed"})


def gmt(value: Any) -> datetime | None:
    """A WooCommerce ``*_gmt`` date (naive UTC, ``2026-02-01T10:00:00``) as an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _key(*parts: Any) -> str:
    return ":".join([SOURCE, *(str(p) for p in parts)])


def _line_items(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "product_id": str(item.get("product_id") or ""),
            "variant_id": str(item.get("variation_id") or ""),
            "title": item.get("name") or "",
            "quantity": item.get("quantity") or 0,
            "price": str(money(item.get("price")) if item.get("price") not in (None, "") else ""),
            "sku": item.get("sku") or "",
        }
        for item in order.get("line_items") or []
    ]


def _order_identity(order: dict[str, Any]) -> dict[str, Any]:
    billing = order.get("billing") or {}
    customer_id = order.get("customer_id") or 0
    identity: dict[str, Any] = {"email": normalize_email(billing.get("email"))}
    if customer_id:
        identity["external_id"] = str(customer_id)
    else:
        # A guest: the billing details are all we know of the person.
        profile = {
            "first_name": billing.get("first_name") or "",
            "last_name": billing.get("last_name") or "",
            "phone": billing.get("phone") or "",
            "country": (billing.get("country") or "")[:2],
        }
        identity["profile"] = {k: v for k, v in profile.items() if v} or None
    return identity


def order_events(order: dict[str, Any]) -> list[CanonicalEvent]:
    """Every event the order's current state implies (each with a resource-based dedupe key)."""
    order_id = str(order["id"])
    status = order.get("status") or ""
    identity = _order_identity(order)
    if not identity.get("email") and not identity.get("external_id"):
        return []  # nobody to put it on (a draft before the email is typed)
    created = gmt(order.get("date_created_gmt"))
    modified = gmt(order.get("date_modified_gmt")) or created
    paid = gmt(order.get("date_paid_gmt"))
    completed = gmt(order.get("date_completed_gmt"))
    total = money(order.get("total"))
    currency = order.get("currency") or ""
    items = _line_items(order)
    events: list[CanonicalEvent] = []

    def add(type_: str, suffix: str, at: datetime | None, properties: dict[str, Any], amount=None, **extra):
        at = at or modified
        if at is None:
            raise ValueError(f"order {order_id} has no date_created_gmt / date_modified_gmt")
        events.append(
            CanonicalEvent(
                type=type_,
                occurred_at=at,
                dedupe_key=_key("order", order_id, suffix),
                source=SOURCE,
                properties={"order_id": order_id, **properties},
                order_ref=order_id,
                amount=amount,
                **{k: v for k, v in identity.items() if k != "profile"},
                **extra,
            )
        )

    if status in CHECKOUT_STATUSES and not paid:
        events.append(
            CanonicalEvent(
                type="checkout.started",
                occurred_at=created or modified,
                dedupe_key=_key("order", order_id, "checkout"),
                source=SOURCE,
                properties={
                    "checkout_id": order_id,
                    "total": str(total or ""),
                    "currency": currency,
                    "line_items": items,
                    "status": status,
                },
                **identity,
            )
        )
        return events
    if status in PLACED_STATUSES or paid:
        subtotal = sum((money(i.get("subtotal")) or Decimal(0) for i in order.get("line_items") or []), Decimal(0))
        add(
            "order.placed",
            "placed",
            created,
            {
                "order_number": str(order.get("number") or order_id),
                "total": str(total or "0.00"),
                "subtotal": str(subtotal.quantize(Decimal("0.01"))),
                "currency": currency,
                "line_items": items,
                "discount_codes": [c.get("code") for c in order.get("coupon_lines") or [] if c.get("code")],
                "checkout_id": order_id,
                "payment_method": order.get("payment_method") or "",
            },
            amount=total or Decimal("0.00"),
            profile=identity.get("profile"),
        )
    if paid:
        add("order.paid", "paid", paid, {"total": str(total or "0.00")}, amount=total)
    if status == "completed":
        add("order.fulfilled", "fulfilled", completed, {})
    if status == "cancelled":
        add("order.cancelled", "cancelled", modified, {"reason": "cancelled"})
    for refund in order.get("refunds") or []:
        amount = abs(money(refund.get("total")) or Decimal(0))
        add(
            "order.refunded",
            f"refund:{refund['id']}",
            modified,
            {"refund_id": str(refund["id"]), "amount": str(amount), "reason": refund.get("reason") or ""},
            amount=amount,
        )
    return events


def customer_events(customer: dict[str, Any], topic_event: str) -> list[CanonicalEvent]:
    customer_id = str(customer["id"])
    billing = customer.get("billing") or {}
    created = gmt(customer.get("date_created_gmt"))
    modified = gmt(customer.get("date_modified_gmt")) or created
    profile = {
        "first_name": customer.get("first_name") or billing.get("first_name") or "",
        "last_name": customer.get("last_name") or billing.get("last_name") or "",
        "phone": billing.get("phone") or "",
        "country": (billing.get("country") or "")[:2],
        "created_at": created,
        "properties": {
            "woocommerce_role": customer.get("role") or "",
            "woocommerce_username": customer.get("username") or "",
        },
    }
    common = {
        "source": SOURCE,
        "email": normalize_email(customer.get("email")),
        "external_id": customer_id,
        "profile": profile,
        "properties": {"customer_id": customer_id},
    }
    events = [
        CanonicalEvent(
            type="customer.created",
            occurred_at=created or modified,
            dedupe_key=_key("customer", customer_id, "created"),
            **common,
        )
    ]
    if topic_event == "updated" and modified and modified != created:
        events.append(
            CanonicalEvent(
                type="customer.updated",
                occurred_at=modified,
                dedupe_key=_key("customer", customer_id, "updated", modified.isoformat()),
                **common,
            )
        )
    return events


def product_record(product: dict[str, Any]) -> ProductRecord:
    categories = [c.get("name") for c in product.get("categories") or [] if c.get("name")]
    images = product.get("images") or []
    regular, price = money(product.get("regular_price")), money(product.get("price"))
    return ProductRecord(
        external_id=str(product["id"]),
        title=(product.get("name") or "")[:255],
        handle=product.get("slug") or "",
        url=product.get("permalink") or "",
        image_url=(images[0].get("src") or "") if images else "",
        price=price,
        compare_at_price=regular if regular and price and regular > price else None,
        inventory=product.get("stock_quantity"),
        category=categories[0] if categories else "",
        collections=categories,
        status="active" if product.get("status") == "publish" else (product.get("status") or "draft"),
        platform_updated_at=gmt(product.get("date_modified_gmt")),
    )


def _order(event: str) -> Callable[[dict[str, Any]], Normalized]:
    def handle(payload: dict[str, Any]) -> Normalized:
        if event == "deleted":
            return Normalized(actions=[("order_deleted", {"order_id": str(payload["id"])})])
        return Normalized(events=order_events(payload) + order_consent(payload))

    return handle


def _customer(event: str) -> Callable[[dict[str, Any]], Normalized]:
    def handle(payload: dict[str, Any]) -> Normalized:
        if event == "deleted":
            return Normalized(actions=[("customer_deleted", {"customer_id": str(payload["id"])})])
        return Normalized(events=customer_events(payload, event) + customer_consent(payload))

    return handle


def _product(payload: dict[str, Any]) -> Normalized:
    return Normalized(products=[product_record(payload)])


HANDLERS: dict[str, Callable[[dict[str, Any]], Normalized]] = {
    "order.created": _order("created"),
    "order.updated": _order("updated"),
    "order.restored": _order("restored"),
    "order.deleted": _order("deleted"),
    "customer.created": _customer("created"),
    "customer.updated": _customer("updated"),
    "customer.deleted": _customer("deleted"),
    "product.created": _product,
    "product.updated": _product,
}


def normalize(topic: str, payload: Any) -> Normalized | None:
    handler = HANDLERS.get(topic)
    if handler is None or not isinstance(payload, dict) or "id" not in payload:
        return None
    return handler(payload)
