"""The product catalog: upserted from platform product topics and backfills.

``upsert_products`` sends ``products_upserted`` once the rows are written (``sender=Store, store=<Store>,
product_ids=[platform ids written], price_drops=[(platform id, old price, new price)]``); handlers only
enqueue tasks (the back-in-stock and price-drop flow triggers, ``campaigns.catalog_triggers``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.dispatch import Signal

from .canonical import CLAIM_SOURCES, ProductRecord
from .models import Product, Store

products_upserted = Signal()

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
    to_create, to_update, drops = [], [], []
    for external_id, record in latest.items():
        product = existing.get(external_id)
        if product is not None and product.platform_updated_at and not _newer(record, product):
            continue
        if product is not None and None not in (product.price, record.price) and record.price < product.price:
            drops.append((external_id, str(product.price), str(record.price)))
        product = product or Product(store=store, external_id=external_id)
        for name in _FIELDS:
            setattr(product, name, getattr(record, name))
        (to_update if product.pk else to_create).append(product)
    Product.objects.bulk_create(to_create, ignore_conflicts=True)
    Product.objects.bulk_update(to_update, list(_FIELDS))
    written = [p.external_id for p in to_create + to_update]
    if written:
        products_upserted.send(sender=Store, store=store, product_ids=written, price_drops=drops)
    return len(to_create) + len(to_update)


def _newer(record: ProductRecord, than) -> bool:
    if record.platform_updated_at is None or than.platform_updated_at is None:
        return True
    return record.platform_updated_at >= than.platform_updated_at


#: the event types whose product or lines are completed from the catalog when they are recorded
LINE_EVENT_TYPES = frozenset({"product.viewed", "cart.updated", "checkout.started", "checkout.updated"})
#: what a product or a line takes from the catalog (``price`` as a decimal string)
CATALOG_LINE_FIELDS = ("title", "category", "price", "image_url", "url")


def catalog_fields(product: Product) -> dict[str, str]:
    """A product's email-facing fields as event properties: the only product text an email shows."""
    values = {name: getattr(product, name) for name in CATALOG_LINE_FIELDS}
    values["price"] = "" if product.price is None else str(product.price)
    return {name: value for name, value in values.items() if value not in (None, "")}


def enrich_from_catalog(store: Store, events) -> None:
    """Complete product, cart and checkout events with the synced catalog, in one query per batch.

    A claim (``canonical.CLAIM_SOURCES``: the storefront) gets the catalog's title, category, price, image
    and URL in place of whatever the visitor sent (for a product the catalog does not know, the visitor's
    stay on the timeline; emails never show them: ``campaigns.context``); signed platform data keeps its
    own values and gets only the ones it lacks.
    """
    wanted = [e for e in events if e.type in LINE_EVENT_TYPES]
    if not wanted:
        return
    ids = {str(line["product_id"]) for e in wanted for line in _lines(e.properties or {}) if line.get("product_id")}
    products = (
        {p.external_id: catalog_fields(p) for p in Product.objects.filter(store=store, external_id__in=ids)}
        if ids else {}
    )

    def complete(line: dict, claim: bool) -> dict:
        known = products.get(str(line.get("product_id") or ""), {})
        if claim:
            return {**line, **known}
        return {**known, **{k: v for k, v in line.items() if v not in (None, "")}}

    for event in wanted:
        claim = event.source in CLAIM_SOURCES
        properties = dict(event.properties or {})
        if "product_id" in properties:
            properties = complete(properties, claim)
        if isinstance(properties.get("line_items"), list):
            properties["line_items"] = [complete(line, claim) for line in properties["line_items"]
                                        if isinstance(line, dict)]
        event.properties = properties


def _lines(properties: dict) -> list[dict]:
    lines = [properties] if properties.get("product_id") else []
    items = properties.get("line_items")
    return lines + ([line for line in items if isinstance(line, dict)] if isinstance(items, list) else [])
