"""Shopify products -> catalog records (pure). Topics: ``products/create``, ``products/update``.

Price is the lowest variant price, inventory the sum of tracked variant quantities. The storefront URL
needs the store's address, so the adapter completes ``url`` from the handle. Product webhooks do not
carry collections: the adapter keeps the ones the backfill stored.
"""

from __future__ import annotations

from shopconnect.timeline.canonical import ProductRecord

from .parse import money, sid, when


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


def product_record(product: dict) -> ProductRecord:
    variants = product.get("variants") or []
    prices = [p for p in (money(v.get("price")) for v in variants) if p is not None]
    price = min(prices) if prices else None
    compare = [c for c in (money(v.get("compare_at_price")) for v in variants) if c is not None]
    quantities = [v.get("inventory_quantity") for v in variants if v.get("inventory_quantity") is not None]
    return ProductRecord(
        external_id=sid(product["id"]),
        title=(product.get("title") or "")[:255],
        handle=product.get("handle") or "",
        image_url=_image(product),
        price=price,
        compare_at_price=max(compare) if compare else None,
        inventory=sum(int(q) for q in quantities) if quantities else None,
        category=product.get("product_type") or "",
        collections=[],
        status=(product.get("status") or "active").lower(),
        platform_updated_at=when(product.get("updated_at")),
    )
