"""``normalize`` from payload files alone: which events each WooCommerce state implies, and their keys."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from integrations.woocommerce.topics import normalize

from .helpers import payload


def by_type(normalized):
    return {e.type: e for e in normalized.events}


def test_paid_order_is_placed_and_paid_on_the_registered_customer():
    events = by_type(normalize("order.created", payload("order_paid")))
    assert set(events) == {"order.placed", "order.paid"}
    placed = events["order.placed"]
    assert placed.external_id == "26" and placed.email == "ann.lee@example.com"
    assert placed.occurred_at == datetime(2026, 2, 1, 10, 0, tzinfo=UTC)  # *_gmt is naive UTC
    assert placed.amount == Decimal("79.80") and placed.order_ref == "727"
    assert placed.dedupe_key == "woocommerce:order:727:placed"
    assert placed.properties["discount_codes"] == ["welcome5"]
    assert [i["product_id"] for i in placed.properties["line_items"]] == ["93", "22"]
    assert events["order.paid"].dedupe_key == "woocommerce:order:727:paid"
    assert events["order.paid"].occurred_at == datetime(2026, 2, 1, 10, 5, tzinfo=UTC)


def test_the_same_state_under_another_topic_gives_the_same_keys():
    created = normalize("order.created", payload("order_paid"))
    updated = normalize("order.updated", payload("order_paid"))
    assert [e.dedupe_key for e in created.events] == [e.dedupe_key for e in updated.events]


def test_each_refund_is_one_event_with_a_positive_amount():
    events = normalize("order.updated", payload("order_refunded_second")).events
    refunds = sorted((e for e in events if e.type == "order.refunded"), key=lambda e: e.dedupe_key)
    assert [(e.dedupe_key, e.amount) for e in refunds] == [
        ("woocommerce:refund:801", Decimal("20.00")),  # the one refund key of every platform
        ("woocommerce:refund:802", Decimal("9.80")),
    ]
    assert refunds[0].properties["reason"] == "damaged tote"


def test_completed_order_is_fulfilled_at_its_completion_date():
    fulfilled = by_type(normalize("order.updated", payload("order_completed")))["order.fulfilled"]
    assert fulfilled.occurred_at == datetime(2026, 2, 3, 8, 0, tzinfo=UTC)
    assert fulfilled.dedupe_key == "woocommerce:order:727:fulfilled"


def test_cancelled_order():
    events = by_type(normalize("order.updated", payload("order_cancelled")))
    assert events["order.cancelled"].dedupe_key == "woocommerce:order:730:cancelled"
    assert events["order.cancelled"].properties["reason"] == "cancelled"


def test_guest_order_is_identified_by_billing_email_with_its_billing_name():
    events = by_type(normalize("order.created", payload("order_guest")))
    assert set(events) == {"order.placed"}  # on-hold (bank transfer): placed, not paid yet
    placed = events["order.placed"]
    assert placed.external_id is None and placed.email == "gus@example.net"
    assert placed.profile == {"first_name": "Gus", "last_name": "Guest", "country": "DE"}


def test_checkout_draft_is_a_started_checkout_not_an_order():
    events = normalize("order.created", payload("order_checkout_draft")).events
    assert [e.type for e in events] == ["checkout.started"]
    assert events[0].email == "dora@example.org"
    assert events[0].properties["checkout_id"] == "740"
    assert len(events[0].properties["line_items"]) == 2


def test_draft_without_email_yields_nothing():
    draft = payload("order_checkout_draft")
    draft["billing"]["email"] = ""
    assert normalize("order.created", draft).events == []


def test_deleted_bodies_become_actions():
    assert normalize("order.deleted", payload("order_deleted")).actions == [("order_deleted", {"order_id": "727"})]
    assert normalize("customer.deleted", payload("customer_deleted")).actions == [
        ("customer_deleted", {"customer_id": "26"})
    ]


def test_customer_created_and_updated():
    created = normalize("customer.created", payload("customer_created")).events
    assert [e.type for e in created] == ["customer.created"]
    assert created[0].profile["first_name"] == "Ann" and created[0].external_id == "26"
    updated = normalize("customer.updated", payload("customer_updated")).events
    assert [e.type for e in updated] == ["customer.created", "customer.updated"]
    assert updated[1].profile["last_name"] == "Lee-Martin"
    assert updated[1].dedupe_key == "woocommerce:customer:26:updated:2026-02-10T09:00:00+00:00"


def test_product_becomes_a_catalog_entry():
    (product,) = normalize("product.updated", payload("product_updated")).products
    assert (product.external_id, product.title, product.price, product.compare_at_price) == (
        "93",
        "Linen Shirt",
        Decimal("27.40"),
        Decimal("29.90"),
    )
    assert product.collections == ["Shirts", "Summer"] and product.inventory == 12
    assert product.url == "https://shop.example/product/linen-shirt/"


def test_unknown_topics_and_shapes_are_ignored():
    assert normalize("coupon.created", {"id": 1}) is None
    assert normalize("order.updated", ["not", "an", "order"]) is None


def test_fully_refunded_unpaid_order_is_still_an_order_that_nets_to_zero():
    order = payload("order_guest")  # on-hold bank transfer, never marked paid
    order.update(status="refunded", refunds=[{"id": 900, "reason": "", "total": "-24.90"}])
    events = by_type(normalize("order.updated", order))
    assert set(events) == {"order.placed", "order.refunded"}
    assert events["order.placed"].amount == events["order.refunded"].amount == Decimal("24.90")


def test_a_customer_field_the_payload_leaves_out_is_unknown_not_emptied():
    full = payload("customer_updated")
    (created, updated) = normalize("customer.updated", full).events
    assert updated.profile["first_name"] == full["first_name"] and "phone" in updated.profile
    partial = {k: v for k, v in full.items() if k not in ("first_name", "last_name", "billing", "role")}
    (_, updated) = normalize("customer.updated", partial).events
    assert not {"first_name", "last_name", "phone", "country"} & set(updated.profile)
