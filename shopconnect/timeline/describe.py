"""Plain-language one-liners for timeline events, for the admin and the API (types without a sentence of
their own read as their vocabulary label)."""

from __future__ import annotations

from . import vocabulary as v
from .models import Event


def _money(props: dict, key: str) -> str:
    value = props.get(key)
    if value in (None, ""):
        return ""
    currency = props.get("currency") or ""
    return f"{value} {currency}".strip()


def _items(props: dict) -> str:
    items = props.get("line_items") or []
    titles = [str(i.get("title") or i.get("product_id") or "item") for i in items[:3]]
    more = f" and {len(items) - 3} more" if len(items) > 3 else ""
    return ", ".join(titles) + more


def describe_event(event: Event) -> str:
    p = event.properties or {}
    t = event.type
    order = f"#{p.get('order_number') or p.get('order_id') or event.order_ref}"
    if t == "order.placed":
        return f"Placed order {order} for {_money(p, 'total')}: {_items(p)}"
    if t == "order.paid":
        return f"Paid order {order}"
    if t == "order.fulfilled":
        return f"Order {order} fulfilled"
    if t == "order.cancelled":
        return f"Order {order} cancelled" + (f" ({p['reason']})" if p.get("reason") else "")
    if t == "order.refunded":
        return f"Refunded {_money(p, 'amount')} of order {order}"
    if t == "product.viewed":
        return f"Viewed product {p.get('title') or p.get('product_id')}"
    if t == "product.back_in_stock":
        variant = f" ({p['variant_title']})" if p.get("variant_title") else ""
        return f"Told {p.get('title') or p.get('product_id')}{variant} is back in stock"
    if t == "product.price_dropped":
        return (f"Price of {p.get('title') or p.get('product_id')} dropped from {p.get('previous_price')} to "
                f"{p.get('price')} ({p.get('interest') or 'viewed'} {p.get('days_since_interest')} days before)")
    if t == "collection.viewed":
        return f"Viewed collection {p.get('title') or p.get('collection_id')}"
    if t == "page.viewed":
        return f"Viewed page {p.get('title') or p.get('url') or ''}".strip()
    if t == "search.submitted":
        return f"Searched for “{p.get('query', '')}”"
    if t == "cart.updated":
        action = {"added": "Added", "removed": "Removed"}.get(p.get("action"), "Updated cart:")
        return f"{action} {p.get('title') or p.get('product_id') or 'cart'}".strip()
    if t == "checkout.started":
        return f"Started checkout for {_money(p, 'total')}: {_items(p)}"
    if t == "checkout.updated":
        return f"Checkout reached step {p.get('step') or '?'}"
    if t == "consent.changed":
        return f"Email consent: {p.get('state')} (via {p.get('source') or event.source})"
    if t.startswith("email."):
        what = t.split(".", 1)[1]
        subject = f" “{p['subject']}”" if p.get("subject") else ""
        return f"Email {what}{subject}" + (f": {p['url']}" if p.get("url") else "")
    return v.label(t)
