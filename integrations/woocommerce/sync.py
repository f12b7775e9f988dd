"""The WooCommerce REST API side: register webhooks, backfill history, reconcile what webhooks missed.

WooCommerce never retries a failed delivery and disables a webhook after a few consecutive failures, so
webhooks alone lose data. ``reconcile`` (scheduled every ``WOOCOMMERCE_RECONCILE_MINUTES``) re-enables
disabled webhooks, tells the store owner in the admin (``WooCommerceConnection.alert``), and fetches what
changed since the last run with ``modified_after``. Everything fetched goes through the same pure
``topics`` functions as webhooks, with the same resource-based dedupe keys, so overlaps count once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from woocommerce import API

from integrations.registry import webhook_url
from shopconnect.timeline.catalog import upsert_products
from shopconnect.timeline.models import Platform, Store
from shopconnect.timeline.record import record_events

from . import topics
from .models import WooCommerceConnection

log = logging.getLogger(__name__)

WEBHOOK_TOPICS = (
    "order.created",
    "order.updated",
    "order.deleted",
    "order.restored",
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "product.created",
    "product.updated",
)
RESOURCES = ("customers", "orders", "products")
PER_PAGE = 100
#: fetch a little before the last cursor: clocks differ and a save may commit late
RECONCILE_OVERLAP = timedelta(minutes=5)


class WooCommerceError(RuntimeError):
    """The store's API answered with an error (the message says which call and what it said)."""


def client(store: Store) -> API:
    if not (store.consumer_key and store.consumer_secret):
        raise WooCommerceError(f"store {store.pk} has no REST API keys (connect_store --consumer-key/secret)")
    return API(
        url=store.url,
        consumer_key=store.consumer_key,
        consumer_secret=store.consumer_secret,
        version="wc/v3",
        timeout=settings.WOOCOMMERCE_TIMEOUT_SECONDS,
    )


def _check(response, what: str) -> Any:
    if response.status_code >= 400:
        raise WooCommerceError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


def connection(store: Store) -> WooCommerceConnection:
    return WooCommerceConnection.objects.get_or_create(store=store)[0]


# --- connect ----------------------------------------------------------------------------------------
def register_webhooks(store: Store) -> dict[str, int]:
    """Create (or update) one webhook per topic pointing at our endpoint, all with a fresh secret."""
    api = client(store)
    secret = secrets.token_urlsafe(32)  # URL-safe: nothing for wp_specialchars_decode to change
    store.webhook_secret = secret
    store.save(update_fields=["webhook_secret"])
    url = webhook_url(store)
    existing = {}
    for page in _pages(api, "webhooks", {}):
        for hook in page:
            if hook.get("delivery_url") == url:
                existing[hook.get("topic")] = hook["id"]
    ids: dict[str, int] = {}
    for topic in WEBHOOK_TOPICS:
        body = {
            "name": f"ShopConnect {topic}",
            "topic": topic,
            "delivery_url": url,
            "secret": secret,
            "status": "active",
        }
        if topic in existing:
            hook = _check(api.put(f"webhooks/{existing[topic]}", body), f"update webhook {topic}")
        else:
            hook = _check(api.post("webhooks", body), f"create webhook {topic}")
        ids[topic] = hook["id"]
    conn = connection(store)
    conn.webhooks = ids
    conn.save(update_fields=["webhooks"])
    return ids


# --- history ----------------------------------------------------------------------------------------
def _pages(api: API, endpoint: str, params: dict[str, Any], start: int = 1) -> Iterator[list[dict]]:
    """Yield each page (``X-WP-TotalPages`` says how many there are)."""
    page = start
    while True:
        response = api.get(endpoint, params={**params, "per_page": PER_PAGE, "page": page})
        items = _check(response, f"GET {endpoint} page {page}")
        yield items
        total = int(response.headers.get("X-WP-TotalPages") or 0)
        if page >= total or not items:
            return
        page += 1


def _apply_items(store: Store, resource: str, items: list[dict[str, Any]]) -> int:
    """Record one page of resources; returns the number of events inserted."""
    if resource == "products":
        upsert_products(store, [topics.product_record(p) for p in items])
        return 0
    events = []
    for item in items:
        if resource == "orders":
            events.extend(topics.order_events(item) + topics.order_consent(item))
        else:
            events.extend(topics.customer_events(item, "updated") + topics.customer_consent(item))
    return record_events(store, events).inserted


