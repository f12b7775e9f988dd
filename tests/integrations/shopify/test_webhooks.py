"""Signed Shopify webhooks through the real endpoint: the shared contract, secrets, headers, dedupe."""

from __future__ import annotations

import json

import pytest

from integrations.models import WebhookDelivery
from shopconnect.timeline.models import Customer, Event

from ..contract import WebhookContract
from .helpers import PREVIOUS_SECRET, SHOP, headers, post, raw


class TestShopifyContract(WebhookContract):
    handled_topic = "orders/create"
    unknown_topic = "inventory_levels/update"

    @pytest.fixture
    def connected_store(self, shop):
        return shop

    def url(self, store):
        return "/webhooks/shopify/"

    def signed_headers(self, store, body, topic, delivery_id):
        return headers(body, topic, delivery_id, shop=store.domain)

    def unsigned_headers(self, store, body, topic, delivery_id):
        out = headers(body, topic, delivery_id, shop=store.domain)
        del out["X-Shopify-Hmac-Sha256"]
        return out

    def handled_body(self, store):
        return raw("orders_create")

    def failing_body(self, store):
        return json.dumps({"id": 1, "total_price": "1.00"}).encode()  # no created_at

    def unknown_store_request(self, client, body):
        return client.post(
            "/webhooks/shopify/",
            data=body,
            content_type="application/json",
            headers=headers(body, "orders/create", "e-404", shop="nosuch.myshopify.com"),
        )


def test_previous_secret_is_accepted_during_a_rotation(client, shop):
    assert post(client, "orders_create", "orders/create", "e1", secret=PREVIOUS_SECRET).status_code == 200
    assert Event.objects.filter(store=shop, type="order.placed").count() == 1


def test_another_apps_secret_is_rejected(client, shop):
    assert post(client, "orders_create", "orders/create", "e1", secret="someone-else").status_code == 401
    assert not WebhookDelivery.objects.exists()


def test_missing_shop_header_is_401_like_an_unsigned_request(client, shop):
    body = raw("orders_create")
    h = headers(body, "orders/create", "e1")
    del h["X-Shopify-Shop-Domain"]
    assert client.post("/webhooks/shopify/", data=body, content_type="application/json", headers=h).status_code == 401


def test_delivery_keeps_headers_topic_version_ids_and_trigger_time(client, shop):
    post(client, "orders_create", "orders/create", "evt-77", webhook_id="wh-77")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.topic, delivery.delivery_key, delivery.api_version) == (
        "orders/create",
        "evt-77",
        "2025-10",
    )
    assert delivery.headers["X-Shopify-Webhook-Id"] == "wh-77"
    assert "X-Shopify-Hmac-Sha256" not in delivery.headers
    assert delivery.triggered_at.isoformat() == "2026-02-20T12:00:00+00:00"
    assert delivery.status == WebhookDelivery.Status.PROCESSED and delivery.events_inserted == 1


def test_duplicates_fall_back_to_the_webhook_id_without_an_event_id(client, shop):
    for _ in range(2):
        assert post(client, "orders_create", "orders/create", "", webhook_id="wh-same").status_code == 200
    assert WebhookDelivery.objects.get().delivery_key == "wh-same"


def test_same_event_id_on_another_topic_is_another_delivery(client, shop):
    post(client, "orders_create", "orders/create", "evt-1")
    post(client, "orders_paid", "orders/paid", "evt-1")
    assert WebhookDelivery.objects.count() == 2
    assert set(Event.objects.values_list("type", flat=True)) == {"order.placed", "order.paid"}


def test_the_same_order_redelivered_with_a_new_event_id_is_recorded_once(client, shop):
    post(client, "orders_create", "orders/create", "evt-1")
    post(client, "orders_create", "orders/create", "evt-2")
    assert WebhookDelivery.objects.count() == 2
    assert Event.objects.filter(type="order.placed").count() == 1
    assert Customer.objects.get(store=shop).orders_count == 1


def test_webhooks_for_an_uninstalled_store_are_still_accepted(client, shop):
    post(client, "app_uninstalled", "app/uninstalled", "evt-u")
    shop.refresh_from_db()
    assert not shop.is_active and shop.uninstalled_at is not None and shop.access_token == ""
    assert post(client, "customers_redact", "customers/redact", "evt-r").status_code == 200


def test_shop_domain_header_is_matched_case_insensitively(client, shop):
    assert post(client, "orders_create", "orders/create", "e1", shop=SHOP.upper()).status_code == 200


def test_a_busy_shop_is_looked_up_once_per_few_seconds(client, shop, django_assert_num_queries):
    from unittest import mock

    from django.core.cache import cache

    from integrations.tasks import COALESCE_KEY

    with mock.patch("integrations.tasks.async_task"):
        assert post(client, "orders_create", "orders/create", "busy-1").json()["status"] == "accepted"
        cache.add(COALESCE_KEY, 1)  # a drain task is queued: the next answer only stores its delivery
        with django_assert_num_queries(1):  # the INSERT: no store lookup, no transaction round trips
            assert post(client, "customers_create", "customers/create", "busy-2").json()["status"] == "accepted"
    cache.delete(COALESCE_KEY)
    assert WebhookDelivery.objects.filter(store=shop).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_shop_deleted_by_another_process_answers_like_an_unknown_one_not_duplicate(client, shop):
    from django.db import connection

    assert post(client, "orders_create", "orders/create", "gone-1").status_code == 200  # now cached
    with connection.cursor() as cursor:  # another process: no signal reaches this one's cache
        cursor.execute("DELETE FROM integrations_webhookdelivery")
        cursor.execute("DELETE FROM timeline_event")
        cursor.execute("DELETE FROM timeline_customer")
        cursor.execute("DELETE FROM timeline_store WHERE id = %s", [shop.pk])
    answer = post(client, "orders_create", "orders/create", "gone-2")
    assert answer.status_code == 401 and answer.json()["status"] == "invalid signature"
    assert not WebhookDelivery.objects.exists()
