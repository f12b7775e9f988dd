"""The demo store: ~500 customers with several months of believable behaviour.

Deterministic (seeded) dedupe keys make loading it idempotent: a second run inserts nothing.
Everything goes through ``record_events``, the same path webhooks take after normalization.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from .canonical import CanonicalEvent, ProductRecord
from .catalog import upsert_products
from .models import Store
from .record import record_events

DEMO_DOMAIN = "demo-outdoor.myshopify.com"

CATALOG = [
    ("1001", "Trail Runner Shoes", "Footwear", "119.00"),
    ("1002", "Summit Hiking Boots", "Footwear", "189.00"),
    ("1003", "Camp Sandals", "Footwear", "49.00"),
    ("1004", "Merino Base Layer", "Apparel", "79.00"),
    ("1005", "Rain Shell Jacket", "Apparel", "229.00"),
    ("1006", "Down Puffer Vest", "Apparel", "139.00"),
    ("1007", "Hiking Socks (3 pack)", "Apparel", "24.00"),
    ("1008", "Ultralight Tent 2P", "Camping", "349.00"),
    ("1009", "Sleeping Bag -5C", "Camping", "199.00"),
    ("1010", "Inflatable Sleeping Pad", "Camping", "89.00"),
    ("1011", "Camp Stove", "Camping", "59.00"),
    ("1012", "Titanium Mug", "Camping", "29.00"),
    ("1013", "Daypack 22L", "Packs", "99.00"),
    ("1014", "Backpack 55L", "Packs", "249.00"),
    ("1015", "Hydration Bladder 2L", "Packs", "35.00"),
    ("1016", "Headlamp 400lm", "Accessories", "45.00"),
    ("1017", "Trekking Poles", "Accessories", "119.00"),
    ("1018", "Water Filter", "Accessories", "39.00"),
    ("1019", "Trail Mix Bars (12)", "Food", "18.00"),
    ("1020", "Freeze-Dried Meal", "Food", "12.00"),
]
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi", "Lena",
         "Mateo", "Nora", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Viktor", "Wen", "Yusuf", "Zoë"]
LAST = ["Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ito", "Jensen",
        "Kowalski", "López", "Müller", "Nowak", "Olsen", "Petrov", "Rossi", "Schmidt", "Tanaka", "Weber"]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "FR", "AU", "NL", "SE"]


def load_demo(customers: int = 500, seed: int = 7, now: datetime | None = None) -> dict[str, int]:
    rng = random.Random(seed)
    # Anchored to midnight so that runs on the same day produce exactly the same events.
    now = now or timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    store, _ = Store.objects.get_or_create(
        platform="shopify", domain=DEMO_DOMAIN,
        defaults={"name": "Demo Outdoor Co.", "url": "https://demo-outdoor.example", "currency": "USD",
                  "timezone": "America/New_York"},
    )
    upsert_products(store, [
        ProductRecord(external_id=pid, title=title, handle=title.lower().replace(" ", "-"),
                      url=f"{store.url}/products/{title.lower().replace(' ', '-')}",
                      image_url=f"https://images.example/{pid}.jpg", price=Decimal(price), inventory=50,
                      category=category, collections=[category])
        for pid, title, category, price in CATALOG
    ])
    events: list[CanonicalEvent] = []
    for index in range(customers):
        events.extend(_customer_story(rng, index, now))
    inserted = 0
    for start in range(0, len(events), 500):
        inserted += record_events(store, events[start : start + 500]).inserted
    return {"store": store.pk, "events": len(events), "inserted": inserted}


def _customer_story(rng: random.Random, index: int, now: datetime) -> list[CanonicalEvent]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{first}.{last}.{index}@example.com".lower().replace("é", "e").replace("ë", "e").replace("í", "i")
    signup = now - timedelta(days=rng.uniform(1, 200))
    device = rng.choice(["mobile", "mobile", "desktop", "desktop", "tablet"])
    visitor = f"demo-visitor-{index}"
    key = f"demo:{index}"
    out: list[CanonicalEvent] = []

    def add(kind: str, when: datetime, n: str, identified: bool = True, **extra) -> None:
        out.append(CanonicalEvent(
            type=kind, occurred_at=when, dedupe_key=f"{key}:{n}", source="demo",
            email=email if identified else None, visitor_id=visitor, device=device, **extra,
        ))

    # Anonymous browsing before signing up, later stitched onto the customer.
    for j in range(rng.randint(0, 3)):
        when = signup - timedelta(hours=rng.uniform(1, 72))
        pid, title, category, price = rng.choice(CATALOG)
        add("product.viewed", when, f"anon{j}", identified=False,
            properties={"product_id": pid, "title": title, "category": category, "price": price})
    add("customer.created", signup, "created", external_id=str(7_000_000_000 + index), profile={
        "first_name": first, "last_name": last, "country": rng.choice(COUNTRIES),
        "timezone": "America/New_York", "created_at": signup})
    consent = rng.choices(["subscribed", "not_subscribed", "unsubscribed"], [70, 20, 10])[0]
    add("consent.changed", signup, "consent", properties={"channel": "email", "state": consent, "source": "demo"})

    order_no = 0
    visits = rng.randint(1, 14)
    for visit in range(visits):
        when = signup + timedelta(days=rng.uniform(0, max(0.1, (now - signup).days)))
        if when >= now:
            continue
        add("page.viewed", when, f"v{visit}:page", properties={"url": "/", "title": "Home"})
        items = []
        for k in range(rng.randint(1, 4)):
            pid, title, category, price = rng.choice(CATALOG)
            t = when + timedelta(minutes=2 * k + 1)
            add("product.viewed", t, f"v{visit}:pv{k}",
                properties={"product_id": pid, "title": title, "category": category, "price": price})
            if rng.random() < 0.35:
                qty = rng.randint(1, 2)
                items.append({"product_id": pid, "title": title, "quantity": qty, "price": price,
                              "category": category})
                add("cart.updated", t + timedelta(seconds=30), f"v{visit}:cart{k}",
                    properties={"action": "added", "product_id": pid, "title": title, "quantity": qty,
                                "price": price, "cart_token": f"demo-cart-{index}-{visit}"})
        if not items or rng.random() < 0.3:
            continue
        total = sum(Decimal(i["price"]) * i["quantity"] for i in items)
        checkout_id = f"demo-checkout-{index}-{visit}"
        t = when + timedelta(minutes=12)
        add("checkout.started", t, f"v{visit}:checkout", properties={
            "checkout_id": checkout_id, "total": str(total), "currency": "USD", "line_items": items,
            "recovery_url": f"https://demo-outdoor.example/checkouts/{checkout_id}/recover"})
        if rng.random() < 0.45:
            continue  # abandoned
        order_no += 1
        order_id = f"{5_000_000_000 + index * 100 + order_no}"
        t += timedelta(minutes=rng.uniform(2, 20))
        add("order.placed", t, f"order{order_id}", order_ref=order_id, amount=total, properties={
            "order_id": order_id, "order_number": 1000 + index * 10 + order_no, "total": str(total),
            "currency": "USD", "line_items": items, "checkout_id": checkout_id})
        add("order.paid", t + timedelta(minutes=1), f"order{order_id}:paid", order_ref=order_id,
            properties={"order_id": order_id, "total": str(total)})
        roll = rng.random()
        if roll < 0.05:
            add("order.cancelled", t + timedelta(hours=3), f"order{order_id}:cancel", order_ref=order_id,
                properties={"order_id": order_id, "reason": "customer"})
        elif roll < 0.12:
            refund = (total / 2).quantize(Decimal("0.01"))
            add("order.refunded", t + timedelta(days=6), f"order{order_id}:refund", order_ref=order_id,
                amount=refund, properties={"order_id": order_id, "refund_id": f"r{order_id}", "amount": str(refund)})
        elif t + timedelta(days=2) < now:
            add("order.fulfilled", t + timedelta(days=2), f"order{order_id}:fulfilled", order_ref=order_id,
                properties={"order_id": order_id})

    if consent == "subscribed":
        week = signup + timedelta(days=7)
        n = 0
        while week < now:
            n += 1
            message = f"demo-msg-{index}-{n}"
            add("email.sent", week, f"mail{n}:sent", properties={"message_id": message, "subject": "This week"})
            if rng.random() < 0.35:
                add("email.opened", week + timedelta(hours=rng.uniform(0.2, 30)), f"mail{n}:open",
                    properties={"message_id": message})
                if rng.random() < 0.2:
                    add("email.clicked", week + timedelta(hours=31), f"mail{n}:click",
                        properties={"message_id": message, "url": "https://demo-outdoor.example/collections/new"})
            week += timedelta(days=7)
    return out
