"""Expected canonical events for every Shopify topic, from payload files alone (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.shopify.topics import TOPICS, normalize

from .helpers import payload

ORDER = "5829470273759"
CUSTOMER = "7408451977439"


def run(topic: str, name: str):
    return normalize(topic, payload(name))


def keyed(result) -> dict:
    return {e.dedupe_key: e for e in result.events}


def test_orders_create_is_an_order_placed_with_line_items_and_tokens():
    (event,) = run("orders/create", "orders_create").events
    assert event.type == "order.placed"
    assert event.dedupe_key == f"shopify:order:{ORDER}:placed"
    assert event.occurred_at == datetime(2026, 2, 3, 13, 12, 9, tzinfo=UTC)
    assert (event.external_id, event.email) == (CUSTOMER, "zoe.angstrom@example.com")
    assert event.order_ref == ORDER and event.amount == Decimal("132.90")
    props = event.properties
    assert props["total"] == "132.90" and props["currency"] == "EUR" and props["order_number"] == "1042"
    assert props["line_items"][0] == {
        "product_id": "8123456789012",
        "variant_id": "45123456789012",
        "title": "Merino-Pullover „Fjäll“",
        "variant_title": "M",
        "vendor": "Nordlicht",
        "quantity": 1,
        "price": "89.00",
        "sku": "MP-FJ-M",
    }
    assert props["line_items"][1]["quantity"] == 2
    assert props["checkout_id"] == "36123456789012"
    assert props["checkout_token"] == "b1946ac92492d2347c6235b4d2611184"
    assert props["cart_token"] == "Z2NwLWV1cm9wZS13ZXN0NDowMUpH"
    assert props["discount_codes"] == ["WINTER10"]
    # what a marketer filters on, as Shopify sent it
    assert props["tags"] == ["Erstbestellung", "Geschenk"] and props["source_name"] == "web"
    assert props["landing_site"] == "/products/merino-pullover-fjall"
    assert props["referring_site"] == "https://www.google.com/" and props["customer_locale"] == "de"
    assert props["buyer_accepts_marketing"] is True and props["current_total"] == "132.90"
    assert props["total_discounts"] == "0.00" and props["attributes"] == {"gift_wrap": "yes"}
    assert props["discount_applications"][0]["code"] == "WINTER10"
    assert (props["city"], props["country"]) == ("Berlin", "DE")


def test_guest_order_is_identified_by_email_only():
    (event,) = run("orders/create", "orders_create_guest").events
    assert event.external_id is None and event.email == "Gast.Kunde@Example.DE"
    assert event.amount == Decimal("39.00")


def test_order_without_customer_or_email_has_no_identity():
    (event,) = run("orders/create", "orders_create_no_email").events
    assert event.email is None and event.external_id is None
    assert event.properties["checkout_id"] is None


def test_orders_paid_adds_the_paid_transition():
    events = keyed(run("orders/paid", "orders_paid"))
    assert set(events) == {f"shopify:order:{ORDER}:placed", f"shopify:order:{ORDER}:paid"}
    assert events[f"shopify:order:{ORDER}:paid"].type == "order.paid"
    assert events[f"shopify:order:{ORDER}:paid"].occurred_at == datetime(2026, 2, 3, 13, 12, 8, tzinfo=UTC)


def test_orders_fulfilled_adds_fulfilled_at_the_fulfillment_time():
    events = keyed(run("orders/fulfilled", "orders_fulfilled"))
    fulfilled = events[f"shopify:order:{ORDER}:fulfilled"]
    assert fulfilled.type == "order.fulfilled"
    assert fulfilled.occurred_at == datetime(2026, 2, 5, 8, 29, 58, tzinfo=UTC)
    assert fulfilled.properties["tracking_numbers"] == ["00340434161234567890"]
    assert fulfilled.properties["tracking_urls"][0].endswith("piececode=00340434161234567890")
    assert fulfilled.properties["tracking_company"] == "DHL"
    assert f"shopify:order:{ORDER}:paid" in events


def test_a_partial_fulfillment_is_not_yet_order_fulfilled():
    events = keyed(run("orders/partially_fulfilled", "orders_partially_fulfilled"))
    assert set(events) == {f"shopify:order:{ORDER}:placed", f"shopify:order:{ORDER}:paid"}


def test_orders_updated_with_a_refund_carries_the_refund_with_its_customer():
    events = keyed(run("orders/updated", "orders_updated"))
    refund = events["shopify:refund:9876543210987"]
    assert refund.type == "order.refunded" and refund.amount == Decimal("19.50")
    assert refund.external_id == CUSTOMER and refund.order_ref == ORDER
    assert set(events) == {f"shopify:order:{ORDER}:{s}" for s in ("placed", "paid", "fulfilled")} | {
        "shopify:refund:9876543210987"
    }


def test_orders_cancelled_adds_the_cancellation_with_reason():
    events = keyed(run("orders/cancelled", "orders_cancelled"))
    cancelled = events["shopify:order:5829470273760:cancelled"]
    assert cancelled.type == "order.cancelled" and cancelled.properties["reason"] == "customer"
    assert cancelled.occurred_at == datetime(2026, 2, 4, 8, 0, tzinfo=UTC)
    assert "shopify:order:5829470273760:paid" not in events  # voided, never paid


def test_refunds_create_is_an_order_refunded_without_identity():
    (event,) = run("refunds/create", "refunds_create").events
    assert event.type == "order.refunded" and event.dedupe_key == "shopify:refund:9876543210987"
    assert event.amount == Decimal("19.50") and event.properties["amount"] == "19.50"
    assert event.order_ref == ORDER and event.email is None and event.external_id is None
    assert event.properties["line_items"][0]["title"] == "Wollsocken (2er-Pack)"
    assert event.properties["line_items"][0]["quantity"] == 1


def test_checkouts_create_is_checkout_started_with_recovery_url():
    (event,) = run("checkouts/create", "checkouts_create").events
    assert event.type == "checkout.started"
    assert event.dedupe_key == "shopify:checkout:36123456789012:started"
    assert event.properties["recovery_url"].endswith("/recover?key=4f2a")
    assert event.properties["cart_token"] == "Z2NwLWV1cm9wZS13ZXN0NDowMUpH"
    assert event.properties["checkout_id"] == "36123456789012"
    assert event.properties["line_items"][0]["price"] == "89.00"
    assert event.external_id == CUSTOMER


def test_checkouts_update_is_checkout_updated_at_the_payment_step_plus_started():
    events = keyed(run("checkouts/update", "checkouts_update"))
    update = events["shopify:checkout:36123456789012:20260203T130500Z"]
    assert update.type == "checkout.updated" and update.properties["step"] == "payment"
    assert update.properties["total"] == "93.90"
    assert "shopify:checkout:36123456789012:started" in events


@pytest.mark.parametrize(
    ("topic", "name", "items", "total"),
    [("carts/create", "carts_create", 1, "89.00"), ("carts/update", "carts_update", 2, "128.00")],
)
def test_carts_are_cart_updated_keyed_by_version(topic, name, items, total):
    (event,) = run(topic, name).events
    assert event.type == "cart.updated" and event.properties["cart_token"] == "Z2NwLWV1cm9wZS13ZXN0NDowMUpH"
    assert len(event.properties["line_items"]) == items and event.properties["total"] == total
    assert event.dedupe_key.startswith("shopify:cart:Z2NwLWV1cm9wZS13ZXN0NDowMUpH:20260203T13")


def test_customers_create_has_the_profile_the_payload_carries():
    (created,) = run("customers/create", "customers_create").events  # 2025-10: no tags, no consent inside
    assert created.type == "customer.created" and created.dedupe_key == f"shopify:customer:{CUSTOMER}:created"
    assert created.profile["first_name"] == "Zoë" and created.profile["last_name"] == "Ångström"
    assert created.profile["country"] == "DE" and created.profile["properties"]["city"] == "Berlin"
    assert created.profile["created_at"] == datetime(2026, 1, 10, 14, 0, tzinfo=UTC)
    assert "tags" not in created.profile  # absent means unknown: stored tags are left alone


def test_customers_update_is_keyed_by_updated_at_and_never_empties_what_it_does_not_carry():
    (updated,) = run("customers/update", "customers_update").events
    assert updated.type == "customer.updated"
    assert updated.dedupe_key == f"shopify:customer:{CUSTOMER}:updated:20260212T130000Z"
    assert updated.profile["last_name"] == "Ångström-Berg"
    assert "tags" not in updated.profile
    partial = normalize("customers/update", {"id": 1, "updated_at": "2026-02-12T08:00:00-05:00", "email": "a@b.c"})
    assert partial.events[0].profile == {}  # a payload without names, phone or address changes none of them


def test_an_older_api_version_with_tags_and_consent_still_sets_them():
    old = {**payload("customers_update"), "tags": "VIP, Newsletter",
           "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                       "consent_updated_at": "2026-02-12T07:59:00-05:00"}}
    updated, consent = normalize("customers/update", old).events
    assert updated.profile["tags"] == ["VIP", "Newsletter"] and consent.properties["state"] == "subscribed"


@pytest.mark.parametrize(("topic", "name", "profile", "change"), [
    ("customer.tags_added", "customer.tags_added", {"add_tags": ["VIP", "Newsletter"]}, "tags_added"),
    ("customer.tags_removed", "customer.tags_removed", {"remove_tags": ["Newsletter"]}, "tags_removed"),
])
def test_tag_topics_are_tag_deltas_on_the_customer(topic, name, profile, change):
    (event,) = run(topic, name).events
    assert event.type == "customer.updated" and event.external_id == CUSTOMER and event.email is None
    assert event.profile == profile and event.properties["change"] == change
    assert event.dedupe_key.startswith(f"shopify:customer:{CUSTOMER}:{change}:")
    assert event.dedupe_key == run(topic, name).events[0].dedupe_key  # from the input alone


def test_purchasing_summary_keeps_shopifys_own_order_count_and_amount_spent():
    (event,) = run("customers/purchasing_summary", "customers_purchasing_summary").events
    assert event.type == "customer.updated" and event.external_id == CUSTOMER
    assert event.profile == {"properties": {"shopify_orders_count": 3, "shopify_amount_spent": "311.70",
                                            "shopify_amount_currency": "EUR",
                                            "shopify_last_order_id": ORDER}}
    assert event.occurred_at == datetime(2026, 2, 3, 13, 12, 10, tzinfo=UTC)


@pytest.mark.parametrize(("topic", "state"), [("customers/enable", "enabled"), ("customers/disable", "disabled")])
def test_account_enable_and_disable_are_customer_updates_with_the_state(topic, state):
    (event,) = run(topic, topic.replace("/", "_")).events
    assert event.type == "customer.updated" and event.properties["state"] == state


def test_customer_with_null_email_and_non_ascii_name():
    (created,) = run("customers/create", "customers_create_no_email").events  # no email consent
    assert created.type == "customer.created"
    assert created.email is None and created.external_id == "7408451977440"
    assert created.profile["first_name"] == "美咲" and created.profile["country"] == "JP"


def test_customers_delete_is_dated_by_its_delivery():
    (event,) = run("customers/delete", "customers_delete").events
    assert event.type == "customer.deleted" and event.external_id == CUSTOMER
    assert event.occurred_at is None  # no time in the payload: the delivery's time is used, not the clock


def test_email_consent_topic_matches_the_key_of_the_same_change_seen_through_customers_update():
    (event,) = run("customers_email_marketing_consent/update", "customers_email_marketing_consent_update").events
    assert event.type == "consent.changed" and event.properties["state"] == "unsubscribed"
    assert event.external_id == CUSTOMER and event.email == "zoe.angstrom@example.com"
    assert event.dedupe_key == f"shopify:customer:{CUSTOMER}:email-consent:unsubscribed:20260215T100000Z"


def test_sms_consent_topic_is_consent_on_the_sms_channel():
    (event,) = run("customers_marketing_consent/update", "customers_marketing_consent_update").events
    assert event.properties["channel"] == "sms" and event.properties["state"] == "subscribed"
    assert event.properties["phone"] == "+4915112345678"


@pytest.mark.parametrize("topic", ["products/create", "products/update"])
def test_products_become_catalog_records(topic):
    result = run(topic, topic.replace("/", "_"))
    (record,) = result.products
    assert not result.events
    assert record.external_id == "8123456789012" and record.handle == "merino-pullover-fjall"
    assert record.title == "Merino-Pullover „Fjäll“" and record.category == "Pullover"
    assert record.image_url.startswith("https://cdn.shopify.com/")
    assert (record.vendor, record.tags, record.description) == ("Nordlicht", ["Winter", "Wolle"], "<p>Warm.</p>")
    assert record.published_at == datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    assert [(v["title"], v["sku"]) for v in record.variants] == [("S", "MP-FJ-S"), ("M", "MP-FJ-M"),
                                                                   ("XL", "MP-FJ-XL")]
    if topic == "products/create":
        assert (record.price, record.inventory, record.compare_at_price) == (
            Decimal("89.00"),
            11,
            Decimal("119.00"),
        )
    else:
        assert (record.price, record.inventory) == (Decimal("69.00"), 16)


def test_app_uninstalled_is_an_uninstall_action():
    assert run("app/uninstalled", "app_uninstalled").actions == [("uninstall", {})]


def test_compliance_topics_are_actions():
    (action,) = run("customers/data_request", "customers_data_request").actions
    assert action == (
        "export_customer",
        {
            "customer_id": CUSTOMER,
            "email": "zoe.angstrom@example.com",
            "orders": [ORDER, "5829470273760"],
            "request_id": "9999",
        },
    )
    assert run("customers/redact", "customers_redact").actions[0][0] == "redact_customer"
    assert run("shop/redact", "shop_redact").actions == [("redact_shop", {"shop_domain": "zoe-test.myshopify.com"})]


def test_unknown_topic_is_none_and_every_topic_has_a_payload_file():
    assert normalize("inventory_levels/update", {"x": 1}) is None
    from .helpers import PAYLOADS

    sources = (PAYLOADS / "SOURCES.md").read_text()
    for topic in TOPICS:
        name = f"{topic.replace('/', '_')}.json"
        assert (PAYLOADS / name).exists(), topic
        assert f"`{name}`" in sources, f"{name}: record where it comes from in SOURCES.md"


def test_a_bad_value_fails_with_the_field_named():
    from integrations.values import BadValue

    with pytest.raises(BadValue, match="total_price"):
        normalize("orders/create", {**payload("orders_create"), "total_price": "132,90"})
    with pytest.raises(BadValue, match="occurredAt"):
        normalize("customer.tags_added", {**payload("customer.tags_added"), "occurredAt": "yesterday"})


def test_a_payload_that_is_not_an_object_is_a_clear_error():
    with pytest.raises(ValueError, match="expected a JSON object"):
        normalize("orders/create", [1, 2])


def test_every_handled_topic_is_subscribed_under_its_graphql_name():
    from integrations.shopify.graphql import graphql_topic
    from integrations.shopify.topics import SUBSCRIBED_TOPICS

    names = {graphql_topic(t) for t in SUBSCRIBED_TOPICS}
    assert {"CUSTOMER_TAGS_ADDED", "CUSTOMER_TAGS_REMOVED", "CUSTOMERS_PURCHASING_SUMMARY", "CUSTOMERS_ENABLE",
            "ORDERS_PARTIALLY_FULFILLED", "ORDERS_CREATE"} <= names
    assert all(n.replace("_", "").isalpha() and n.isupper() for n in names)  # no "." or "/" left
