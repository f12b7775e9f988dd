"""WooCommerce REST v3 payloads -> canonical events and products (pure: no database, no network).

WooCommerce does not retry a delivery and sends the resource's *latest state* at delivery time, with a
delivery id that is not stable. So nothing here depends on the delivery: every event is derived from
the state of the resource, and its dedupe key is built from the resource, so the same state delivered
twice (or by a backfill, or by the reconciliation) yields each event once.

Topics handled:

- ``order.created``, ``order.updated``, ``order.restored`` (the full order), read into the shared
  ``integrations.orders.Order`` so the events carry the same properties and keys as every platform's:
  ``order.placed`` once the order is processing, on-hold, completed or refunded, or paid (``order:<id>:placed``);
  ``order.paid`` once ``date_paid_gmt`` is set (``:paid``); ``order.fulfilled`` when completed
  (``:fulfilled``); ``order.cancelled`` when cancelled (``:cancelled``); one ``order.refunded`` per entry
  of ``refunds`` (``woocommerce:refund:<refund id>``, amount positive). Kept for rules: ``shipping_lines``,
  ``payment_method_title`` (``payment_method``), ``created_via`` (``source_name``), ``customer_note``
  (``note``), billing city and state (``city``, ``province``), ``meta_data`` as sent (``attributes``).
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
A value that cannot be read (money, a date) fails the delivery with the field named
(``integrations.values``); a customer field the payload leaves out is unknown, never emptied.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from integrations.base import Normalized
from integrations.orders import Order, Refund, discount_application, line_item
from integrations.orders import order_events as canonical_order_events
from integrations.values import BadValue, integer, missing, money, platform_id, text, timestamp
from shopconnect.timeline.canonical import CanonicalEvent, ProductRecord, normalize_email

from .consent import customer_consent, order_consent

SOURCE = "woocommerce"
PLACED_STATUSES = frozenset({"processing", "on-hold", "completed", "refunded"})
CHECKOUT_STATUSES = frozenset({"checkout-draft", "pending", "failed"})


def gmt(value: Any, field: str = "date") -> datetime | None:
    """A WooCommerce ``*_gmt`` date (naive UTC, ``2026-02-01T10:00:00``) as an aware datetime."""
    return timestamp(value, field)


def _key(*parts: Any) -> str:
    return ":".join([SOURCE, *(str(p) for p in parts)])


def _line_items(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        line_item(
            product_id=platform_id(item.get("product_id")),
            variant_id=platform_id(item.get("variation_id")),
            # A variation's name is "<product> - <attributes>"; parent_name is the product's own name,
            # which is what a line's title is on every platform.
            title=item.get("parent_name") or item.get("name") or "",
            variant_title=_variant_title(item),
            sku=item.get("sku") or "",
            quantity=integer(item.get("quantity"), "line_items.quantity") or 0,
            price=money(item.get("price"), "line_items.price"),
        )
        for item in order.get("line_items") or []
    ]


def _variant_title(item: dict[str, Any]) -> str:
    name, parent = item.get("name") or "", item.get("parent_name") or ""
    if parent and name.startswith(parent + " - "):
        return name[len(parent) + 3:]
    return ""


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
        identity["guest_profile"] = {k: v for k, v in profile.items() if v} or None
    return identity


def _sum(items: list[dict[str, Any]], key: str, field: str) -> Decimal:
    return sum((money(i.get(key), field) or Decimal(0) for i in items), Decimal("0.00"))


def order_facts(order: dict[str, Any]) -> Order | None:
    """What a WooCommerce order says, in the shared shape (None: nobody to put it on yet)."""
    order_id = str(order["id"])
    status = order.get("status") or ""
    identity = _order_identity(order)
    if not identity.get("email") and not identity.get("external_id"):
        return None  # a draft before the email is typed
    created = gmt(order.get("date_created_gmt"), "date_created_gmt")
    modified = gmt(order.get("date_modified_gmt"), "date_modified_gmt") or created
    if modified is None:
        raise BadValue("date_created_gmt / date_modified_gmt", None, "the order's dates")
    paid = gmt(order.get("date_paid_gmt"), "date_paid_gmt")
    completed = gmt(order.get("date_completed_gmt"), "date_completed_gmt")
    billing = order.get("billing") or {}
    shipping_lines = order.get("shipping_lines") or []
    return Order(
        platform=SOURCE,
        order_id=order_id,
        placed_at=created or modified,
        placed=status in PLACED_STATUSES or paid is not None,
        **identity,
        order_number=str(order.get("number") or order_id),
        currency=order.get("currency") or "",
        total=money(order.get("total"), "total"),
        # after discounts, before shipping and tax (as every platform's subtotal)
        subtotal=_sum(order.get("line_items") or [], "total", "line_items.total"),
        current_total=_current_total(order),
        total_discounts=money(order.get("discount_total"), "discount_total"),
        total_tax=money(order.get("total_tax"), "total_tax"),
        total_shipping=money(order.get("shipping_total"), "shipping_total"),
        line_items=_line_items(order),
        discount_codes=[c.get("code") for c in order.get("coupon_lines") or [] if c.get("code")],
        discount_applications=[
            discount_application("discount_code", c.get("code"), c.get("code"), c.get("discount"), "fixed_amount",
                                 "line_item")
            for c in order.get("coupon_lines") or []
        ],
        shipping_lines=[{"title": text(s.get("method_title"), 200), "code": text(s.get("method_id"), 100),
                         "price": str(money(s.get("total"), "shipping_lines.total") or "0.00")}
                        for s in shipping_lines],
        checkout_id=order_id,
        source_name=text(order.get("created_via"), 100),
        payment_method=text(order.get("payment_method_title") or order.get("payment_method"), 200),
        note=text(order.get("customer_note"), 2000),
        city=text(billing.get("city"), 200),
        province=text(billing.get("state"), 200),
        country=text(billing.get("country"), 2).upper(),
        attributes={str(m["key"]): m.get("value") for m in order.get("meta_data") or []
                    if isinstance(m, dict) and m.get("key")},
        paid_at=paid,
        fulfilled_at=(completed or modified) if status == "completed" else None,
        cancelled_at=modified if status == "cancelled" else None,
        cancel_reason="cancelled" if status == "cancelled" else "",
        refunds=[
            Refund(refund_id=str(r["id"]), at=modified, reason=text(r.get("reason"), 300),
                   amount=abs(money(r.get("total"), "refunds.total") or Decimal(0)))
            for r in order.get("refunds") or []
        ],
    )


def _current_total(order: dict[str, Any]) -> Decimal | None:
    """The total after refunds (what Shopify calls ``current_total_price``)."""
    total = money(order.get("total"), "total")
    if total is None:
        return None
    refunded = sum((abs(money(r.get("total"), "refunds.total") or Decimal(0)) for r in order.get("refunds") or []),
                   Decimal("0.00"))
    return total - refunded


def order_events(order: dict[str, Any]) -> list[CanonicalEvent]:
    """Every event the order's current state implies (each with a resource-based dedupe key)."""
    facts = order_facts(order)
    if facts is None:
        return []
    if (order.get("status") or "") in CHECKOUT_STATUSES and facts.paid_at is None:
        return [_checkout_started(order, facts)]
    return canonical_order_events(facts)


