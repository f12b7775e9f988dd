"""Backfill and reconciliation through the GraphQL Admin API.

Resources: products (with collections), customers, orders (with refunds) and abandoned checkouts,
cursor-paginated. GraphQL nodes are converted to the webhook (REST) shapes and go through the same pure
functions as webhooks, so the dedupe keys are identical and a backfill overlapping webhooks never
doubles anything. After each page its events are recorded and the page's ``endCursor`` is saved in
``SyncState``: a failed run resumes where it stopped. Reconciliation re-reads orders and customers
updated since the last sync (with an overlap) to recover webhooks Shopify never delivered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from shopconnect.timeline.catalog import upsert_products
from shopconnect.timeline.models import Store
from shopconnect.timeline.record import record_events

from . import checkouts, customers, orders, products
from . import queries as q
from .graphql import ShopifyAPIError, execute
from .models import SyncState

RESOURCES = ("products", "customers", "orders", "checkouts")
RECONCILE_OVERLAP = timedelta(minutes=15)


def _nodes(connection: dict | None) -> list[dict]:
    return [edge["node"] for edge in (connection or {}).get("edges") or []]


def _money(money_set: dict | None) -> str | None:
    return ((money_set or {}).get("shopMoney") or {}).get("amount")


def _line_items(connection: dict | None) -> list[dict]:
    return [
        {
            "product_id": (node.get("product") or {}).get("id"),
            "variant_id": (node.get("variant") or {}).get("id"),
            "title": node.get("title"),
            "variant_title": node.get("variantTitle"),
            "vendor": node.get("vendor"),
            "quantity": node.get("quantity"),
            "price": _money(node.get("originalUnitPriceSet")),
            "sku": node.get("sku"),
        }
        for node in _nodes(connection)
    ]


def rest_customer(node: dict) -> dict[str, Any]:
    consent = node.get("emailMarketingConsent") or {}
    address = node.get("defaultAddress") or {}
    return {
        "id": node["id"],
        "email": (node.get("defaultEmailAddress") or {}).get("emailAddress") or node.get("email"),
        "first_name": node.get("firstName"),
        "last_name": node.get("lastName"),
        "phone": node.get("phone"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "state": (node.get("state") or "").lower(),
        "tags": node.get("tags"),
        "verified_email": node.get("verifiedEmail"),
        "default_address": {"country_code": address.get("countryCodeV2"), "phone": address.get("phone")},
        "email_marketing_consent": {
            "state": (consent.get("marketingState") or "").lower(),
            "opt_in_level": consent.get("marketingOptInLevel"),
            "consent_updated_at": consent.get("consentUpdatedAt"),
        }
        if consent
        else None,
    }


def rest_order(node: dict) -> dict[str, Any]:
    customer = node.get("customer") or {}
    return {
        "id": node["id"],
        "name": node.get("name"),
        "email": node.get("email"),
        "customer": {"id": customer.get("id"), "email": customer.get("email")} if customer else None,
        "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": (node.get("cancelReason") or "").lower(),
        "financial_status": (node.get("displayFinancialStatus") or "").lower(),
        "fulfillment_status": (node.get("displayFulfillmentStatus") or "").lower(),
        "total_price": _money(node.get("totalPriceSet")),
        "subtotal_price": _money(node.get("subtotalPriceSet")),
        "current_total_price": _money(node.get("currentTotalPriceSet")),
        "total_discounts": _money(node.get("totalDiscountsSet")),
        "currency": node.get("currencyCode"),
        "tags": node.get("tags") or [],
        "source_name": node.get("sourceName"),
        "customer_locale": node.get("customerLocale"),
        "note": node.get("note"),
        "note_attributes": [{"name": a.get("key"), "value": a.get("value")}
                            for a in node.get("customAttributes") or []],
        "billing_address": {"city": (node.get("billingAddress") or {}).get("city"),
                            "province": (node.get("billingAddress") or {}).get("province"),
                            "country_code": (node.get("billingAddress") or {}).get("countryCodeV2")}
        if node.get("billingAddress") else None,
        "discount_codes": [{"code": c} for c in node.get("discountCodes") or []],
        "line_items": _line_items(node.get("lineItems")),
        "refunds": [
            {
                "id": refund["id"],
                "order_id": node["id"],
                "created_at": refund.get("createdAt"),
                "transactions": [
                    {"kind": "refund", "status": "success", "amount": _money(refund.get("totalRefundedSet"))}
                ],
            }
            for refund in node.get("refunds") or []
        ],
    }


def rest_checkout(node: dict) -> dict[str, Any]:
    customer = node.get("customer") or {}
    return {
        "id": node["id"],
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "completed_at": node.get("completedAt"),
        "abandoned_checkout_url": node.get("abandonedCheckoutUrl"),
        "email": customer.get("email"),
        "customer": {"id": customer.get("id"), "email": customer.get("email")},
        "total_price": _money(node.get("totalPriceSet")),
        "currency": ((node.get("totalPriceSet") or {}).get("shopMoney") or {}).get("currencyCode"),
        "line_items": _line_items(node.get("lineItems")),
    }


def product_record(node: dict):
    media = (((node.get("featuredMedia") or {}).get("preview") or {}).get("image") or {}).get("url")
    record = products.product_record(
        {
            "id": node["id"],
            "title": node.get("title"),
            "handle": node.get("handle"),
            "status": node.get("status"),
            "product_type": node.get("productType"),
            "updated_at": node.get("updatedAt"),
            "vendor": node.get("vendor"),
            "tags": node.get("tags") or [],
            "body_html": node.get("descriptionHtml"),
            "published_at": node.get("publishedAt"),
            "image": {"src": media} if media else None,
            "variants": [
                {
                    "id": v.get("id"),
                    "title": v.get("title"),
                    "sku": v.get("sku"),
                    "price": v.get("price"),
                    "compare_at_price": v.get("compareAtPrice"),
                    "inventory_quantity": v.get("inventoryQuantity"),
                }
                for v in _nodes(node.get("variants"))
            ],
        }
    )
    return dataclasses.replace(
        record,
        url=node.get("onlineStoreUrl") or "",
        collections=[c.get("handle") or c.get("title") for c in _nodes(node.get("collections"))],
    )


def _store_page(store: Store, resource: str, nodes: list[dict]) -> int:
    """Record one page; returns how many events were inserted (products: rows written)."""
    if resource == "products":
        records = [product_record(n) for n in nodes]
        base = (store.url or f"https://{store.domain}").rstrip("/")
        records = [
            r if r.url or not r.handle else dataclasses.replace(r, url=f"{base}/products/{r.handle}")
            for r in records
        ]
        return upsert_products(store, records)
    events = []
    for node in nodes:
        if resource == "customers":
            # created (keyed by id) and this version (keyed by updated_at, as a customers/update webhook)
            rest = rest_customer(node)
            events += customers.customer_events(rest, created=True) + customers.customer_events(
                rest, created=False
            )
        elif resource == "orders":
            events += orders.order_events(rest_order(node))
        elif resource == "checkouts":
            events += checkouts.checkout_events(rest_checkout(node), created=True)
    return record_events(store, events).inserted if events else 0


def pages(
    store: Store, resource: str, since: datetime | None, after: str | None
) -> Iterator[tuple[list, str | None, bool]]:
    query, root = q.QUERIES[resource]
    search = f"updated_at:>='{since.isoformat()}'" if since else None
    while True:
        data = execute(store, query, {"after": after, "query": search})[root]
        if data["pageInfo"]["hasNextPage"] and data["pageInfo"]["endCursor"] in (None, after):
            raise ShopifyAPIError(f"{resource}: the cursor did not advance; stopping instead of looping")
        after = data["pageInfo"]["endCursor"]
        yield _nodes(data), after, bool(data["pageInfo"]["hasNextPage"])
        if not data["pageInfo"]["hasNextPage"]:
            return


def run_backfill(
    store: Store, since: datetime | None = None, *, on_page: Callable[[], None] | None = None
) -> dict[str, int]:
    """Import every resource, resuming an unfinished run; returns counts per resource."""
    state, _ = SyncState.objects.get_or_create(store=store)
    if not state.cursors and not state.finished:
        state.backfill_started_at = timezone.now()
    counts = {resource: 0 for resource in RESOURCES}
    try:
        for resource in RESOURCES:
            if resource in state.finished:
                continue
            for nodes, cursor, more in pages(store, resource, since, state.cursors.get(resource)):
                counts[resource] += _store_page(store, resource, nodes)
                if more:
                    state.cursors[resource] = cursor
                else:
                    state.cursors.pop(resource, None)
                    state.finished.append(resource)
                state.save(update_fields=["cursors", "finished", "backfill_started_at"])
                if on_page:
                    on_page()
    except Exception as exc:
        state.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        state.save(update_fields=["last_error"])
        raise
    state.cursors, state.finished, state.last_error = {}, [], ""
    state.backfill_finished_at = timezone.now()
    if state.last_reconciled_at is None:
        state.last_reconciled_at = state.backfill_started_at
    state.save()
    return counts


def run_reconciliation(store: Store) -> dict[str, int]:
    """Orders and customers updated since the last sync (minus an overlap); returns inserted counts."""
    state, _ = SyncState.objects.get_or_create(store=store)
    started = timezone.now()
    since = (state.last_reconciled_at or started - timedelta(days=1)) - RECONCILE_OVERLAP
    counts = {}
    for resource in ("customers", "orders"):
        counts[resource] = sum(
            _store_page(store, resource, nodes) for nodes, _c, _m in pages(store, resource, since, None)
        )
    state.last_reconciled_at = started
    state.save(update_fields=["last_reconciled_at"])
    return counts
