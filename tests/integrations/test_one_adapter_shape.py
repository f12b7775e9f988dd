"""Both adapters give identical canonical events for the same order story (``integrations.orders``).

The same order, told by Shopify (``orders/updated``) and by WooCommerce (``order.updated``) in each
platform's own payload shape (starting from the published-example payload files and changing only the
values, so both say the same facts): placed, paid, discounted, shipped, fulfilled, refunded twice. Facts
one platform has no field for (Shopify's landing site, locale, marketing opt-in; WooCommerce's nothing
extra here) are empty on the other side too, because the story is the same. Apart from the platform
name in ``source`` and in the dedupe keys, every event must be equal, property for property.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from integrations.shopify.topics import normalize as shopify
from integrations.woocommerce.topics import normalize as woocommerce

from .shopify.helpers import payload as shopify_payload
from .woocommerce.helpers import payload as woo_payload


def shopify_story() -> dict:
    order = shopify_payload("orders_updated")
    customer = {**order["customer"], "id": 26, "email": "ann.lee@example.com"}
    address = {**order["billing_address"], "city": "Lyon", "province": None, "country_code": "FR"}
    return {
        **order, "id": 727, "order_number": 727, "name": "#727", "email": "ann.lee@example.com",
        "contact_email": "ann.lee@example.com", "customer": customer, "currency": "EUR",
        "created_at": "2026-02-01T11:00:00+01:00", "processed_at": "2026-02-01T11:05:00+01:00",
        "updated_at": "2026-02-07T10:00:00+01:00", "cancelled_at": None, "cancel_reason": None,
        "financial_status": "partially_refunded", "fulfillment_status": "fulfilled",
        "fulfillments": [{**order["fulfillments"][0], "created_at": "2026-02-03T09:00:00+01:00",
                          "tracking_number": None, "tracking_numbers": [], "tracking_url": None,
                          "tracking_urls": [], "tracking_company": None}],
        "total_price": "79.80", "subtotal_price": "74.80", "current_total_price": "50.00",
        "total_discounts": "5.00", "total_tax": "0.00",
        "total_shipping_price_set": {"shop_money": {"amount": "4.90", "currency_code": "EUR"},
                                     "presentment_money": {"amount": "4.90", "currency_code": "EUR"}},
        "line_items": [
            {**order["line_items"][0], "product_id": 93, "variant_id": 101, "title": "Linen Shirt",
             "name": "Linen Shirt - Blue", "variant_title": "Blue", "sku": "LS-BLUE", "quantity": 2,
             "price": "27.40", "vendor": None},
            {**order["line_items"][0], "product_id": 22, "variant_id": None, "title": "Canvas Tote",
             "name": "Canvas Tote", "variant_title": None, "sku": "TOTE", "quantity": 1, "price": "20.00",
             "vendor": None},
        ],
        "discount_codes": [{"code": "welcome5", "amount": "5.00", "type": "fixed_amount"}],
        "discount_applications": [{"target_type": "line_item", "type": "discount_code", "value": "5.0",
                                   "value_type": "fixed_amount", "allocation_method": "across",
                                   "target_selection": "all", "code": "welcome5"}],
        "shipping_lines": [{**order["shipping_lines"][0], "title": "Flat rate", "code": "flat_rate",
                            "price": "4.90"}],
        "checkout_id": 727, "checkout_token": None, "cart_token": None, "tags": "", "source_name": "checkout",
        "landing_site": None, "referring_site": None, "customer_locale": None, "buyer_accepts_marketing": None,
        "payment_gateway_names": ["Credit card"], "note": "Sonnez deux fois",
        "note_attributes": [{"name": "is_vat_exempt", "value": "no"}],
        "billing_address": address, "shipping_address": address,
        "refunds": [
            {**order["refunds"][0], "id": rid, "order_id": 727, "created_at": "2026-02-07T10:00:00+01:00",
             "processed_at": "2026-02-07T10:00:00+01:00", "note": reason, "refund_line_items": [],
             "transactions": [{**order["refunds"][0]["transactions"][0], "amount": amount, "kind": "refund",
                               "status": "success", "currency": "EUR"}]}
            for rid, reason, amount in ((802, "late delivery", "9.80"), (801, "damaged tote", "20.00"))
        ],
    }


def woocommerce_story() -> dict:
    order = woo_payload("order_refunded_second")
    return {**order, "status": "completed", "date_completed_gmt": "2026-02-03T08:00:00",
            "date_modified_gmt": "2026-02-07T09:00:00", "billing": {**order["billing"], "state": ""}}


def canonical(events, platform: str) -> list[dict]:
    out = []
    for event in events:
        row = dataclasses.asdict(event)
        row["dedupe_key"] = row["dedupe_key"].replace(platform, "<platform>", 1)
        row["source"] = "<platform>"
        out.append(row)
    return out


def test_both_adapters_tell_the_same_order_story_with_identical_events():
    from_shopify = canonical(shopify("orders/updated", shopify_story()).events, "shopify")
    from_woo = canonical(woocommerce("order.updated", woocommerce_story()).events, "woocommerce")
    assert [e["type"] for e in from_shopify] == [
        "order.placed", "order.paid", "order.fulfilled", "order.refunded", "order.refunded"]
    for mine, theirs in zip(from_shopify, from_woo, strict=True):
        assert mine == theirs, mine["type"]
    placed = from_woo[0]
    assert placed["dedupe_key"] == "<platform>:order:727:placed" and placed["amount"] == Decimal("79.80")
    assert [e["dedupe_key"] for e in from_woo[3:]] == ["<platform>:refund:802", "<platform>:refund:801"]
    assert from_woo[1]["properties"]["total"] == "79.80"  # order.paid carries the total everywhere


def test_a_cancellation_carries_the_same_properties_from_both():
    shop = shopify("orders/cancelled", {**shopify_story(), "cancelled_at": "2026-02-07T10:00:00+01:00",
                                        "cancel_reason": "cancelled", "refunds": [], "fulfillments": [],
                                        "fulfillment_status": None, "financial_status": "voided"}).events
    woo = woocommerce("order.updated", {**woocommerce_story(), "status": "cancelled", "refunds": [],
                                        "date_paid_gmt": None}).events
    (mine,), (theirs,) = ([e for e in shop if e.type == "order.cancelled"],
                          [e for e in woo if e.type == "order.cancelled"])
    assert mine.properties == theirs.properties and mine.amount == theirs.amount == Decimal("79.80")
