"""The demo store, loaded through the real ingestion path.

~500 customers with several months of believable behaviour, sent the way a live store sends them:
signed Shopify webhooks (``customers/create``, ``products/create``, ``checkouts/create``,
``orders/create``, ``refunds/create``, ``orders/cancelled``) to ``POST /webhooks/shopify/`` and storefront
batches (page and product views, add-to-cart, with anonymous browsing that is stitched on identification)
to ``POST /collect/<key>/``, then processed by the same tasks a worker runs. Past email engagement has no
platform source (it comes from our own sending), so it is recorded with ``record_events`` directly.

Everything is seeded and keyed by the resource, so loading twice changes nothing: the webhooks come back
as duplicates and the batches as replays.
"""

from __future__ import annotations

import json
import logging
import random
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from integrations.base import hmac_sha256_base64
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Store
from shopconnect.timeline.record import record_events

DEMO_DOMAIN = "demo-outdoor.myshopify.com"
DEMO_URL = "https://demo-outdoor.example"
#: used to sign the demo's webhooks when no SHOPIFY_API_SECRET is configured (development)
DEMO_SECRET = "shopconnect-demo-app-secret"

CATALOG = [
    (8100000001, "Trail Runner Shoes", "Footwear", "119.00"),
    (8100000002, "Summit Hiking Boots", "Footwear", "189.00"),
    (8100000003, "Camp Sandals", "Footwear", "49.00"),
    (8100000004, "Merino Base Layer", "Apparel", "79.00"),
    (8100000005, "Rain Shell Jacket", "Apparel", "229.00"),
    (8100000006, "Down Puffer Vest", "Apparel", "139.00"),
    (8100000007, "Hiking Socks (3 pack)", "Apparel", "24.00"),
    (8100000008, "Ultralight Tent 2P", "Camping", "349.00"),
    (8100000009, "Sleeping Bag -5C", "Camping", "199.00"),
    (8100000010, "Inflatable Sleeping Pad", "Camping", "89.00"),
    (8100000011, "Camp Stove", "Camping", "59.00"),
    (8100000012, "Titanium Mug", "Camping", "29.00"),
    (8100000013, "Daypack 22L", "Packs", "99.00"),
    (8100000014, "Backpack 55L", "Packs", "249.00"),
    (8100000015, "Hydration Bladder 2L", "Packs", "35.00"),
    (8100000016, "Headlamp 400lm", "Accessories", "45.00"),
    (8100000017, "Trekking Poles", "Accessories", "119.00"),
    (8100000018, "Water Filter", "Accessories", "39.00"),
    (8100000019, "Trail Mix Bars (12)", "Food", "18.00"),
    (8100000020, "Freeze-Dried Meal", "Food", "12.00"),
]
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas", "Kofi", "Lena",
         "Mateo", "Nora", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Viktor", "Wen", "Yusuf", "Zoë"]
