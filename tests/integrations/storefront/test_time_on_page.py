"""Time on page per product, from the collect endpoint to a rule: "more than 3 minutes on product pages in
the last 7 days" adds up ``custom.time_on_page`` events' ``duration_seconds`` (the rule language's ``sum``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from segments.describe import describe
from segments.evaluate import customer_matches, matching_customers
from segments.rules import RuleError, parse
from shopconnect.timeline.models import Event

from .conftest import ev

NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
THREE_MINUTES_ON_PRODUCTS = {
    "type": "performed", "event": "custom.time_on_page",
    "where": [{"property": "page_type", "op": "eq", "value": "product"}],
    "window": {"last": {"days": 7}},
    "sum": {"property": "duration_seconds", "op": "gt", "value": 180},
}


def left(client_id: str, email: str, seconds: int, day: int, product: str | None = "93"):
    data = {"duration_seconds": seconds, "page_type": "product" if product else "page"}
    if product:
        data |= {"product_id": product, "title": "Linen Shirt"}
    return ev("page_left", client_id=client_id, email=email, timestamp=f"2026-03-{day:02d}T10:00:00Z", data=data)


@time_machine.travel(NOW, tick=False)
def test_time_on_product_pages_adds_up_in_a_rule(db, store, post_batch):
    batch = [
        left("a", "ann@example.com", 100, 7), left("a", "ann@example.com", 100, 6, product="22"),  # 200 s
        left("b", "bob@example.com", 150, 7), left("b", "bob@example.com", 300, 7, product=None),  # 150 s
        left("c", "cy@example.com", 400, 1),  # 400 s, but 7 days ago is 2026-03-01 12:00: outside
    ]
    assert post_batch(store, batch).status_code == 202
    spent = Event.objects.get(type="custom.time_on_page", properties__product_id="22").properties
    assert (spent["duration_seconds"], spent["page_type"], spent["title"]) == (100, "product", "Linen Shirt")
    matched = set(matching_customers(store, THREE_MINUTES_ON_PRODUCTS, now=NOW).values_list("email", flat=True))
    assert matched == {"ann@example.com"}
    ann = Event.objects.filter(properties__product_id="22").get().customer
    assert customer_matches(store, THREE_MINUTES_ON_PRODUCTS, ann.pk, now=NOW)  # the real-time path agrees
    less = {**THREE_MINUTES_ON_PRODUCTS, "sum": {"property": "duration_seconds", "op": "lte", "value": 180}}
    assert set(matching_customers(store, less, now=NOW).values_list("email", flat=True)) == {"bob@example.com"}
    assert "adding up to more than 3 minutes (seconds on the page)" in describe(parse(THREE_MINUTES_ON_PRODUCTS))


def test_only_a_number_property_can_be_added_up():
    with pytest.raises(RuleError, match=r"\$\.sum\.property"):
        parse({**THREE_MINUTES_ON_PRODUCTS, "sum": {"property": "url", "op": "gt", "value": 1}})
    with pytest.raises(RuleError, match=r"\$\.sum\.op"):
        parse({**THREE_MINUTES_ON_PRODUCTS, "sum": {"property": "duration_seconds", "op": "between", "value": 1}})
