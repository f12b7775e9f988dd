"""Fixtures for flows and sending: a store with a locmem provider, signed webhooks, products."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core import mail

from campaigns.models import EmailProvider, EmailTemplate
from shopconnect.timeline.canonical import CanonicalEvent, ProductRecord
from shopconnect.timeline.catalog import upsert_products
from shopconnect.timeline.models import Customer
from shopconnect.timeline.record import record_events

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York
_n = itertools.count(1)


@pytest.fixture(autouse=True)
def _adapters(settings):
    settings.PLATFORM_ADAPTERS = {**settings.PLATFORM_ADAPTERS, "flowshop": "tests.campaigns.shop_adapter.ShopAdapter"}
    mail.outbox = []


@pytest.fixture
def shop(make_store):
    store = make_store(platform="woocommerce", url="https://outdoor.example", webhook_secret="s3cret",
                       timezone="America/New_York")
    EmailProvider.objects.create(store=store, kind=EmailProvider.Kind.LOCMEM, from_email="hello@outdoor.example",
                                 from_name="Outdoor Co")
    upsert_products(store, [
        ProductRecord(external_id="p1", title="Trail Shoes", url="https://outdoor.example/products/trail-shoes",
                      image_url="https://img.example/p1.jpg", price=Decimal("119.00"), category="Footwear"),
        ProductRecord(external_id="p2", title="Wool Socks", url="https://outdoor.example/products/socks",
                      image_url="https://img.example/p2.jpg", price=Decimal("24.00"), category="Apparel"),
    ])
    return store


@pytest.fixture
def post_webhook(client):
    def post(store, topic: str, payload: dict):
        body = json.dumps(payload).encode()
        signature = base64.b64encode(hmac.new(store.webhook_secret.encode(), body, hashlib.sha256).digest()).decode()
        response = client.post(f"/webhooks/flowshop/{store.pk}/", body, content_type="application/json",
                               HTTP_X_TEST_TOPIC=topic, HTTP_X_TEST_DELIVERY=f"d{next(_n)}",
                               HTTP_X_TEST_SIGNATURE=signature)
        assert response.status_code == 200, response.content
        return response

    return post


@pytest.fixture
def subscribe():
    def make(store, email: str, at: datetime = T0, **profile) -> Customer:
        record_events(store, [CanonicalEvent(
            type="consent.changed", occurred_at=at, dedupe_key=f"sub:{email}:{next(_n)}", source="api", email=email,
            properties={"channel": "email", "state": "subscribed", "source": "test"}, profile=profile or None)])
        return Customer.objects.get(store=store, email=email)

    return make


@pytest.fixture
def template(shop):
    return EmailTemplate.objects.create(
        store=shop, name="Plain", subject="Hello {{ customer.first_name }}",
        html='<html><head><style>p{color:red}</style></head><body><p>Hi {{ customer.first_name }}</p>'
             '<a href="https://outdoor.example/sale">Sale</a></body></html>')


def checkout_payload(email: str, checkout_id: int = 501, at: datetime = T0) -> dict:
    return {"id": checkout_id, "email": email, "at": at.isoformat(), "total": "143.00",
            "recovery_url": f"https://outdoor.example/checkouts/{checkout_id}/recover",
            "line_items": [{"product_id": "p1", "title": "Trail Shoes", "quantity": 1, "price": "119.00"},
                           {"product_id": "p2", "title": "Wool Socks", "quantity": 1, "price": "24.00"}]}


def order_payload(email: str, order_id: int, checkout_id: int | None, at: datetime) -> dict:
    return {"id": order_id, "email": email, "at": at.isoformat(), "total": "143.00", "checkout_id": checkout_id,
            "line_items": [{"product_id": "p1", "title": "Trail Shoes", "quantity": 1, "price": "119.00"}]}
