"""Product recommendations for email content, in SQL.

1. Frequently bought together: products that appear in the same orders as the products of the
   triggering event (or of the customer's last order), ranked by how many orders they share.
2. Fallback: the store's best sellers in the categories the customer browsed (product.viewed), then
   the store's best sellers overall. Products the customer already bought are never recommended.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from shopconnect.timeline.models import Customer, Event, Product, Store

ORDER_SCAN_LIMIT = 2000  # most recent orders looked at for co-purchases


def _order_products(event_properties: dict) -> set[str]:
    return {str(item.get("product_id")) for item in event_properties.get("line_items") or []
            if isinstance(item, dict) and item.get("product_id")}


def recommend(store: Store, customer: Customer | None, seed_product_ids: Iterable[str] = (),
              limit: int = 3) -> list[Product]:
    seeds = {str(p) for p in seed_product_ids if p}
    bought: set[str] = set()
    if customer is not None:
        for props in Event.objects.filter(customer=customer, type="order.placed").values_list("properties", flat=True):
            bought |= _order_products(props or {})
        if not seeds:
            seeds = set(bought)
    scores: Counter[str] = Counter()
    if seeds:
        recent = (Event.objects.filter(store=store, type="order.placed")
                  .order_by("-occurred_at").values_list("properties", flat=True)[:ORDER_SCAN_LIMIT])
        for props in recent:
            products = _order_products(props or {})
            if products & seeds:
                for pid in products - seeds - bought:
                    scores[pid] += 1
    exclude = seeds | bought
    chosen = [pid for pid, _ in scores.most_common(limit)]
    if len(chosen) < limit:
        categories = []
        if customer is not None:
            categories = list(
                Event.objects.filter(customer=customer, type="product.viewed")
                .exclude(properties__category=None).values_list("properties__category", flat=True).distinct()[:10]
            )
        chosen += _best_sellers(store, categories, exclude | set(chosen), limit - len(chosen))
    if len(chosen) < limit:
        chosen += _best_sellers(store, [], exclude | set(chosen), limit - len(chosen))
    by_id = {p.external_id: p for p in Product.objects.filter(store=store, external_id__in=chosen, status="active")}
    return [by_id[pid] for pid in chosen if pid in by_id]


def _best_sellers(store: Store, categories: list[str], exclude: set[str], limit: int) -> list[str]:
    if limit <= 0:
        return []
    products = Product.objects.filter(store=store, status="active").exclude(external_id__in=exclude)
    if categories:
        products = products.filter(category__in=categories)
    candidate_ids = list(products.values_list("external_id", flat=True)[:500])
    if not candidate_ids:
        return []
    counts: Counter[str] = Counter()
    recent = (Event.objects.filter(store=store, type="order.placed")
              .order_by("-occurred_at").values_list("properties", flat=True)[:ORDER_SCAN_LIMIT])
    wanted = set(candidate_ids)
    for props in recent:
        for pid in _order_products(props or {}) & wanted:
            counts[pid] += 1
    ranked = sorted(candidate_ids, key=lambda pid: (-counts[pid], pid))
    return ranked[:limit]

