"""WooCommerce consent: the opt-ins marketing plugins write into order and customer meta become
consent.changed events (through signed deliveries and the reconciliation alike), once each."""

from __future__ import annotations

import pytest

from integrations.woocommerce.consent import order_consent
from shopconnect.timeline.consent import history
from shopconnect.timeline.models import Customer

from .helpers import deliver, payload

SECRET = "s3cret"


@pytest.fixture
def woo_store(make_store):
    return make_store(platform="woocommerce", webhook_secret=SECRET, url="https://shop.example")


def test_a_ticked_plugin_checkbox_on_an_order_subscribes_its_buyer_once(client, woo_store):
    assert deliver(client, woo_store, "order_mailchimp_optin", "order.created", SECRET).status_code == 200
    assert deliver(client, woo_store, "order_mailchimp_optin", "order.updated", SECRET).status_code == 200
    buyer = Customer.objects.get(store=woo_store, email="ann.lee@example.com")
    assert buyer.email_consent == "subscribed"
    (entry,) = history(buyer)
    assert entry.source == "woocommerce" and entry.properties["source"] == "woocommerce"
    assert entry.properties["evidence"] == {"order_id": "7301", "meta_key": "mailchimp_woocommerce_is_subscribed",
                                            "plugin": "Mailchimp for WooCommerce"}
    assert entry.dedupe_key == ("consent:woocommerce:26:email:subscribed:"
                                "order:7301:mailchimp_woocommerce_is_subscribed")


def test_customer_meta_counts_and_an_unticked_box_withdraws_nothing(client, woo_store):
    assert deliver(client, woo_store, "customer_mailchimp_optin", "customer.updated", SECRET).status_code == 200
    customer = Customer.objects.get(store=woo_store, external_id="26")
    assert customer.email_consent == "subscribed"
    assert [e.properties["evidence"]["meta_key"] for e in history(customer)] == ["mailchimp_woocommerce_is_subscribed"]


def test_an_order_without_opt_in_meta_records_no_consent():
    assert order_consent(payload("order_paid")) == []
    unticked = {**payload("order_paid"), "meta_data": [{"id": 1, "key": "mailchimp_woocommerce_is_subscribed",
                                                       "value": "0"}]}
    assert order_consent(unticked) == []
