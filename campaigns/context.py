"""The context a template renders with.

``customer`` (profile and aggregates), ``store``, ``event`` (the triggering event's properties),
``items`` (its cart/checkout/order lines, with catalog image, URL and price), ``recovery_url``,
``recommendations`` (computed only if the template uses it), ``discount_code``, ``unsubscribe_url``
and ``preferences_url``. ``customer.engagement_tier`` and ``customer.device`` let content depend on how
engaged the customer is and where they usually read (see ``engagement_tier``). Links are rewritten for
tracking after rendering (``campaigns.links``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from shopconnect.timeline.models import Customer, Event, Product, Store

from .recommendations import recommend


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


#: engagement tiers from the customer's aggregates, most engaged first (the segment templates of the same
#: names count opens in the window; this reads the last open and click only, so it costs no query)
TIERS = (("highly engaged", "clicked in the last 30 days"), ("engaged", "opened in the last 30 days"),
         ("low engagement", "opened in the last 90 days"), ("unengaged", "received email, no open in 90 days"),
         ("new", "no email received yet"))


def engagement_tier(customer: Customer, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if customer.last_clicked_at and customer.last_clicked_at >= now - timedelta(days=30):
        return "highly engaged"
    if customer.last_opened_at and customer.last_opened_at >= now - timedelta(days=30):
        return "engaged"
    if customer.last_opened_at and customer.last_opened_at >= now - timedelta(days=90):
        return "low engagement"
    return "unengaged" if customer.emails_received else "new"


def customer_context(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.pk, "email": customer.email or "", "first_name": customer.first_name,
        "last_name": customer.last_name, "name": f"{customer.first_name} {customer.last_name}".strip(),
        "country": customer.country, "properties": customer.properties or {},
        "orders_count": customer.orders_count, "total_spent": customer.total_spent,
        "average_order_value": customer.average_order_value, "first_order_at": customer.first_order_at,
        "last_order_at": customer.last_order_at, "last_seen_at": customer.last_seen_at,
        "engagement_tier": engagement_tier(customer), "device": customer.device or "unknown",
    }


def event_items(store: Store, properties: dict[str, Any], products: dict[str, Product] | None = None) -> list[dict]:
    """The line items of a cart/checkout/order event, completed from the catalog."""
    lines = [item for item in properties.get("line_items") or [] if isinstance(item, dict)]
    if products is None:
        ids = {str(item.get("product_id")) for item in lines if item.get("product_id")}
        products = {p.external_id: p for p in Product.objects.filter(store=store, external_id__in=ids)} if ids else {}
    items = []
    for item in lines:
        product = products.get(str(item.get("product_id")))
        quantity = item.get("quantity") or 1
        price = _money(item.get("price")) or (product.price if product else None)
        items.append({
            "product_id": str(item.get("product_id") or ""),
            "title": item.get("title") or (product.title if product else ""),
            "quantity": quantity,
            "price": price,
            "line_total": (price * int(quantity)) if price is not None else None,
            "image_url": item.get("image_url") or (product.image_url if product else ""),
            "url": item.get("url") or (product.url if product else ""),
        })
    return items


def build_context(store: Store, customer: Customer, trigger: Event | None = None,
                  extra: dict[str, Any] | None = None, products: dict[str, Product] | None = None) -> dict[str, Any]:
    properties = dict(trigger.properties or {}) if trigger is not None else {}
    items = event_items(store, properties, products)
    seeds = [item["product_id"] for item in items]
    context: dict[str, Any] = {
        "store": {"name": store.name or store.domain, "url": store.url, "currency": store.currency,
                  "address": store.address},
        "customer": customer_context(customer),
        "event": properties,
        "items": items,
        "recovery_url": properties.get("recovery_url") or properties.get("cart_url") or store.url,
        # A callable: Django templates call it only when the template uses it.
        "recommendations": lambda: [
            {"title": p.title, "url": p.url, "image_url": p.image_url, "price": p.price}
            for p in recommend(store, customer, seeds)
        ],
        "discount_code": "",
    }
    context.update(extra or {})
    return context
