"""From signed HTTP requests to customer timelines, profiles, consent, catalog and aggregates (API)."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from integrations.models import WebhookDelivery
from shopconnect.timeline.models import Customer, Event, Product, Store

from .helpers import SHOP, payload, post

CUSTOMER = "7408451977439"
ORDER = "5829470273759"

FULL_SEQUENCE = [
    ("customers_create", "customers/create"),
    ("customers_enable", "customers/enable"),
    ("customer.tags_added", "customer.tags_added"),
    ("products_create", "products/create"),
    ("checkouts_create", "checkouts/create"),
    ("carts_update", "carts/update"),
    ("checkouts_update", "checkouts/update"),
    ("orders_create", "orders/create"),
    ("orders_paid", "orders/paid"),
    ("customers_purchasing_summary", "customers/purchasing_summary"),
    ("orders_partially_fulfilled", "orders/partially_fulfilled"),
    ("orders_fulfilled", "orders/fulfilled"),
    ("refunds_create", "refunds/create"),
    ("orders_updated", "orders/updated"),
    ("orders_cancelled", "orders/cancelled"),
    ("orders_create_guest", "orders/create"),
    ("orders_create_no_email", "orders/create"),
    ("customers_update", "customers/update"),  # 2025-10: carries no tags, must not wipe them
    ("customers_email_marketing_consent_update", "customers_email_marketing_consent/update"),
    ("customer.tags_removed", "customer.tags_removed"),
    ("customers_marketing_consent_update", "customers_marketing_consent/update"),
    ("customers_create_no_email", "customers/create"),
    ("products_update", "products/update"),
]


@pytest.fixture
def connected(db):
    out = StringIO()
    call_command("connect_store", "--platform", "shopify", "--domain", SHOP, stdout=out)
    info = json.loads(out.getvalue())
    assert info["webhook_url"] == "https://shopconnect.test/webhooks/shopify/"
    return Store.objects.get(pk=info["id"])


def api_customer(api, customer_id):
    response = api.get(f"/api/v1/customers/{customer_id}/")
    assert response.status_code == 200
    return response.json()


def test_every_topic_lands_on_the_right_timeline_with_right_aggregates(client, connected, make_user, api_client_for):
    for n, (name, topic) in enumerate(FULL_SEQUENCE):
        assert post(client, name, topic, f"evt-{n}").status_code == 200
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}

    api = api_client_for(make_user(connected))
    zoe = Customer.objects.get(store=connected, external_id=CUSTOMER)
    data = api_customer(api, zoe.pk)
    # 1042: 132.90 paid, fulfilled, 19.50 refunded; 1043 cancelled: not counted.
    assert data["orders_count"] == 1 and Decimal(data["total_spent"]) == Decimal("113.40")
    assert data["email"] == "zoe.angstrom@example.com" and data["first_name"] == "Zoë"
    assert data["last_name"] == "Ångström-Berg" and data["country"] == "DE"
    assert data["tags"] == ["VIP"]  # added VIP + Newsletter, removed Newsletter; customers/update kept them
    assert data["email_consent"] == "unsubscribed"
    assert zoe.properties["shopify_orders_count"] == 3 and zoe.properties["shopify_amount_spent"] == "311.70"
    assert zoe.properties["city"] == "Berlin"
    timeline = api.get(f"/api/v1/customers/{zoe.pk}/timeline/").json()["results"]
    types = [e["type"] for e in timeline]
    for expected in (
        "customer.created",
        "customer.updated",
        "checkout.started",
        "checkout.updated",
        "cart.updated",
        "order.placed",
        "order.paid",
        "order.fulfilled",
        "order.refunded",
        "order.cancelled",
        "consent.changed",
    ):
        assert expected in types, expected
    assert types.count("order.placed") == 2 and types.count("order.refunded") == 1
    assert types.count("order.fulfilled") == 1  # the partial fulfillment is not "fulfilled"
    assert types.count("consent.changed") == 2  # email unsubscribed, sms subscribed
    placed = next(e for e in timeline if e["type"] == "order.placed" and e["properties"]["order_id"] == ORDER)
    assert placed["properties"]["tags"] == ["Erstbestellung", "Geschenk"]
    assert placed["properties"]["source_name"] == "web" and placed["properties"]["customer_locale"] == "de"
    fulfilled = next(e for e in timeline if e["type"] == "order.fulfilled")
    assert fulfilled["properties"]["tracking_numbers"] == ["00340434161234567890"]
    refund = next(e for e in timeline if e["type"] == "order.refunded")
    assert refund["properties"]["amount"] == "19.50"

    guest = Customer.objects.get(store=connected, email="gast.kunde@example.de")
    assert guest.external_id is None and guest.orders_count == 1 and guest.total_spent == Decimal("39.00")
    no_email = Customer.objects.get(store=connected, external_id="7408451977440")
    assert no_email.email is None and no_email.first_name == "美咲"
    anonymous_order = Event.objects.get(store=connected, order_ref="5829470273762")
    assert anonymous_order.customer_id is None  # stored for the store, on nobody's timeline

    product = Product.objects.get(store=connected, external_id="8123456789012")
    assert product.url == f"https://{SHOP}/products/merino-pullover-fjall"
    assert (product.price, product.inventory) == (Decimal("69.00"), 16)
    assert (product.vendor, product.tags) == ("Nordlicht", ["Winter", "Wolle"])
    assert [v["sku"] for v in product.variants] == ["MP-FJ-S", "MP-FJ-M", "MP-FJ-XL"]

    assert post(client, "customers_delete", "customers/delete", "evt-del").status_code == 200
    zoe.refresh_from_db()
    assert zoe.deleted_at is not None and not zoe.can_receive_marketing


def test_order_topics_in_reverse_order_give_the_same_state(client, shop):
    for n, (name, topic) in enumerate(
        reversed(
            [
                ("orders_create", "orders/create"),
                ("orders_paid", "orders/paid"),
                ("orders_fulfilled", "orders/fulfilled"),
                ("orders_updated", "orders/updated"),
            ]
        )
    ):
        assert post(client, name, topic, f"e{n}").status_code == 200
    zoe = Customer.objects.get(external_id=CUSTOMER)
    assert zoe.orders_count == 1 and zoe.total_spent == Decimal("113.40")
    assert sorted(zoe.events.values_list("type", flat=True)) == [
        "order.fulfilled",
        "order.paid",
        "order.placed",
        "order.refunded",
    ]


def test_an_older_orders_updated_never_rolls_back_a_cancellation(client, shop):
    cancelled = payload("orders_cancelled")
    older = {
        **cancelled,
        "cancelled_at": None,
        "cancel_reason": None,
        "financial_status": "paid",
        "updated_at": "2026-02-04T08:30:00+01:00",
    }
    post(client, json.dumps(cancelled).encode(), "orders/cancelled", "e1")
    post(client, json.dumps(older).encode(), "orders/updated", "e2")
    zoe = Customer.objects.get(external_id=CUSTOMER)
    assert zoe.orders_count == 0 and zoe.total_spent == 0
    assert zoe.events.filter(type="order.cancelled").count() == 1


def test_an_older_customer_update_stays_on_the_timeline_but_not_in_the_profile(client, shop):
    post(client, "customers_update", "customers/update", "e1")
    post(client, "customers_create", "customers/create", "e2")  # older, delivered late
    zoe = Customer.objects.get(external_id=CUSTOMER)
    assert zoe.last_name == "Ångström-Berg"
    assert zoe.events.filter(type__in=["customer.created", "customer.updated"]).count() == 2


def test_a_refund_before_its_order_waits_for_it_and_lands_when_the_order_arrives(client, shop):
    assert post(client, "refunds_create", "refunds/create", "e1").status_code == 200
    delivery = WebhookDelivery.objects.get(topic="refunds/create")
    assert delivery.status == "parked" and "not known yet" in delivery.last_error
    assert not Schedule.objects.filter(func="integrations.tasks.process_delivery").exists()  # no timed retry
    post(client, "orders_paid", "orders/paid", "e2")  # the order arrives: the refund is applied at once
    delivery.refresh_from_db()
    assert delivery.status == "processed" and delivery.waits_for == ""
    zoe = Customer.objects.get(external_id=CUSTOMER)
    assert zoe.total_spent == Decimal("113.40")
    assert zoe.events.filter(type="order.refunded").count() == 1


def test_duplicate_and_redelivered_topics_never_double(client, shop):
    for n in range(3):
        post(client, "orders_updated", "orders/updated", "same")  # the same delivery three times
        post(client, "refunds_create", "refunds/create", f"r{n}")  # the same refund, new deliveries
    assert WebhookDelivery.objects.count() == 4
    zoe = Customer.objects.get(external_id=CUSTOMER)
    assert zoe.events.filter(type="order.refunded").count() == 1 and zoe.total_spent == Decimal("113.40")


def test_a_cart_is_linked_to_the_customer_of_the_checkout_with_the_same_cart_token(client, shop):
    post(client, "checkouts_create", "checkouts/create", "e1")
    post(client, "carts_update", "carts/update", "e2")
    cart = Event.objects.get(type="cart.updated")
    assert cart.customer.external_id == CUSTOMER


def test_an_older_product_update_does_not_roll_the_catalog_back(client, shop):
    post(client, "products_update", "products/update", "e1")
    post(client, "products_create", "products/create", "e2")
    assert Product.objects.get().price == Decimal("69.00")


def test_tag_changes_never_hide_an_older_profile_update_delivered_late(client, shop):
    post(client, "customers_create", "customers/create", "e1")
    post(client, "customer.tags_added", "customer.tags_added", "e2")
    post(client, "customer.tags_removed", "customer.tags_removed", "e3")  # 2026-02-15
    post(client, "customers_update", "customers/update", "e4")  # 2026-02-12, delivered after the tag change
    zoe = Customer.objects.get(external_id=CUSTOMER)
    assert zoe.last_name == "Ångström-Berg"  # the tag change did not make the profile "newer"
    assert list(zoe.tags.values_list("tag", flat=True)) == ["VIP"]
