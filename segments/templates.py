"""Built-in segment templates: one click in the admin (or ``create_from_template``) makes a segment.

Each is a plain rule tree using only the core language, with a description saying exactly what it
selects; ``tests/segments/test_templates.py`` holds each to its description on a hand-built fixture.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopconnect.timeline import vocabulary as v

from .models import Segment

#: what counts as "did something on the store": the canonical shopping activity (not email, not custom)
ACTIVITY = [
    e.name
    for e in v.EVENTS
    if e.activity and e.group in (v.BROWSING, v.CART, v.ORDERS) and not e.name.startswith("custom.")
]


def _p(event, **kw) -> dict:
    return {"type": "performed", "event": event, **kw}


def _a(field, op, value=None) -> dict:
    node = {"type": "attribute", "field": field, "op": op}
    if value is not None:
        node["value"] = value
    return node


def _all(*rules) -> dict:
    return {"version": 1, "type": "and", "rules": list(rules)}


def _days(n):
    return {"days": n}


NO_ORDER_SINCE = {"event": "order.placed"}
OPENED_30 = _p("email.opened", window={"last": _days(30)})
CLICKED_30 = _p("email.clicked", window={"last": _days(30)})


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    description: str
    definition: dict


TEMPLATES: list[Template] = [
    Template(
        "recent_purchasers",
        "Recent purchasers",
        "Placed an order in the last 30 days.",
        _all(_p("order.placed", window={"last": _days(30)})),
    ),
    Template(
        "cart_abandoners",
        "Cart abandoners",
        "Started a checkout between 1 and 72 hours ago and placed no order since.",
        _all(
            _p(
                "checkout.started",
                window={"last": {"hours": 72}, "until": {"hours": 1}},
                not_followed_by=[NO_ORDER_SINCE],
            )
        ),
    ),
    Template(
        "browse_abandoners",
        "Browse abandoners",
        "Viewed a product in the last 7 days and did not add to cart, start a checkout or order since.",
        _all(
            _p(
                "product.viewed",
                window={"last": _days(7)},
                not_followed_by=[{"event": ["cart.updated", "checkout.started", "order.placed"]}],
            )
        ),
    ),
    Template(
        "vip",
        "VIP customers",
        "Customers with orders in the top 20% of the store by total spent.",
        _all(
            _a("orders_count", "gte", 1),
            {"type": "percentile", "field": "total_spent", "direction": "top", "percent": 20},
        ),
    ),
    Template(
        "win_back",
        "Win-back",
        "Customers who have ordered, but not in the last 90 days.",
        _all(_a("orders_count", "gte", 1), _a("last_order_at", "more_than_ago", _days(90))),
    ),
    Template(
        "first_time_buyers",
        "First-time buyers",
        "Customers with exactly one order.",
        _all(_a("orders_count", "eq", 1)),
    ),
    Template(
        "repeat_customers",
        "Repeat customers",
        "Customers with two or more orders.",
        _all(_a("orders_count", "gte", 2)),
    ),
    Template(
        "loyal",
        "Loyal customers",
        "More than two orders (3+) in the last 6 months (180 days).",
        _all(_p("order.placed", count={"op": "gt", "value": 2}, window={"last": _days(180)})),
    ),
    Template(
        "highly_engaged",
        "Highly engaged",
        "Clicked an email, or opened 3 or more, in the last 30 days.",
        _all({"type": "or", "rules": [CLICKED_30, {**OPENED_30, "count": {"op": "gte", "value": 3}}]}),
    ),
    Template(
        "moderately_engaged",
        "Moderately engaged",
        "Opened one or two emails in the last 30 days and clicked none.",
        _all(
            {**OPENED_30, "count": {"op": "between", "value": [1, 2]}},
            {**CLICKED_30, "type": "not_performed"},
        ),
    ),
    Template(
        "low_engaged",
        "Low engagement",
        "Opened an email in the last 90 days but none in the last 30.",
        _all(_p("email.opened", window={"last": _days(90)}), {**OPENED_30, "type": "not_performed"}),
    ),
    Template(
        "re_engagement",
        "Re-engagement needed",
        "Received at least one email and opened none in the last 30 days (or never).",
        _all(
            _a("emails_received", "gte", 1),
            {"type": "not", "rule": _a("last_opened_at", "within_last", _days(30))},
        ),
    ),
    Template(
        "new_subscribers",
        "New subscribers",
        "Subscribed to email, appeared in the last 30 days, and have not ordered yet.",
        _all(
            _a("consent", "eq", "subscribed"),
            _a("created_at", "within_last", _days(30)),
            _a("orders_count", "eq", 0),
        ),
    ),
    Template(
        "active_customers",
        "Active customers",
        "Ordered in the last 60 days.",
        _all(_a("last_order_at", "within_last", _days(60))),
    ),
    Template(
        "at_risk",
        "At risk",
        "Last order between 60 and 180 days ago.",
        _all(_a("last_order_at", "more_than_ago", _days(60)), _a("last_order_at", "within_last", _days(180))),
    ),
    Template(
        "lapsed",
        "Lapsed",
        "Last order more than 180 days ago.",
        _all(_a("last_order_at", "more_than_ago", _days(180))),
    ),
    Template(
        "price_sensitive_abandoners",
        "Price-sensitive abandoners",
        "Started a checkout of 200 or more in the last 7 days and placed no order since.",
        _all(
            _p(
                "checkout.started",
                window={"last": _days(7)},
                where=[{"property": "total", "op": "gte", "value": 200}],
                not_followed_by=[NO_ORDER_SINCE],
            )
        ),
    ),
    Template(
        "shipping_abandoners",
        "Shipping-concerned abandoners",
        "Reached the shipping step of a checkout in the last 7 days, then neither reached payment "
        "nor ordered.",
        _all(
            _p(
                "checkout.updated",
                window={"last": _days(7)},
                where=[{"property": "step", "op": "eq", "value": "shipping"}],
                not_followed_by=[
                    NO_ORDER_SINCE,
                    {
                        "event": "checkout.updated",
                        "where": [{"property": "step", "op": "eq", "value": "payment"}],
                    },
                ],
            )
        ),
    ),
    Template(
        "comparison_shoppers",
        "Comparison shoppers",
        "Added 3 or more different products of the same category to the cart in the last 14 days, "
        "with no order since.",
        _all(
            _p(
                "cart.updated",
                window={"last": _days(14)},
                count={"op": "gte", "value": 3},
                where=[{"property": "action", "op": "eq", "value": "added"}],
                same="category",
                distinct="product_id",
                not_followed_by=[NO_ORDER_SINCE],
            )
        ),
    ),
    Template(
        "impulse_abandoners",
        "Impulse abandoners",
        "Added to cart in the last 7 days, did nothing on the store more than 10 minutes after, "
        "and placed no order.",
        _all(
            _p(
                "cart.updated",
                window={"last": _days(7), "until": {"minutes": 10}},
                where=[{"property": "action", "op": "eq", "value": "added"}],
                not_followed_by=[NO_ORDER_SINCE, {"event": ACTIVITY, "after": {"minutes": 10}}],
            )
        ),
    ),
    Template(
        "repeated_product_viewers",
        "Repeated product viewers",
        "Viewed the same product 3 or more times in the last 30 days.",
        _all(
            _p(
                "product.viewed",
                window={"last": _days(30)},
                count={"op": "gte", "value": 3},
                same="product_id",
            )
        ),
    ),
    Template(
        "seasonal_buyers",
        "Seasonal buyers",
        "Ordered during this calendar month last year (UTC).",
        _all(_p("order.placed", window={"same_month_last_year": True})),
    ),
    Template(
        "mobile_first",
        "Mobile-first browsers",
        "Customers whose device is mobile.",
        _all(_a("device", "eq", "mobile")),
    ),
]
BY_KEY = {t.key: t for t in TEMPLATES}


def create_from_template(store, key: str, user=None) -> Segment:
    """Create (or return the existing) segment of a template in a store."""
    t = BY_KEY[key]
    segment, _ = Segment.objects.get_or_create(
        store=store,
        template=key,
        defaults={
            "name": t.name,
            "description": t.description,
            "definition": t.definition,
            "created_by": user,
            "updated_by": user,
        },
    )
    return segment
