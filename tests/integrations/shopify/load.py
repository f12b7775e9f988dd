"""Many orders and refunds in Shopify's shapes (from the real payload files), stored as deliveries the
way the webhook view stores them: for the drain's fault tests and ``bench/faults.py``.

``mixed_load(n, refunds_first=0.02)``: n paid orders of n // 2 customers, each second order refunded;
a share of the refunds (of all deliveries) arrives before its order, the rest after."""

from __future__ import annotations

import json
import random
from copy import deepcopy
from functools import cache

from integrations.models import WebhookDelivery

from .helpers import payload as _payload

payload = cache(_payload)  # read each file once (the load copies it per delivery)

ORDER_BASE = 6_000_000_000_000
CUSTOMER_BASE = 7_000_000_000_000
REFUND_BASE = 9_000_000_000_000


def order_body(n: int, customers: int) -> dict:
    body = deepcopy(payload("orders_paid"))
    c = n % customers
    body["id"] = ORDER_BASE + n
    body["name"] = body["order_number"] = f"#{10000 + n}"
    body["email"] = body["contact_email"] = f"buyer{c}@example.com"
    body["customer"] = {**body["customer"], "id": CUSTOMER_BASE + c, "email": f"buyer{c}@example.com"}
    return body


def refund_body(n: int) -> dict:
    body = deepcopy(payload("refunds_create"))
    body["id"] = REFUND_BASE + n
    body["order_id"] = ORDER_BASE + n
    return body


def mixed_load(n: int, refunds_first: float = 0.02, seed: int = 7) -> list[tuple[str, str, dict]]:
    """(topic, delivery key, body) in arrival order: a refund that comes after its order lands 1 to 40
    deliveries later; ``refunds_first`` of all deliveries are refunds a few deliveries before their order."""
    rng = random.Random(seed)
    customers = max(n // 2, 1)
    refunded = list(range(0, n, 2))
    early = set(rng.sample(refunded, min(len(refunded), round((n + len(refunded)) * refunds_first))))
    placed: list[tuple[float, tuple[str, str, dict]]] = []
    for i in range(n):
        placed.append((i, ("orders/paid", f"o{i}", order_body(i, customers))))
    for i in refunded:
        at = i - rng.uniform(0.1, 5) if i in early else i + rng.uniform(1, 40)
        placed.append((at, ("refunds/create", f"r{i}", refund_body(i))))
    placed.sort(key=lambda item: item[0])
    return [item for _, item in placed]


def store_deliveries(store, load: list[tuple[str, str, dict]]) -> list[int]:
    rows = [WebhookDelivery(store=store, platform="shopify", topic=topic, delivery_key=key,
                            body=json.dumps(body).encode()) for topic, key, body in load]
    WebhookDelivery.objects.bulk_create(rows, batch_size=500)
    return [r.pk for r in WebhookDelivery.objects.filter(store=store).order_by("pk").only("pk")]