def backfill(store: Store, since: datetime | None = None) -> dict[str, int]:
    """Import customers, orders and products page by page; an interrupted run resumes where it stopped."""
    api = client(store)
    conn = connection(store)
    since_key = since.isoformat() if since else None
    state = conn.backfill_state if conn.backfill_state.get("since", "") == since_key else {}
    state.setdefault("since", since_key)
    state.setdefault("done", [])
    params = {"orderby": "id", "order": "asc"}
    if since:
        params["modified_after"] = since.strftime("%Y-%m-%dT%H:%M:%S")
        params["dates_are_gmt"] = "true"
    counts = {"events": 0}
    for resource in RESOURCES:
        if resource in state["done"]:
            continue
        page = int(state.get(resource, 1))
        counts.setdefault(resource, 0)
        for items in _pages(api, resource, params, start=page):
            counts["events"] += _apply_items(store, resource, items)
            counts[resource] += len(items)
            page += 1
            state[resource] = page  # the page to fetch next, saved after each page
            conn.backfill_state = state
            conn.save(update_fields=["backfill_state"])
        state["done"].append(resource)
        conn.backfill_state = state
        conn.save(update_fields=["backfill_state"])
    conn.backfill_state = {}
    conn.backfill_completed_at = timezone.now()
    if conn.reconciled_until is None:
        conn.reconciled_until = conn.backfill_completed_at
    conn.save(update_fields=["backfill_state", "backfill_completed_at", "reconciled_until"])
    return counts


# --- reconciliation ---------------------------------------------------------------------------------
def reenable_webhooks(store: Store, conn: WooCommerceConnection, api: API) -> list[str]:
    """Re-activate webhooks WooCommerce disabled after failed deliveries; returns their topics."""
    fixed = []
    for topic, hook_id in sorted(conn.webhooks.items()):
        hook = _check(api.get(f"webhooks/{hook_id}"), f"GET webhook {hook_id}")
        if hook.get("status") != "active":
            _check(api.put(f"webhooks/{hook_id}", {"status": "active"}), f"re-enable webhook {hook_id}")
            fixed.append(topic)
    if fixed:
        now = timezone.now()
        conn.alert = (
            f"{now:%Y-%m-%d %H:%M} UTC: WooCommerce had disabled the webhooks {', '.join(fixed)} "
            "after failed "
            "deliveries. ShopConnect re-enabled them and fetched the changes it missed through the API. "
            "If this repeats, check that your site can reach ShopConnect's webhook URL."
        )
        conn.alert_at = now
        conn.save(update_fields=["alert", "alert_at"])
        log.warning("store %s: re-enabled disabled WooCommerce webhooks %s", store.pk, fixed)
    return fixed


def reconcile(store_id: int) -> dict[str, Any]:
    """Task: re-enable disabled webhooks, then fetch what changed since the last run.

    Orders: ``modified_after`` (with ``dates_are_gmt``). The customers endpoint has no such filter, so
    customers are read newest-registered first until one registered before the window: new customers are
    caught; a profile edit missed by a disabled webhook waits for the next ``customer.updated``.
    """
    store = Store.objects.get(pk=store_id)
    api = client(store)
    conn = connection(store)
    started = timezone.now()
    fixed = reenable_webhooks(store, conn, api)
    since = (conn.reconciled_until or started - timedelta(days=1)) - RECONCILE_OVERLAP
    params = {
        "modified_after": since.strftime("%Y-%m-%dT%H:%M:%S"),
        "dates_are_gmt": "true",
        "orderby": "modified",
        "order": "asc",
    }
    counts: dict[str, Any] = {"reenabled": fixed, "events": 0, "customers": 0, "orders": 0}
    for items in _pages(api, "customers", {"orderby": "registered_date", "order": "desc"}):
        recent = [c for c in items if (topics.gmt(c.get("date_created_gmt")) or since) >= since]
        counts["events"] += _apply_items(store, "customers", recent)
        counts["customers"] += len(recent)
        if len(recent) < len(items):
            break  # the rest registered before the window
    for items in _pages(api, "orders", params):
        counts["events"] += _apply_items(store, "orders", items)
        counts["orders"] += len(items)
    conn.reconciled_until = started
    conn.save(update_fields=["reconciled_until"])
    return counts


def reconcile_all() -> int:
    """Scheduled task: one ``reconcile`` task per active WooCommerce store with API keys."""
    from django_q.tasks import async_task

    count = 0
    for store in Store.objects.filter(platform=Platform.WOOCOMMERCE, status=Store.Status.ACTIVE):
        if store.consumer_key and store.consumer_secret:
            async_task("integrations.woocommerce.sync.reconcile", store.pk, group="woocommerce")
            count += 1
    return count


def ensure_schedule() -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="woocommerce reconciliation",
        defaults={
            "func": "integrations.woocommerce.sync.reconcile_all",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.WOOCOMMERCE_RECONCILE_MINUTES,
            "repeats": -1,
        },
    )
