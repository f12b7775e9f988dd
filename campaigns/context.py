"""The context a template renders with.

``customer`` (profile and aggregates), ``store``, ``event`` (the triggering event's properties),
``items`` (its cart/checkout/order lines, with catalog image, URL and price), ``recovery_url``,
(for a storefront trigger, a claim, ``event`` and ``items`` hold only ids and the catalog's product text:
never the visitor's titles, images, links or prices),
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

from shopconnect.timeline.canonical import CLAIM_SOURCES
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


#: what a claim's (storefront) trigger keeps as ``event``: ids, counts and states, never the visitor's text
_CLAIM_KEEPS = frozenset({"product_id", "variant_id", "collection_id", "checkout_id", "checkout_token", "cart_token",
                          "action", "step", "quantity", "currency", "event_id", "duration_seconds", "completed"})


def is_claim(trigger: Event | None) -> bool:
    """A storefront event: its product text, images, links and prices are the visitor's, not the store's."""
    return trigger is not None and trigger.source in CLAIM_SOURCES


def event_lines(properties: dict[str, Any]) -> list[dict]:
    """The lines of a cart/checkout/order event; a product or cart event about one product is one line."""
    lines = [item for item in properties.get("line_items") or [] if isinstance(item, dict)]
    if not lines and properties.get("product_id"):
        lines = [properties]
    return lines


def event_items(store: Store, properties: dict[str, Any], products: dict[str, Product] | None = None,
                *, claim: bool = False) -> list[dict]:
    """The line items of a cart/checkout/order event, completed from the catalog.

    For a claim (``claim=True``: a storefront event) title, price, image and URL come from the catalog
    only, and a line whose product the catalog does not know is left out.
    """
    lines = event_lines(properties)
    if products is None:
        ids = {str(item.get("product_id")) for item in lines if item.get("product_id")}
        products = {p.external_id: p for p in Product.objects.filter(store=store, external_id__in=ids)} if ids else {}
    items = []
    for item in lines:
        product = products.get(str(item.get("product_id")))
        if claim and product is None:
            continue
        given = {} if claim else item
        try:
            quantity = max(1, int(item.get("quantity") or 1))
        except (TypeError, ValueError):
            quantity = 1
        price = _money(given.get("price")) or (product.price if product else None)
        items.append({
            "product_id": str(item.get("product_id") or ""),
            "title": given.get("title") or (product.title if product else ""),
            "quantity": quantity,
            "price": price,
            "line_total": (price * quantity) if price is not None else None,
            "image_url": given.get("image_url") or (product.image_url if product else ""),
            "url": given.get("url") or (product.url if product else ""),
        })
    return items


def claim_properties(properties: dict[str, Any], items: list[dict]) -> dict[str, Any]:
    """What an email may show of a storefront event: its ids and states, and its product from the catalog."""
    kept = {key: value for key, value in properties.items() if key in _CLAIM_KEEPS}
    if properties.get("product_id") and items:
        item = items[0]
        kept.update({"title": item["title"], "url": item["url"], "image_url": item["image_url"],
                     "price": item["price"]})
    return kept


def build_context(store: Store, customer: Customer, trigger: Event | None = None,
                  extra: dict[str, Any] | None = None, products: dict[str, Product] | None = None) -> dict[str, Any]:
    properties = dict(trigger.properties or {}) if trigger is not None else {}
    claim = is_claim(trigger)
    items = event_items(store, properties, products, claim=claim)
    if claim:  # a visitor's text, images and links never reach an email (DESIGN "Trust boundaries")
        properties = claim_properties(properties, items)
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
