"""A hand-built store where each built-in template has known, described members."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer
from shopconnect.timeline.record import record_events

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
D, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
NAMES = [
    "alice",
    "bob",
    "carol",
    "dan",
    "erin",
    "frank",
    "gina",
    "hank",
    "ivy",
    "jack",
    "kate",
    "leo",
    "mia",
    "ned",
]
_keys = itertools.count()


def ev(name, type_, ago, **kw) -> CanonicalEvent:
    return CanonicalEvent(
        type=type_,
        occurred_at=NOW - ago,
        dedupe_key=f"fx{next(_keys)}",
        source="api",
        email=f"{name}@example.com",
        **kw,
    )


def order(name, ago, total) -> CanonicalEvent:
    ref = f"o{next(_keys)}"
    return ev(
        name,
        "order.placed",
        ago,
        order_ref=ref,
        amount=Decimal(total),
        properties={"order_id": ref, "total": str(total)},
    )


def cart_add(name, ago, product, category="boots") -> CanonicalEvent:
    return ev(
        name, "cart.updated", ago, properties={"action": "added", "product_id": product, "category": category}
    )


def build(store, one_by_one: bool = False) -> dict[str, int]:
    events = [ev(n, "customer.created", (5 * D) if n == "mia" else 400 * D) for n in NAMES]
    events += [
        order("alice", 10 * D, 500),
        order("alice", 40 * D, 300),
        order("alice", 100 * D, 200),
        order("bob", 100 * D, 50),
        order("carol", 200 * D, 20),
        ev("dan", "checkout.started", 5 * H, properties={"checkout_id": "c1", "total": "250.00"}),
        ev("dan", "checkout.updated", 5 * H - M, properties={"checkout_id": "c1", "step": "shipping"}),
        ev("erin", "checkout.started", 2 * D, properties={"checkout_id": "c2", "total": "30"}),
        order("erin", 1 * D, 30),
        ev("erin", "checkout.started", 30 * M, properties={"checkout_id": "c3", "total": "30"}),
        *[
            ev("frank", "product.viewed", (k + 1) * D, properties={"product_id": "p1", "category": "boots"})
            for k in range(3)
        ],
        ev("gina", "product.viewed", 2 * D, properties={"product_id": "p1", "category": "boots"}),
        cart_add("gina", 1 * D, "p1"),
        cart_add("gina", 1 * D - M, "p2"),
        cart_add("gina", 1 * D - 2 * M, "p3"),
        cart_add("hank", 3 * D, "p1"),
        ev("hank", "page.viewed", 3 * D - H, properties={"url": "/"}),
        ev("hank", "checkout.updated", 3 * D - 2 * H, properties={"step": "shipping"}),
        ev("hank", "checkout.updated", 3 * D - 3 * H, properties={"step": "payment"}),
        ev("ivy", "email.sent", 12 * D),
        *[ev("ivy", "email.opened", (k + 2) * D) for k in range(3)],
        ev("jack", "email.sent", 12 * D),
        ev("jack", "email.opened", 5 * D),
        ev("kate", "email.sent", 70 * D),
        ev("kate", "email.opened", 60 * D),
        ev("leo", "email.sent", 20 * D),
        ev(
            "mia",
            "consent.changed",
            5 * D,
            properties={"channel": "email", "state": "subscribed"},
            device="mobile",
        ),
        order("ned", NOW - datetime(2025, 3, 5, 12, tzinfo=UTC), 40),
    ]
    if one_by_one:  # the real-time path, one customer at a time
        for event in events:
            record_events(store, [event])
    else:
        record_events(store, events)
    return dict(Customer.objects.filter(store=store).values_list("email", "id"))


EXPECTED = {
    "recent_purchasers": {"alice", "erin"},
    "cart_abandoners": {"dan"},
    "browse_abandoners": {"frank"},
    "vip": {"alice", "bob", "ned"},
    "win_back": {"bob", "carol", "ned"},
    "first_time_buyers": {"bob", "carol", "erin", "ned"},
    "repeat_customers": {"alice"},
    "loyal": {"alice"},
    "highly_engaged": {"ivy"},
    "moderately_engaged": {"jack"},
    "low_engaged": {"kate"},
    "re_engagement": {"kate", "leo"},
    "new_subscribers": {"mia"},
    "active_customers": {"alice", "erin"},
    "at_risk": {"bob"},
    "lapsed": {"carol", "ned"},
    "price_sensitive_abandoners": {"dan"},
    "shipping_abandoners": {"dan"},
    "comparison_shoppers": {"gina"},
    "impulse_abandoners": {"gina"},
    "repeated_product_viewers": {"frank"},
    "seasonal_buyers": {"ned"},
    "mobile_first": {"mia"},
}
