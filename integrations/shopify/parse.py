"""Small, pure helpers to read Shopify payloads (REST webhook shapes and GraphQL shapes).

Money, times and ids are read by ``integrations.values`` (one policy for bad values, every adapter).
"""

from __future__ import annotations

from typing import Any

from integrations.orders import line_item
from integrations.values import integer, money, platform_id

sid = platform_id


def email_of(*candidates: Any) -> str | None:
    for candidate in candidates:
        if candidate:
            return str(candidate)
    return None


def line_items(items: list[dict] | None) -> list[dict[str, Any]]:
    """Order, checkout and cart lines in the timeline's shape (``integrations.orders.line_item``)."""
    return [
        line_item(
            product_id=platform_id(item.get("product_id")),
            variant_id=platform_id(item.get("variant_id")),
            title=item.get("title") or item.get("name") or "",
            variant_title=item.get("variant_title") or "",
            sku=item.get("sku") or "",
            vendor=item.get("vendor") or "",
            quantity=integer(item.get("quantity"), "line_items.quantity") or 0,
            price=money(item.get("price"), "line_items.price"),
        )
        for item in items or []
    ]
