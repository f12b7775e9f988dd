"""The product catalog: upserted from platform product topics and backfills."""

from __future__ import annotations

from collections.abc import Iterable

from .canonical import ProductRecord
from .models import Product, Store

_FIELDS = (
    "title", "handle", "url", "image_url", "price", "compare_at_price", "inventory", "category",
    "collections", "status", "vendor", "tags", "description", "published_at", "variants", "platform_updated_at",
)


def upsert_products(store: Store, records: Iterable[ProductRecord]) -> int:
    """Create or update products by platform id; a record older than the stored one is ignored.

    Returns how many rows were written.
    """
    latest: dict[str, ProductRecord] = {}
    for record in records:
        current = latest.get(record.external_id)
        if current is None or _newer(record, current):
            latest[record.external_id] = record
    if not latest:
        return 0
    existing = {p.external_id: p for p in Product.objects.filter(store=store, external_id__in=list(latest))}
    to_create, to_update = [], []
    for external_id, record in latest.items():
        product = existing.get(external_id)
        if product is not None and product.platform_updated_at and not _newer(record, product):
            continue
        product = product or Product(store=store, external_id=external_id)
        for name in _FIELDS:
            setattr(product, name, getattr(record, name))
        (to_update if product.pk else to_create).append(product)
    Product.objects.bulk_create(to_create, ignore_conflicts=True)
    Product.objects.bulk_update(to_update, list(_FIELDS))
    return len(to_create) + len(to_update)


def _newer(record: ProductRecord, than) -> bool:
    if record.platform_updated_at is None or than.platform_updated_at is None:
        return True
    return record.platform_updated_at >= than.platform_updated_at