def _checkout_started(order: dict[str, Any], facts: Order) -> CanonicalEvent:
    return CanonicalEvent(
        type="checkout.started",
        occurred_at=facts.placed_at,
        dedupe_key=_key("order", facts.order_id, "checkout"),
        source=SOURCE,
        properties={
            "checkout_id": facts.order_id,
            "total": "" if facts.total is None else str(facts.total),
            "currency": facts.currency,
            "line_items": facts.line_items,
            "status": order.get("status") or "",
        },
        email=facts.email,
        external_id=facts.external_id,
        profile=facts.guest_profile,
    )


def customer_events(customer: dict[str, Any], topic_event: str) -> list[CanonicalEvent]:
    customer_id = str(customer["id"])
    billing = customer.get("billing")
    created = gmt(customer.get("date_created_gmt"), "date_created_gmt")
    modified = gmt(customer.get("date_modified_gmt"), "date_modified_gmt") or created
    if modified is None:
        raise BadValue("date_created_gmt / date_modified_gmt", None, "the customer's dates")
    # Only what the payload carries: a key it leaves out is unknown and keeps the stored value.
    profile: dict[str, Any] = {"created_at": created} if created else {}
    for key in ("first_name", "last_name"):
        if not missing(customer, key) or isinstance(billing, dict) and key in billing:
            profile[key] = customer.get(key) or (billing or {}).get(key) or ""
    if isinstance(billing, dict):
        for key, field in (("phone", "phone"), ("country", "country")):
            if field in billing:
                profile[key] = (billing.get(field) or "")[: 2 if key == "country" else 40]
    properties = {f"woocommerce_{k}": customer.get(k) or "" for k in ("role", "username") if not missing(customer, k)}
    if isinstance(billing, dict):
        properties.update({k: billing.get(f) or "" for k, f in (("city", "city"), ("province", "state"))
                           if f in billing})
    if properties:
        profile["properties"] = properties
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


def _available(product: dict[str, Any]) -> bool | None:
    status = product.get("stock_status")
    return None if not status else status in ("instock", "onbackorder")


def product_record(product: dict[str, Any]) -> ProductRecord:
    categories = [c.get("name") for c in product.get("categories") or [] if c.get("name")]
    images = product.get("images") or []
    regular, price = money(product.get("regular_price"), "regular_price"), money(product.get("price"), "price")
    return ProductRecord(
        external_id=str(product["id"]),
        title=(product.get("name") or "")[:255],
        handle=product.get("slug") or "",
        url=product.get("permalink") or "",
        image_url=(images[0].get("src") or "") if images else "",
        price=price,
        compare_at_price=regular if regular and price and regular > price else None,
        inventory=integer(product.get("stock_quantity"), "stock_quantity"),
        category=categories[0] if categories else "",
        collections=categories,
        status="active" if product.get("status") == "publish" else (product.get("status") or "draft"),
        tags=[t.get("name") for t in product.get("tags") or [] if t.get("name")],
        description=product.get("description") or "",
        # One entry for the product itself ("" variant): its stock status says whether it can be bought.
        variants=[{"variant_id": "", "title": "", "sku": product.get("sku") or "",
                   "price": None if price is None else str(price),
                   "available": _available(product)}] if product.get("sku") or product.get("stock_status") else [],
        platform_updated_at=gmt(product.get("date_modified_gmt"), "date_modified_gmt"),
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
