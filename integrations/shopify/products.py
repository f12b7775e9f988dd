"""Shopify products -> catalog records (pure). Topics: ``products/create``, ``products/update``.

Price is the lowest variant price, inventory the sum of tracked variant quantities. Kept as sent: tags,
vendor, ``body_html`` (as ``description``), ``published_at``, each variant's title, SKU, price, quantity
and whether it can be bought (``available``: back-in-stock requests wait for it). The
storefront URL needs the store's address, so the adapter completes ``url`` from the handle. Product
webhooks do not carry collections: the adapter keeps the ones the backfill stored.
"""

from __future__ import annotations

from integrations.values import integer, money, platform_id, tag_list, timestamp
from shopconnect.timeline.canonical import ProductRecord


def _image(product: dict) -> str:
    if (product.get("image") or {}).get("src"):
        return product["image"]["src"]
    for image in product.get("images") or []:
        if image.get("src"):
            return image["src"]
    for media in product.get("media") or []:
        src = ((media.get("preview_image") or {}).get("src")) or ""
        if src:
            return src
    return ""


def _available(variant: dict) -> bool | None:
    """Can it be bought: stock on hand, or selling on when out of stock (``inventory_policy`` "continue");
    None when the payload does not say (no quantity)."""
    quantity = integer(variant.get("inventory_quantity"), "variants.inventory_quantity")
    if variant.get("inventory_policy") == "continue":
        return True
    return None if quantity is None else quantity > 0


def product_record(product: dict) -> ProductRecord:
    variants = product.get("variants") or []
    prices = [p for p in (money(v.get("price"), "variants.price") for v in variants) if p is not None]
    price = min(prices) if prices else None
    compare = [c for c in (money(v.get("compare_at_price"), "variants.compare_at_price") for v in variants)
               if c is not None]
    quantities = [integer(v.get("inventory_quantity"), "variants.inventory_quantity") for v in variants]
    quantities = [q for q in quantities if q is not None]
    return ProductRecord(
        external_id=platform_id(product["id"]),
        title=(product.get("title") or "")[:255],
        handle=product.get("handle") or "",
        image_url=_image(product),
        price=price,
        compare_at_price=max(compare) if compare else None,
        inventory=sum(quantities) if quantities else None,
        category=product.get("product_type") or "",
        collections=[],
        status=(product.get("status") or "active").lower(),
        vendor=(product.get("vendor") or "")[:255],
        tags=tag_list(product.get("tags")),
        description=product.get("body_html") or "",
        published_at=timestamp(product.get("published_at"), "published_at"),
        variants=[
            {
                "variant_id": platform_id(v.get("id")) or "",
                "title": v.get("title") or "",
                "sku": v.get("sku") or "",
                "price": None if money(v.get("price"), "variants.price") is None
                else str(money(v.get("price"), "variants.price")),
                "inventory": integer(v.get("inventory_quantity"), "variants.inventory_quantity"),
                "available": _available(v),
            }
            for v in variants
        ],
        platform_updated_at=timestamp(product.get("updated_at"), "updated_at"),
    )
