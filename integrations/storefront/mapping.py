"""Storefront event names (Shopify's standard pixel events, plus ``page_left``) -> canonical events.

Pure: ``canonical_event(event, ...)`` turns one validated collect event into a ``CanonicalEvent`` with the
dedupe key ``storefront:<event id>``, the visitor (``client_id``) and whatever identity the event carries
(email, platform customer id, or our customer id from a verified ``sc_id`` token). Names we do not map are
kept in the raw batch and not recorded.

| name | canonical type |
| --- | --- |
| page_viewed | page.viewed |
| page_left (script and pixel: time on the page) | custom.time_on_page (url, duration_seconds, page_type, and |
| | product_id, title on product pages) |
| product_viewed | product.viewed |
| collection_viewed | collection.viewed |
| search_submitted | search.submitted |
| product_added_to_cart, product_removed_from_cart, cart_viewed | cart.updated (added/removed/viewed) |
| checkout_started | checkout.started |
| checkout_contact_info_submitted, checkout_address_info_submitted | checkout.updated (contact, shipping) |
| checkout_shipping_info_submitted, payment_info_submitted | checkout.updated (shipping, payment) |
| checkout_completed | checkout.updated (step completed) |
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shopconnect.timeline import vocabulary as v
from shopconnect.timeline.canonical import CanonicalEvent, normalize_email

from .schema import parse_timestamp

SOURCE = "storefront"
#: a clock ahead of ours cannot put an event in the future
MAX_CLOCK_SKEW = timedelta(minutes=5)

# What each event keeps of the visitor's data: declared properties of the vocabulary, checked at import.
_PRODUCT_KEYS = v.declared(
    "product.viewed", "product_id", "variant_id", "title", "price", "category", "url", "image_url", "currency"
)
_CART_KEYS = v.declared(
    "cart.updated", "cart_token", "product_id", "variant_id", "title", "quantity", "price", "currency"
)
_CHECKOUT_KEYS = v.declared("checkout.started", "checkout_id", "cart_token", "total", "currency", "line_items")
_COLLECTION_KEYS = v.declared("collection.viewed", "collection_id", "title")
_TIME_ON_PAGE_KEYS = v.declared("custom.time_on_page", "product_id", "title")  # the product a page showed
_STEPS = {
    "checkout_contact_info_submitted": "contact",
    "checkout_address_info_submitted": "shipping",
    "checkout_shipping_info_submitted": "shipping",
    "payment_info_submitted": "payment",
    "checkout_completed": "completed",
}


def _pick(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    picked = {}
    for key in keys:
        value = data.get(key)
        if value is None or value == "":
            continue
        if key.endswith("_id") or key in ("price", "total", "title"):
            value = str(value)[:300]
        picked[key] = value
    return picked


def _properties(name: str, event: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    data = event.get("data") or {}
    url = event.get("url") or ""
    if name == "page_viewed":
        return "page.viewed", {
            "url": url,
            "title": event.get("title") or str(data.get("title") or "")[:300],
            "referrer": event.get("referrer") or "",
        }
    if name == "page_left":
        try:
            seconds = max(0, min(int(float(data.get("duration_seconds") or 0)), 24 * 3600))
        except (TypeError, ValueError):
            seconds = 0
        page_type = str(data.get("page_type") or "page")[:20]
        return "custom.time_on_page", {"url": url, "duration_seconds": seconds, "page_type": page_type,
                                       **_pick(data, _TIME_ON_PAGE_KEYS)}
    if name == "product_viewed":
        return "product.viewed", {"url": url, **_pick(data, _PRODUCT_KEYS)}
    if name == "collection_viewed":
        return "collection.viewed", {"url": url, **_pick(data, _COLLECTION_KEYS)}
    if name == "search_submitted":
        return "search.submitted", {"query": str(data.get("query") or "")[:300], "url": url}
    if name in ("product_added_to_cart", "product_removed_from_cart", "cart_viewed"):
        action = {"product_added_to_cart": "added", "product_removed_from_cart": "removed"}.get(name, "viewed")
        return "cart.updated", {"action": action, "url": url, **_pick(data, _CART_KEYS)}
    if name == "checkout_started":
        return "checkout.started", {"url": url, **_pick(data, _CHECKOUT_KEYS)}
    if name in _STEPS:
        return "checkout.updated", {"step": _STEPS[name], "url": url, **_pick(data, _CHECKOUT_KEYS)}
    return None


def canonical_event(
    event: dict[str, Any], *, received_at: datetime, device: str = "", customer_id: int | None = None
) -> CanonicalEvent | None:
    """The canonical form of one validated collect event, or None for a name we do not record."""
    mapped = _properties(event["name"], event)
    if mapped is None:
        return None
    type_, properties = mapped
    occurred_at = min(parse_timestamp(event["timestamp"]), received_at + MAX_CLOCK_SKEW)
    external_id = event.get("customer_id") or None
    return CanonicalEvent(
        type=type_,
        occurred_at=occurred_at,
        dedupe_key=f"{SOURCE}:{event['id']}",
        source=SOURCE,
        properties={k: v for k, v in properties.items() if v not in (None, "")} | {"event_id": event["id"]},
        email=normalize_email(event.get("email")),
        external_id=str(external_id) if external_id else None,
        visitor_id=event["client_id"],
        customer_id=customer_id,
        device=device,
    )
