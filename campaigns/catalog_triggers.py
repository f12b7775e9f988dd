"""Flow triggers from the catalog: back in stock and price drop, driven by the product webhooks already
received (Shopify ``products/update``, WooCommerce ``product.updated``, and backfills: anything that calls
``upsert_products``).

``products_upserted`` (``shopconnect.timeline.catalog``) enqueues ``product_changes`` after the commit.
It records, through ``record_events`` (so flows enrol on them like on any event trigger):

- ``product.back_in_stock`` for every open back-in-stock request (``signup.StockRequest``) whose variant
  the catalog now says can be bought; the request is then closed (``notified_at``), so a redelivered
  webhook tells nobody twice. A request whose address has no customer yet (its signup still being
  processed) waits for the next product update.
- ``product.price_dropped`` for every customer who viewed the product or added it to their cart (events
  with its ``product_id``) within ``PRICE_DROP_LOOKBACK_DAYS``, with ``days_since_interest``: a flow's
  trigger filter on it sets its own window (the prebuilt flow: 14 days).

Both carry the product from the synced catalog (title, URL, image, price), never a visitor's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from shopconnect.timeline import vocabulary as v
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.catalog import catalog_fields
from shopconnect.timeline.models import Customer, Event, Product, Store
from shopconnect.timeline.record import enqueue_when_visible, record_events

BACK_IN_STOCK = "product.back_in_stock"
PRICE_DROPPED = "product.price_dropped"
INTEREST_TYPES = ("product.viewed", "cart.updated")
CHUNK = 1000


def _source(store: Store) -> str:
    return store.platform if store.platform in v.SOURCES else "api"


def on_products_upserted(sender, store, product_ids, price_drops, **kwargs) -> None:
    from integrations.storefront.signup.models import StockRequest

    waiting = StockRequest.objects.filter(store=store, product_id__in=product_ids, notified_at__isnull=True)
    if not price_drops and not waiting.exists():
        return
    from django_q.tasks import async_task

    ids, drops = list(product_ids), [list(d) for d in price_drops]
    enqueue_when_visible(lambda: async_task("campaigns.catalog_triggers.product_changes", store.pk, ids, drops))


def connect() -> None:
    from shopconnect.timeline.catalog import products_upserted

    products_upserted.connect(on_products_upserted, dispatch_uid="campaigns.catalog_triggers")


def product_changes(store_id: int, product_ids: Sequence[str], price_drops: Sequence[Sequence[str]]) -> dict:
    """Task: the back-in-stock and price-drop events for products just written to the catalog."""
    store = Store.objects.get(pk=store_id)
    return {"back_in_stock": notify_back_in_stock(store, product_ids),
            "price_dropped": record_price_drops(store, price_drops)}


def notify_back_in_stock(store: Store, product_ids: Sequence[str]) -> int:
    from integrations.storefront.signup.models import StockRequest
    from integrations.storefront.signup.stock import variant_available

    products = {p.external_id: p for p in Product.objects.filter(store=store, external_id__in=list(product_ids))}
    waiting = StockRequest.objects.filter(store=store, product_id__in=list(products), notified_at__isnull=True)
    total, after = 0, 0
    while True:  # in chunks of requests, oldest first
        chunk = list(waiting.filter(id__gt=after).order_by("id")[:CHUNK])
        if not chunk:
            return total
        after = chunk[-1].pk
        total += _tell(store, products, [r for r in chunk if variant_available(products[r.product_id], r.variant_id)])


def _tell(store: Store, products: dict, back: list) -> int:
    from integrations.storefront.signup.models import StockRequest

    if not back:
        return 0
    customers = dict(Customer.objects.filter(store=store, email__in={r.email for r in back}, deleted_at__isnull=True)
                     .values_list("email", "id"))
    now = timezone.now()
    events, done = [], []
    for request in back:
        customer_id = customers.get(request.email)
        if customer_id is None:
            continue
        product = products[request.product_id]
        events.append(CanonicalEvent(
            type=BACK_IN_STOCK, occurred_at=now, dedupe_key=f"back_in_stock:{request.pk}", source=_source(store),
            customer_id=customer_id, properties={
                **catalog_fields(product), "product_id": product.external_id, "variant_id": request.variant_id,
                "variant_title": request.variant_title}))
        done.append(request.pk)
    record_events(store, events)
    StockRequest.objects.filter(pk__in=done, notified_at__isnull=True).update(notified_at=now)
    return len(done)


def record_price_drops(store: Store, price_drops: Sequence[Sequence[str]]) -> int:
    if not price_drops:
        return 0
    now = timezone.now()
    since = now - timedelta(days=settings.PRICE_DROP_LOOKBACK_DAYS)
    products = {p.external_id: p for p in Product.objects.filter(store=store,
                                                                 external_id__in=[d[0] for d in price_drops])}
    total = 0
    for external_id, old, new in price_drops:
        product = products.get(external_id)
        if product is None:
            continue
        before, after = Decimal(old), Decimal(new)
        stamp = (product.platform_updated_at or now).isoformat()
        interested = (Event.objects.filter(store=store, type__in=INTEREST_TYPES, customer__isnull=False,
                                           occurred_at__gte=since, properties__product_id=external_id)
                      .values("customer_id").order_by("customer_id")
                      .annotate(last=Max("occurred_at"), carts=Count("id", filter=Q(type="cart.updated"))))
        fields = catalog_fields(product)
        events = [CanonicalEvent(
            type=PRICE_DROPPED, occurred_at=now,
            dedupe_key=f"price_drop:{external_id}:{new}:{stamp}:{row['customer_id']}",
            source=_source(store), customer_id=row["customer_id"], properties={
                **fields, "product_id": external_id, "price": str(after), "previous_price": str(before),
                "drop_percent": float(round((before - after) / before * 100, 1)) if before else 0.0,
                "days_since_interest": (now - row["last"]).days,
                "interest": "carted" if row["carts"] else "viewed"})
            for row in interested.iterator(chunk_size=CHUNK)]
        for start in range(0, len(events), CHUNK):
            total += record_events(store, events[start:start + CHUNK]).inserted
    return total