LAST = ["Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ito", "Jensen",
        "Kowalski", "López", "Müller", "Nowak", "Olsen", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weber"]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "FR", "AU", "NL", "SE"]
DEVICES = {
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "desktop": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36",
    "tablet": "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
}


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


class _Story:
    """What one customer did, as the platform and the storefront would send it."""

    def __init__(self) -> None:
        self.webhooks: list[tuple[str, str, dict]] = []  # (topic, event id, payload)
        self.storefront: list[dict] = []  # storefront events, sent in batches of at most 50
        self.user_agent = ""
        self.emails: list[CanonicalEvent] = []


def load_demo(customers: int = 500, seed: int = 7, now: datetime | None = None, progress=None) -> dict[str, int]:
    """Load the demo store; ``progress(done, total)`` is called every 50 customers (``manage.py demo``
    prints it). Nothing is dated at or after ``now`` (default: today's midnight UTC, before the real now)."""
    rng = random.Random(seed)
    # Anchored to midnight so that runs on the same day produce exactly the same deliveries.
    now = now or timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    store, _ = Store.objects.get_or_create(
        platform="shopify", domain=DEMO_DOMAIN,
        defaults={"name": "Demo Outdoor Co.", "url": DEMO_URL, "currency": "USD", "timezone": "America/New_York",
                  "address": "Demo Outdoor Co., 120 Trailhead Road, Boulder, CO 80302, USA"},
    )
    stories = [_without_future(_customer_story(rng, index, now), now) for index in range(customers)]
    client = Client(HTTP_HOST=_host())
    secret = settings.SHOPIFY_API_SECRET or DEMO_SECRET
    counts = {"webhooks": 0, "webhooks_new": 0, "batches": 0, "events_direct": 0}
    with override_settings(SHOPIFY_API_SECRET=secret, COLLECT_RATE_LIMIT_PER_MINUTE=10**9), tasks_inline():
        for n, (pid, title, category, price) in enumerate(CATALOG):
            counts["webhooks_new"] += _post_webhook(client, store, secret, "products/create", f"demo-product-{n}",
                                                    _product(pid, title, category, price, now))
            counts["webhooks"] += 1
        for done, story in enumerate(stories, 1):
            if progress is not None and (done % 50 == 0 or done == len(stories)):
                progress(done, len(stories))
            # The storefront first: the visitor signs up on the store (a claim, shopconnect.timeline.record),
            # then Shopify's signed customers/create makes that profile known, with its browsing on it.
            events = sorted(story.storefront, key=lambda e: e["timestamp"])
            for start in range(0, len(events), 50):
                _post_batch(client, store, story.user_agent, events[start : start + 50])
                counts["batches"] += 1
            for topic, event_id, payload in story.webhooks:
                counts["webhooks_new"] += _post_webhook(client, store, secret, topic, event_id, payload)
                counts["webhooks"] += 1
        for story in stories:
            counts["events_direct"] += record_events(store, story.emails).inserted
    return {"store": store.pk, **counts}


def _host() -> str:
    hosts = [h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")]
    return hosts[0] if hosts and "testserver" not in settings.ALLOWED_HOSTS else "testserver"


def _post_webhook(client: Client, store: Store, secret: str, topic: str, event_id: str, payload: dict) -> int:
    body = json.dumps(payload).encode()
    response = client.post("/webhooks/shopify/", data=body, content_type="application/json", headers={
        "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": store.domain, "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": f"wh-{event_id}", "X-Shopify-API-Version": settings.SHOPIFY_API_VERSION,
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret, body),
    })
    if response.status_code != 200:
        raise RuntimeError(f"demo webhook {topic} answered {response.status_code}: {response.content[:200]!r}")
    return int(response.json().get("status") == "accepted")


def _post_batch(client: Client, store: Store, user_agent: str, events: list[dict]) -> None:
    response = client.post(f"/collect/{store.collect_key}/", data=json.dumps({"events": events}),
                           content_type="application/json", headers={"User-Agent": user_agent})
    if response.status_code != 202:
        raise RuntimeError(f"demo collect answered {response.status_code}: {response.content[:300]!r}")


@contextmanager
def tasks_inline():
    """Run the tasks the deliveries queue right away, in this process, as the test suite does: the same
    task functions a worker runs, without leaving thousands of queued tasks behind for ``make run``."""
    from django_q.conf import Conf

    previous, quiet = Conf.SYNC, logging.getLogger("django-q").level
    Conf.SYNC = True
    logging.getLogger("django-q").setLevel(logging.WARNING)
    try:
        yield
    finally:
        Conf.SYNC = previous
        logging.getLogger("django-q").setLevel(quiet)


def _product(pid: int, title: str, category: str, price: str, now: datetime) -> dict:
    handle = title.lower().replace(" ", "-").replace("(", "").replace(")", "")
    return {
        "id": pid, "title": title, "handle": handle, "product_type": category, "status": "active",
        "created_at": iso(now - timedelta(days=400)), "updated_at": iso(now - timedelta(days=400)),
        "variants": [{"id": pid * 10, "price": price, "compare_at_price": None, "inventory_quantity": 50}],
        "images": [{"src": f"{DEMO_URL}/images/{handle}.jpg"}],
    }


def _customer_story(rng: random.Random, index: int, now: datetime) -> _Story:
    story = _Story()
    first, last = rng.choice(FIRST), rng.choice(LAST)
    ascii_name = f"{first}.{last}".lower().translate(str.maketrans("éèëíüóç", "eeeiuoc"))
    email = f"{ascii_name}.{index}@example.com"
    customer_id = 7_000_000_000 + index
    signup = now - timedelta(days=rng.uniform(1, 200))
    device = rng.choice(["mobile", "mobile", "desktop", "desktop", "tablet"])
    visitor = f"demo-visitor-{index}"
    consent = rng.choices(["subscribed", "not_subscribed", "unsubscribed"], [70, 20, 10])[0]
    customer = {"id": customer_id, "email": email, "first_name": first, "last_name": last}

    # Anonymous browsing before signing up, stitched onto the customer when they identify themselves.
    anonymous = []
    for j in range(rng.randint(0, 3)):
        pid, title, category, price = rng.choice(CATALOG)
        anonymous.append(_view(f"demo-{index}-anon{j}", visitor, signup - timedelta(hours=rng.uniform(1, 72)),
                               pid, title, category, price))
    story.user_agent = DEVICES[device]
    story.storefront.extend(anonymous)
    story.webhooks.append(("customers/create", f"demo-{index}-customer", {
        **customer, "created_at": iso(signup), "updated_at": iso(signup), "tags": "",
        "state": "enabled", "verified_email": True, "phone": None,
        "default_address": {"country_code": rng.choice(COUNTRIES)},
        "email_marketing_consent": {"state": consent, "opt_in_level": "single_opt_in",
                                    "consent_updated_at": iso(signup)},
    }))
    story.storefront.append({
        "id": f"demo-{index}-identify", "name": "page_viewed", "timestamp": iso(signup), "client_id": visitor,
        "email": email, "url": f"{DEMO_URL}/account", "data": {"title": "My account"},
    })

    order_no = 0
    for visit in range(rng.randint(1, 14)):
        when = signup + timedelta(days=rng.uniform(0, max(0.1, (now - signup).days)))
        if when >= now:
            continue
        events = [{"id": f"demo-{index}-{visit}-page", "name": "page_viewed", "timestamp": iso(when),
                   "client_id": visitor, "url": f"{DEMO_URL}/", "data": {"title": "Home"}}]
        items = []
        for k in range(rng.randint(1, 4)):
            pid, title, category, price = rng.choice(CATALOG)
            t = when + timedelta(minutes=2 * k + 1)
            events.append(_view(f"demo-{index}-{visit}-pv{k}", visitor, t, pid, title, category, price))
            if rng.random() < 0.35:
                qty = rng.randint(1, 2)
                items.append({"id": pid * 100 + k, "product_id": pid, "variant_id": pid * 10, "title": title,
                              "quantity": qty, "price": price})
                events.append({"id": f"demo-{index}-{visit}-cart{k}", "name": "product_added_to_cart",
                               "timestamp": iso(t + timedelta(seconds=30)), "client_id": visitor,
                               "data": {"product_id": str(pid), "title": title, "quantity": qty, "price": price,
                                        "cart_token": f"demo-cart-{index}-{visit}"}})
        story.storefront.extend(events)
        if not items or rng.random() < 0.3:
            continue
        total = sum((Decimal(i["price"]) * i["quantity"] for i in items), Decimal("0"))
        token = f"demo{index:04d}{visit:02d}"
        t = when + timedelta(minutes=12)
        checkout = {"id": 900_000_000 + index * 100 + visit, "token": token, "cart_token": f"demo-cart-{index}-{visit}",
                    "email": email, "customer": customer, "created_at": iso(t), "updated_at": iso(t),
                    "currency": "USD", "total_price": str(total), "subtotal_price": str(total), "line_items": items,
                    "abandoned_checkout_url": f"{DEMO_URL}/checkouts/{token}/recover"}
        story.webhooks.append(("checkouts/create", f"demo-{index}-{visit}-checkout", checkout))
        if rng.random() < 0.45:
            continue  # abandoned
        order_no += 1
        order_id = 5_000_000_000 + index * 100 + order_no
        t += timedelta(minutes=rng.uniform(2, 20))
        number = 1000 + index * 10 + order_no
        order = {"id": order_id, "order_number": number, "name": f"#{number}",
                 "email": email, "customer": customer, "created_at": iso(t), "processed_at": iso(t),
                 "updated_at": iso(t), "currency": "USD", "total_price": str(total), "subtotal_price": str(total),
                 "financial_status": "paid", "fulfillment_status": None, "line_items": items,
                 "checkout_id": checkout["id"], "checkout_token": token, "cart_token": checkout["cart_token"],
                 "refunds": [], "fulfillments": []}
        story.webhooks.append(("orders/create", f"demo-{index}-{order_id}-create", order))
        roll = rng.random()
        if roll < 0.05:
            cancelled = t + timedelta(hours=3)
            story.webhooks.append(("orders/cancelled", f"demo-{index}-{order_id}-cancel", {
                **order, "cancelled_at": iso(cancelled), "cancel_reason": "customer", "updated_at": iso(cancelled),
                "financial_status": "voided"}))
        elif roll < 0.12:
            refund = (total / 2).quantize(Decimal("0.01"))
            refunded = t + timedelta(days=6)
            if refunded < now:
                story.webhooks.append(("refunds/create", f"demo-{index}-{order_id}-refund", {
                    "id": 9_000_000_000 + index * 100 + order_no, "order_id": order_id, "created_at": iso(refunded),
                    "processed_at": iso(refunded), "refund_line_items": [],
                    "transactions": [{"kind": "refund", "status": "success", "amount": str(refund)}]}))

    if consent == "subscribed":
        week, n = signup + timedelta(days=7), 0
        while week < now:
            n += 1
            message = f"demo-msg-{index}-{n}"
            story.emails.append(_email("email.sent", week, f"demo:{index}:mail{n}:sent", email, message,
                                       subject="This week at Demo Outdoor"))
            if rng.random() < 0.35:
                story.emails.append(_email("email.opened", week + timedelta(hours=rng.uniform(0.2, 30)),
                                           f"demo:{index}:mail{n}:open", email, message, machine=False))
                if rng.random() < 0.2:
                    story.emails.append(_email("email.clicked", week + timedelta(hours=31),
                                               f"demo:{index}:mail{n}:click", email, message,
                                               url=f"{DEMO_URL}/collections/new"))
            week += timedelta(days=7)
    return story


def _without_future(story: _Story, now: datetime) -> _Story:
    """Drop whatever the story dated at or after ``now`` (an open 30 hours after last night's newsletter, an
    order placed a few minutes after a late visit): the demo shows nothing that has not happened yet."""
    cutoff = iso(now)
    story.webhooks = [w for w in story.webhooks
                      if max(str(w[2].get("created_at") or ""), str(w[2].get("updated_at") or "")) < cutoff]
    story.storefront = [e for e in story.storefront if e["timestamp"] < cutoff]
    story.emails = [e for e in story.emails if e.occurred_at < now]
    return story


def _view(event_id: str, visitor: str, when: datetime, pid: int, title: str, category: str, price: str) -> dict:
    return {"id": event_id, "name": "product_viewed", "timestamp": iso(when), "client_id": visitor,
            "url": f"{DEMO_URL}/products/{pid}",
            "data": {"product_id": str(pid), "title": title, "category": category, "price": price}}


def _email(kind: str, when: datetime, key: str, email: str, message: str, **props) -> CanonicalEvent:
    return CanonicalEvent(type=kind, occurred_at=when, dedupe_key=key, source="demo", email=email,
                          properties={"message_id": message, **props})
