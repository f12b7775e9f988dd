"""Real HTTP deliveries through the WooCommerce endpoint: the shared contract, the ping, signatures,
and the timeline after a realistic sequence of latest-state deliveries."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from integrations.base import hmac_sha256_base64
from integrations.models import WebhookDelivery
from integrations.woocommerce.signature import wp_specialchars_decode
from shopconnect.timeline.models import Customer, Event, Product

from ..contract import WebhookContract
from .helpers import body_of, deliver, wc_headers

SECRET = "k3y&amp;with &quot;entities&quot; &#039;"


@pytest.fixture
def woo_store(make_store):
    return make_store(platform="woocommerce", webhook_secret=SECRET, url="https://shop.example")


class TestWooCommerceContract(WebhookContract):
    handled_topic = "order.created"
    unknown_topic = "coupon.created"

    @pytest.fixture
    def connected_store(self, woo_store):
        return woo_store

    def url(self, store):
        return f"/webhooks/woocommerce/{store.pk}/"

    def signed_headers(self, store, body, topic, delivery_id):
        return wc_headers(SECRET, body, topic, delivery_id)

    def unsigned_headers(self, store, body, topic, delivery_id):
        headers = wc_headers(SECRET, body, topic, delivery_id)
        del headers["X-WC-Webhook-Signature"]
        return headers

    def handled_body(self, store):
        return body_of("order_paid")

    def failing_body(self, store):
        order = json.loads(body_of("order_paid"))
        order["date_created_gmt"] = "the first of February"  # not a date: processing must fail
        return json.dumps(order).encode()

    def unknown_store_request(self, client, body):
        return client.post(
            "/webhooks/woocommerce/999999/",
            data=body,
            content_type="application/json",
            headers=wc_headers(SECRET, body, "order.created"),
        )


# --- ping and signatures ------------------------------------------------------------------------------
def test_creation_ping_is_200_and_records_nothing(client, woo_store):
    response = client.post(
        f"/webhooks/woocommerce/{woo_store.pk}/",
        data=b"webhook_id=15",
        content_type="application/x-www-form-urlencoded",
        headers={"User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)"},
    )
    assert response.status_code == 200
    assert not WebhookDelivery.objects.exists() and not Event.objects.exists()


def test_a_ping_shaped_body_with_woocommerce_headers_still_needs_a_signature(client, woo_store):
    headers = wc_headers(SECRET, b"webhook_id=15", "order.created")
    headers["X-WC-Webhook-Signature"] = "forged"
    response = client.post(
        f"/webhooks/woocommerce/{woo_store.pk}/",
        data=b"webhook_id=15",
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )
    assert response.status_code == 401


def post_signed_with(client, store, body: bytes, key: str):
    headers = {**wc_headers("unused", body, "order.created"), "X-WC-Webhook-Signature": hmac_sha256_base64(key, body)}
    return client.post(
        f"/webhooks/woocommerce/{store.pk}/", data=body, content_type="application/json", headers=headers
    )


def test_signature_uses_the_secret_as_woocommerce_decodes_it(client, make_store):
    secret = "a&amp;b&lt;c&#38;d&eacute;"
    store = make_store(platform="woocommerce", webhook_secret=secret)
    body = body_of("order_paid")
    # Neither the raw secret nor a full HTML unescape is the key WooCommerce signs with...
    assert post_signed_with(client, store, body, secret).status_code == 401
    assert post_signed_with(client, store, body, "a&b<c&d\u00e9").status_code == 401
    assert not WebhookDelivery.objects.exists()
    # ...wp_specialchars_decode(secret, ENT_QUOTES) is.
    assert post_signed_with(client, store, body, "a&b<c&d&eacute;").status_code == 200
    assert WebhookDelivery.objects.count() == 1


def test_wp_specialchars_decode_matches_wordpress():
    assert wp_specialchars_decode("no entities") == "no entities"
    assert wp_specialchars_decode("&amp;&lt;&gt;&quot;&#039;") == "&<>\"'"
    assert wp_specialchars_decode("&#0038;&#X26;&#x0027;&#34;") == "&&'\""  # zero padding, hex in any case
    assert wp_specialchars_decode("&amp;lt;") == "&lt;"  # one pass: never decoded twice
    assert wp_specialchars_decode("&eacute;&amp") == "&eacute;&amp"  # not a special char / no semicolon


def test_plain_secret_with_an_ampersand(client, make_store):
    store = make_store(platform="woocommerce", webhook_secret="p&ss=w0rd&")
    assert deliver(client, store, "customer_created", "customer.created", "p&ss=w0rd&").status_code == 200
    assert Customer.objects.get(store=store).external_id == "26"


def test_a_store_of_another_platform_is_404(client, make_store):
    shopify = make_store(platform="shopify", webhook_secret=SECRET)
    assert deliver(client, shopify, "order_paid", "order.created", SECRET).status_code == 404


# --- the timeline from latest-state deliveries --------------------------------------------------------
def test_order_lifecycle_counts_each_event_once(client, woo_store):
    deliver(client, woo_store, "customer_created", "customer.created", SECRET)
    deliver(client, woo_store, "order_paid", "order.created", SECRET)
    deliver(client, woo_store, "order_paid", "order.updated", SECRET)  # same state, other topic
    deliver(client, woo_store, "order_refunded_partial", "order.updated", SECRET)
    deliver(client, woo_store, "order_refunded_second", "order.updated", SECRET)
    deliver(client, woo_store, "order_refunded_second", "order.updated", SECRET)  # redelivered
    deliver(client, woo_store, "order_completed", "order.updated", SECRET)  # a stale state, after
    customer = Customer.objects.get(store=woo_store)
    types = sorted(customer.events.values_list("type", flat=True))
    assert types == [
        "customer.created",
        "order.fulfilled",
        "order.paid",
        "order.placed",
        "order.refunded",
        "order.refunded",
    ]
    assert customer.orders_count == 1
    assert customer.total_spent == Decimal("79.80") - Decimal("20.00") - Decimal("9.80")
    assert (customer.first_name, customer.email) == ("Ann", "ann.lee@example.com")


def test_guest_order_lands_on_a_customer_found_by_email(client, woo_store):
    deliver(client, woo_store, "order_guest", "order.created", SECRET)
    guest = Customer.objects.get(store=woo_store, email="gus@example.net")
    assert guest.external_id is None and guest.first_name == "Gus"
    assert guest.orders_count == 1 and guest.total_spent == Decimal("24.90")


def test_checkout_draft_is_a_started_checkout_and_not_an_order(client, woo_store):
    deliver(client, woo_store, "order_checkout_draft", "order.created", SECRET)
    customer = Customer.objects.get(store=woo_store, email="dora@example.org")
    assert list(customer.events.values_list("type", flat=True)) == ["checkout.started"]
    assert customer.orders_count == 0


def test_cancelled_order_is_taken_out_of_lifetime_value(client, woo_store):
    cancelled = json.loads(body_of("order_cancelled"))
    placed = {**cancelled, "status": "processing"}
    deliver(client, woo_store, "", "order.created", SECRET, body=json.dumps(placed).encode())
    assert Customer.objects.get(store=woo_store).orders_count == 1
    deliver(client, woo_store, "order_cancelled", "order.updated", SECRET)
    customer = Customer.objects.get(store=woo_store)
    assert customer.orders_count == 0 and customer.total_spent == 0
    assert customer.events.filter(type="order.cancelled").count() == 1


def test_deleted_order_is_a_cancellation_of_that_order(client, woo_store):
    deliver(client, woo_store, "order_paid", "order.created", SECRET)
    deliver(client, woo_store, "order_deleted", "order.deleted", SECRET)
    customer = Customer.objects.get(store=woo_store)
    cancelled = customer.events.get(type="order.cancelled")
    assert cancelled.order_ref == "727" and cancelled.properties["reason"] == "deleted"
    assert customer.orders_count == 0


def test_deleting_an_unknown_order_or_customer_records_nothing(client, woo_store):
    assert deliver(client, woo_store, "order_deleted", "order.deleted", SECRET).status_code == 200
    assert deliver(client, woo_store, "customer_deleted", "customer.deleted", SECRET).status_code == 200
    assert not Event.objects.exists() and not Customer.objects.exists()
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}


def test_customer_updated_then_deleted(client, woo_store):
    deliver(client, woo_store, "customer_created", "customer.created", SECRET)
    deliver(client, woo_store, "customer_updated", "customer.updated", SECRET)
    deliver(client, woo_store, "customer_deleted", "customer.deleted", SECRET)
    customer = Customer.objects.get(store=woo_store)
    assert customer.last_name == "Lee-Martin" and customer.deleted_at is not None


def test_product_update_fills_the_catalog(client, woo_store):
    deliver(client, woo_store, "product_updated", "product.updated", SECRET)
    product = Product.objects.get(store=woo_store)
    assert (product.external_id, product.title, product.category) == ("93", "Linen Shirt", "Shirts")


def test_what_a_marketer_filters_on_is_kept_on_the_order(client, woo_store):
    deliver(client, woo_store, "order_paid", "order.created", SECRET)
    props = Event.objects.get(type="order.placed").properties
    assert props["shipping_lines"] == [{"title": "Flat rate", "code": "flat_rate", "price": "4.90"}]
    assert props["payment_method"] == "Credit card" and props["source_name"] == "checkout"
    assert props["note"] == "Sonnez deux fois" and (props["city"], props["country"]) == ("Lyon", "FR")
    assert props["attributes"] == {"is_vat_exempt": "no"}  # meta_data, as sent
    assert props["line_items"][0]["title"] == "Linen Shirt" and props["line_items"][0]["variant_title"] == "Blue"


def test_a_bad_money_value_fails_the_delivery_with_the_field_named(client, woo_store):
    order = {**json.loads(body_of("order_paid")), "total": "79,80"}
    deliver(client, woo_store, "", "order.created", SECRET, body=json.dumps(order).encode())
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "total: expected a decimal amount" in delivery.last_error
    assert not Event.objects.exists()


def test_an_email_changed_in_woocommerce_moves_the_customer_to_it(client, woo_store):
    deliver(client, woo_store, "customer_created", "customer.created", SECRET)
    deliver(client, woo_store, "order_paid", "order.created", SECRET)
    changed = {**json.loads(body_of("customer_updated")), "email": "ann.martin@example.com"}
    deliver(client, woo_store, "", "customer.updated", SECRET, body=json.dumps(changed).encode())
    (customer,) = Customer.objects.filter(store=woo_store)
    assert customer.email == "ann.martin@example.com" and customer.orders_count == 1


def test_every_payload_file_says_where_it_comes_from():
    from .helpers import PAYLOADS

    sources = (PAYLOADS / "SOURCES.md").read_text()
    for path in PAYLOADS.glob("*.json"):
        assert f"`{path.name}`" in sources, path.name


def test_refunds_stored_under_the_old_key_are_renamed_so_a_replay_stays_a_duplicate(client, woo_store):
    import importlib

    from django.apps import apps

    deliver(client, woo_store, "order_refunded_second", "order.created", SECRET)
    Event.objects.filter(dedupe_key="woocommerce:refund:801").update(dedupe_key="woocommerce:order:727:refund:801")
    migration = importlib.import_module("integrations.woocommerce.migrations.0002_platform_refund_keys")
    migration.forwards(apps, None)
    assert set(Event.objects.filter(type="order.refunded").values_list("dedupe_key", flat=True)) == {
        "woocommerce:refund:801", "woocommerce:refund:802"}
    deliver(client, woo_store, "order_refunded_second", "order.updated", SECRET)  # replayed after the upgrade
    assert Event.objects.filter(type="order.refunded").count() == 2
    migration.backwards(apps, None)
    assert Event.objects.filter(dedupe_key="woocommerce:order:727:refund:801").exists()
