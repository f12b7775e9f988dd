"""One vocabulary: the recorder, the rule language, the describers and the storefront mapping all read
``shopconnect.timeline.vocabulary``, so none of them can know an event or a property the others do not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.storefront.mapping import canonical_event
from segments.describe import describe
from segments.rules import RuleError, parse
from segments.rules import vocab as w
from shopconnect.timeline import vocabulary as v
from shopconnect.timeline.describe import describe_event
from shopconnect.timeline.models import Event

STOREFRONT_NAMES = [
    "page_viewed", "page_left", "product_viewed", "collection_viewed", "search_submitted",
    "product_added_to_cart", "product_removed_from_cart", "cart_viewed", "checkout_started",
    "checkout_contact_info_submitted", "checkout_address_info_submitted", "checkout_shipping_info_submitted",
    "payment_info_submitted", "checkout_completed",
]
EVERYTHING = {
    "product_id": "93", "variant_id": "7", "title": "Linen Shirt", "price": "27.40", "category": "Shirts",
    "url": "https://shop.example/p/93", "image_url": "https://shop.example/93.png", "currency": "EUR",
    "cart_token": "c1", "quantity": 2, "checkout_id": "k1", "total": "54.80", "collection_id": "9",
    "query": "linen", "duration_seconds": 40, "line_items": [{"product_id": "93"}],
}


@pytest.mark.parametrize("name", STOREFRONT_NAMES)
def test_the_storefront_mapping_records_only_declared_types_and_properties(name):
    event = {"id": "e1", "name": name, "timestamp": "2026-01-01T10:00:00Z", "client_id": "v1",
             "url": "https://shop.example/p/93", "data": EVERYTHING}
    mapped = canonical_event(event, received_at=datetime(2026, 1, 1, 10, tzinfo=UTC))
    declared = v.BY_NAME[mapped.type].properties
    assert set(mapped.properties) - {"event_id"} <= set(declared), mapped.type


def test_a_mapping_naming_an_undeclared_property_fails_at_once():
    with pytest.raises(KeyError, match="declares no colour"):
        v.declared("product.viewed", "title", "colour")


@pytest.mark.parametrize("event", v.EVENTS, ids=lambda e: e.name)
def test_rules_may_filter_on_exactly_the_declared_strings_and_numbers(event):
    for name, prop in event.properties.items():
        rule = {"type": "performed", "event": event.name,
                "where": [{"property": name, "op": "eq", "value": 1 if prop.type == v.NUMBER else "x"}]}
        if prop.filterable:
            node = parse(rule)
            assert node.filters[0].kind == prop.type
            assert f"“{event.label}”" in describe(node)  # the describer speaks the vocabulary's words
        else:
            with pytest.raises(RuleError, match="is not a property"):
                parse(rule)
    assert w.filterable_properties(event.name) == [n for n, p in event.properties.items() if p.filterable]


def test_every_type_is_recorded_and_described_in_words():
    for event in v.EVENTS:
        assert v.is_valid_type(event.name) and event.group in v.GROUPS and event.label
        text = describe_event(Event(type=event.name, properties={}, order_ref="1"))
        assert text and text != event.name, event.name
    assert describe_event(Event(type="custom.sms_reply", properties={})) == "custom: sms_reply"
    assert not v.is_valid_type("product.liked")


def test_activity_comes_from_the_vocabulary():
    assert v.is_activity("product.viewed") and v.is_activity("custom.sms_reply")
    assert not v.is_activity("email.sent") and not v.is_activity("order.refunded")
    assert v.ACTIVITY_TYPES == {e.name for e in v.EVENTS if e.activity}
