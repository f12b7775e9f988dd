"""Property test: for random rule trees over random timelines, the batch query, the single-customer
query and the plain-Python reference agree exactly."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.evaluate import customer_matches, matching_customers
from segments.predictions.models import CustomerPrediction
from segments.rules import parse
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer, Store
from shopconnect.timeline.record import record_events

from .reference import Reference

NOW = datetime(2026, 3, 14, 15, 30, tzinfo=UTC)
_n = itertools.count()

TYPES = [
    "product.viewed",
    "cart.updated",
    "checkout.started",
    "checkout.updated",
    "order.placed",
    "email.opened",
]
PROPS = {
    "product_id": ["p1", "p2", "p3"],
    "category": ["boots", "tents"],
    "price": [5, 50, 250],
    "step": ["shipping", "payment"],
    "action": ["added", "removed"],
    "total": [20, 300],
}
FILTERS = {
    "product.viewed": [
        ("product_id", "eq", "p1"),
        ("category", "in", ["boots"]),
        ("price", "gte", 50),
        ("category", "contains", "BOO"),
        ("product_id", "neq", "p2"),
    ],
    "cart.updated": [("action", "eq", "added"), ("price", "lt", 100)],
    "checkout.started": [("total", "gte", 200)],
    "checkout.updated": [("step", "eq", "shipping"), ("step", "not_in", ["payment"])],
    "order.placed": [("total", "gt", 100)],
    "email.opened": [],
}

customer_st = st.fixed_dictionaries(
    {
        "timezone": st.sampled_from(["", "Europe/Paris", "America/New_York", "Not/AZone"]),
        "country": st.sampled_from(["US", "FR", ""]),
        "tags": st.lists(st.sampled_from(["vip", "wholesale"]), max_size=2),
        "prediction": st.one_of(st.none(), st.sampled_from(["low", "high"])),
        "consent": st.sampled_from(["subscribed", "unsubscribed"]),
    }
)
event_st = st.tuples(
    st.integers(0, 3),
    st.sampled_from(TYPES),
    st.integers(0, 60 * 24 * 40),
    st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in PROPS.items()}),
)
duration_st = st.sampled_from([{"hours": 2}, {"days": 1}, {"days": 7}, {"days": 30}])


@st.composite
def performed_st(draw):
    event = draw(st.sampled_from(TYPES))
    node = {"type": draw(st.sampled_from(["performed", "performed", "not_performed"])), "event": event}
    if draw(st.booleans()):
        node["count"] = {
            "op": draw(st.sampled_from(["gte", "gt", "eq", "lte", "lt"])),
            "value": draw(st.integers(1, 3)),
        }
    if draw(st.booleans()):
        window = {"last": draw(duration_st)}
        if draw(st.booleans()):
            window["until"] = {"minutes": 30}
        node["window"] = window
    if FILTERS[event] and draw(st.booleans()):
        prop, op, value = draw(st.sampled_from(FILTERS[event]))
        node["where"] = [{"property": prop, "op": op, "value": value}]
    if event in ("product.viewed", "cart.updated"):
        if draw(st.integers(0, 3)) == 0:
            node["same"] = "product_id"
        elif draw(st.integers(0, 3)) == 0:
            node["distinct"] = "product_id"
    if draw(st.integers(0, 3)) == 0:
        node["hour_of_day"] = {"from": draw(st.integers(0, 23)), "to": draw(st.integers(1, 24))}
        if node["hour_of_day"]["from"] == node["hour_of_day"]["to"]:
            node.pop("hour_of_day")
    if draw(st.integers(0, 3)) == 0:
        node["day_of_week"] = draw(st.lists(st.integers(1, 7), min_size=1, max_size=3))
    if draw(st.integers(0, 2)) == 0:
        follow = {"event": draw(st.sampled_from(TYPES))}
        if draw(st.booleans()):
            follow["after"] = {"minutes": 10}
        node["not_followed_by"] = [follow]
    return node


leaf_st = st.one_of(
    performed_st(),
    st.sampled_from(
        [
            {"type": "attribute", "field": "orders_count", "op": "gte", "value": 1},
            {"type": "attribute", "field": "orders_count", "op": "eq", "value": 2},
            {"type": "attribute", "field": "total_spent", "op": "gt", "value": 60},
            {"type": "attribute", "field": "last_order_at", "op": "within_last", "value": {"days": 10}},
            {"type": "attribute", "field": "last_order_at", "op": "more_than_ago", "value": {"days": 10}},
            {"type": "attribute", "field": "last_opened_at", "op": "not_set"},
            {"type": "attribute", "field": "country", "op": "eq", "value": "US"},
            {"type": "attribute", "field": "country", "op": "neq", "value": "US"},
            {"type": "attribute", "field": "country", "op": "is_set"},
            {"type": "attribute", "field": "consent", "op": "eq", "value": "subscribed"},
            {"type": "attribute", "field": "tags", "op": "has", "value": "vip"},
            {"type": "attribute", "field": "tags", "op": "has_not", "value": "wholesale"},
            {"type": "percentile", "field": "total_spent", "direction": "top", "percent": 25},
            {"type": "percentile", "field": "orders_count", "direction": "bottom", "percent": 50},
            {"type": "prediction", "field": "churn_band", "op": "eq", "value": "high"},
            {"type": "prediction", "field": "churn_risk", "op": "gte", "value": 0.5},
        ]
    ),
)
tree_st = st.recursive(
    leaf_st,
    lambda children: st.one_of(
        st.builds(
            lambda t, rs: {"type": t, "rules": rs},
            st.sampled_from(["and", "or"]),
            st.lists(children, min_size=1, max_size=3),
        ),
        st.builds(lambda r: {"type": "not", "rule": r}, children),
    ),
    max_leaves=4,
)


def build_timeline(customers, events) -> Store:
    n = next(_n)
    store = Store.objects.create(platform="shopify", domain=f"prop{n}.myshopify.com", timezone="Asia/Tokyo")
    batch = []
    for i, c in enumerate(customers):
        batch.append(
            CanonicalEvent(
                type="customer.created",
                occurred_at=NOW - timedelta(days=90),
                dedupe_key=f"c{i}",
                source="api",
                email=f"c{i}@example.com",
                profile={"timezone": c["timezone"], "country": c["country"], "tags": c["tags"]},
            )
        )
        batch.append(
            CanonicalEvent(
                type="consent.changed",
                occurred_at=NOW - timedelta(days=90),
                dedupe_key=f"consent{i}",
                source="api",
                email=f"c{i}@example.com",
                properties={"channel": "email", "state": c["consent"]},
            )
        )
    for j, (who, type_, minutes, props) in enumerate(events):
        fields = {}
        if type_ == "order.placed":
            total = props.get("total", 20)
            fields = {"order_ref": f"o{j}", "amount": Decimal(total)}
            props = {**props, "order_id": f"o{j}", "total": str(total)}
        batch.append(
            CanonicalEvent(
                type=type_,
                occurred_at=NOW - timedelta(minutes=minutes),
                dedupe_key=f"e{j}",
                source="api",
                email=f"c{who}@example.com",
                properties=props,
                **fields,
            )
        )
    record_events(store, batch)
    for i, c in enumerate(customers):
        if c["prediction"]:
            CustomerPrediction.objects.create(
                customer=Customer.objects.get(store=store, email=f"c{i}@example.com"),
                store=store,
                churn_band=c["prediction"],
                churn_risk=0.8 if c["prediction"] == "high" else 0.1,
                computed_at=NOW,
            )
    return store


@pytest.mark.django_db
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    customers=st.lists(customer_st, min_size=4, max_size=4),
    events=st.lists(event_st, max_size=25),
    tree=tree_st,
)
def test_batch_single_and_reference_agree(customers, events, tree):
    store = build_timeline(customers, events)
    definition = {"version": 1, **tree}
    node = parse(definition, store)
    batch = set(matching_customers(store, definition, now=NOW).values_list("id", flat=True))
    ids = Customer.objects.filter(store=store).values_list("id", flat=True)
    single = {cid for cid in ids if customer_matches(store, definition, cid, now=NOW)}
    expected = Reference(store, NOW).members(node)
    assert batch == expected, definition
    assert single == expected, definition
