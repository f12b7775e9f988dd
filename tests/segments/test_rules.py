"""The rule language: invalid trees are rejected saying where and why; whitelists hold; time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from segments.describe import describe
from segments.evaluate import customer_matches, matching_customers
from segments.models import Segment
from segments.rules import RuleError, parse, validate
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.record import record_events

P = {"type": "performed", "event": "product.viewed"}


@pytest.mark.parametrize(
    ("tree", "where", "why"),
    [
        ([], "$", "JSON object"),
        ({"version": 2, **P}, "$.version", "unsupported version"),
        ({"type": "and", "rules": []}, "$.rules", "non-empty list"),
        ({"type": "or", "rules": [P, {"type": "maybe"}]}, "$.rules[1].type", "unknown rule type"),
        ({**P, "event": "product.liked"}, "$.event", "unknown event type"),
        ({**P, "count": {"op": "gte", "value": -1}}, "$.count.value", "whole number"),
        ({**P, "count": {"op": "lt", "value": 0}}, "$.count.value", "no count can satisfy"),
        ({**P, "window": {"last": {"days": 7}, "until": {"days": 8}}}, "$.window.until", "shorter"),
        ({**P, "window": {"start": "2026-02-01", "end": "2026-01-01"}}, "$.window.end", "after the start"),
        ({**P, "window": {"since": "yesterday"}}, "$.window.start", "ISO 8601"),
        (
            {**P, "where": [{"property": "price", "op": "contains", "value": "1"}]},
            "$.where[0].op",
            "operator",
        ),
        (
            {**P, "where": [{"property": "price__gt", "op": "eq", "value": 1}]},
            "$.where[0].property",
            "not a property",
        ),
        ({**P, "hour_of_day": {"from": 25, "to": 3}}, "$.hour_of_day.from", "0 to 23"),
        ({**P, "day_of_week": [0]}, "$.day_of_week[0]", "1 to 7"),
        (
            {**P, "not_followed_by": [{"event": "order.placed", "after": {"weeks": 1}}]},
            "$.not_followed_by[0].after",
            "unknown unit",
        ),
        (
            {"type": "attribute", "field": "password", "op": "eq", "value": "x"},
            "$.field",
            "unknown customer field",
        ),
        (
            {"type": "attribute", "field": "consent", "op": "eq", "value": "maybe"},
            "$.value",
            "expected one of",
        ),
        ({"type": "attribute", "field": "last_order_at", "op": "gte", "value": 3}, "$.op", "does not apply"),
        (
            {"type": "prediction", "field": "churn_band", "op": "eq", "value": "extreme"},
            "$.value",
            "expected one of",
        ),
        ({"type": "percentile", "field": "email", "percent": 10}, "$.field", "percentiles rank by"),
        ({"type": "not", "rule": {"type": "in_segment", "segment": "vip"}}, "$.rule.segment", "segment id"),
        # unknown keys are errors at every level, naming what is allowed (never silently ignored)
        ({**P, "time_of_day": {"from": 9}}, "$.time_of_day", "unknown key 'time_of_day' in a 'performed' rule; "
         "allowed: type, event, count, window, where, same, distinct, hour_of_day, day_of_week, not_followed_by"),
        ({"type": "and", "rules": [P], "rule": P}, "$.rule", "allowed: type, rules, version"),
        ({"type": "or", "rules": [P, {**P, "version": 1}]}, "$.rules[1].version", "unknown key 'version'"),
        ({**P, "count": {"op": "gte", "value": 3, "per": "day"}}, "$.count.per", "allowed: op, value"),
        ({**P, "window": {"last": {"days": 7}, "from": "2026-01-01"}}, "$.window.from", "in a time frame"),
        ({**P, "window": {"last": {"days": 7}, "start": "2026-01-01"}}, "$.window.start", "not both"),
        ({**P, "window": {"same_month_last_year": False}}, "$.window.same_month_last_year", "true"),
        ({**P, "where": [{"property": "category", "op": "eq", "value": "x", "case": "i"}]}, "$.where[0].case",
         "allowed: property, op, value"),
        ({**P, "hour_of_day": {"from": 9, "to": 11, "tz": "UTC"}}, "$.hour_of_day.tz", "allowed: from, to"),
        ({**P, "not_followed_by": [{"event": "order.placed", "within": {"days": 1}}]},
         "$.not_followed_by[0].within", "allowed: event, where, after"),
        ({"type": "attribute", "field": "country", "op": "in", "values": ["FR"]}, "$.values", "allowed: type, field"),
        ({"type": "percentile", "field": "total_spent", "percent": 10, "top": True}, "$.top", "direction"),
        ({"type": "not_performed"}, "$.event", "which event"),
        (
            {**P, "where": [{"property": "colour", "op": "eq", "value": "red"}]},
            "$.where[0].property",
            "its properties are: category, currency, image_url, price, product_id, title, url, variant_id",
        ),
        (
            {"type": "performed", "event": "order.placed", "where": [{"property": "line_items", "op": "eq",
                                                                      "value": "x"}]},
            "$.where[0].property",
            "its properties are: cart_token, checkout_id",
        ),
    ],
)
def test_invalid_trees_say_where_and_why(tree, where, why):
    with pytest.raises(RuleError) as caught:
        parse(tree)
    assert caught.value.path == where and why in caught.value.why
    with pytest.raises(ValidationError) as django_error:
        validate(tree)
    assert str(caught.value) in django_error.value.messages[0]


def test_in_segment_uses_the_referenced_rule_and_rejects_cycles(store):
    record_events(
        store,
        [
            CanonicalEvent(
                type="order.placed",
                occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                dedupe_key="o1",
                source="api",
                email="a@example.com",
                order_ref="o1",
                amount=10,
            )
        ],
    )
    buyers = Segment.objects.create(
        store=store,
        name="Buyers",
        definition={"type": "attribute", "field": "orders_count", "op": "gte", "value": 1},
    )
    fans = Segment.objects.create(
        store=store, name="Fans", definition={"type": "in_segment", "segment": buyers.pk}
    )
    assert describe(parse(fans.definition, store)) == "is in segment “Buyers”"
    assert matching_customers(store, fans.definition).count() == 1
    with pytest.raises(RuleError, match="cycle"):
        parse({"type": "in_segment", "segment": fans.pk}, store, segment_id=buyers.pk)
    with pytest.raises(RuleError, match="no segment"):
        parse({"type": "in_segment", "segment": 999999}, store)


def test_lunch_hour_uses_the_customers_time_zone(store):
    """12:30 UTC is 13:30 in Paris (lunch) and 07:30 in New York (not lunch)."""
    at = datetime(2026, 1, 14, 12, 30, tzinfo=UTC)  # a Wednesday
    events = []
    for email, tz in (
        ("paris@example.com", "Europe/Paris"),
        ("ny@example.com", "America/New_York"),
        ("nowhere@example.com", "Mars/Olympus"),
    ):
        events.append(
            CanonicalEvent(
                type="customer.created",
                occurred_at=at - timedelta(days=1),
                dedupe_key=email,
                source="api",
                email=email,
                profile={"timezone": tz},
            )
        )
        events.append(
            CanonicalEvent(
                type="product.viewed",
                occurred_at=at,
                dedupe_key=f"v{email}",
                source="api",
                email=email,
                properties={"product_id": "p1"},
            )
        )
    record_events(store, events)
    store.timezone = "Asia/Tokyo"  # the fallback for an invalid zone: 21:30 in Tokyo
    store.save()
    lunch = {"type": "performed", "event": "product.viewed", "hour_of_day": {"from": 12, "to": 14}}
    evening = {"type": "performed", "event": "product.viewed", "hour_of_day": {"from": 21, "to": 2}}
    wednesday = {"type": "performed", "event": "product.viewed", "day_of_week": [3]}
    emails = lambda d: set(matching_customers(store, d).values_list("email", flat=True))  # noqa: E731
    assert emails(lunch) == {"paris@example.com"}
    assert emails(evening) == {"nowhere@example.com"}
    assert emails(wednesday) == {"paris@example.com", "ny@example.com", "nowhere@example.com"}
    paris = matching_customers(store, lunch).get()
    assert customer_matches(store, lunch, paris.pk) and not customer_matches(store, evening, paris.pk)


def test_a_property_that_is_not_a_number_never_breaks_the_query(store):
    at = datetime(2026, 1, 14, tzinfo=UTC)
    record_events(
        store,
        [
            CanonicalEvent(
                type="product.viewed",
                occurred_at=at,
                dedupe_key=f"p{i}",
                source="api",
                email=f"{i}@example.com",
                properties={"price": price},
            )
            for i, price in enumerate(["abc", "12.50", 80, None])
        ],
    )
    pricey = {
        "type": "performed",
        "event": "product.viewed",
        "where": [{"property": "price", "op": "gte", "value": 50}],
    }
    assert set(matching_customers(store, pricey).values_list("email", flat=True)) == {"2@example.com"}
