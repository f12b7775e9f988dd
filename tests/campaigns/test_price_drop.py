"""Price drop (issue 17): the signed Shopify products/update (the real payload file) lowers a product's
price; customers who viewed or carted it recently get a product.price_dropped event, and the prebuilt
flow mails those inside its window (a trigger filter the marketer can widen)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import EmailProvider, Flow
from campaigns.sender import send_due_messages
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer, Event
from shopconnect.timeline.record import record_events

from ..integrations.shopify.helpers import SECRET, SHOP, headers, payload, raw

PULLOVER = "8123456789012"


@pytest.fixture
def zoe(make_store, settings):
    settings.SHOPIFY_API_SECRET = SECRET
    store = make_store(platform="shopify", domain=SHOP, url=f"https://{SHOP}", currency="EUR")
    EmailProvider.objects.create(store=store, kind=EmailProvider.Kind.LOCMEM, from_email="hi@zoe.example",
                                 smart_sending_hours=0)
    return store


def _product(client, body: bytes, event_id: str) -> None:
    response = client.post("/webhooks/shopify/", data=body, content_type="application/json",
                           headers=headers(body, "products/update", event_id))
    assert response.status_code == 200


def _priced(price: str, updated_at: str) -> bytes:
    product = payload("products_update")
    product["updated_at"] = updated_at
    for variant in product["variants"]:
        variant["price"] = price
    return json.dumps(product).encode()


def _customer(store, email: str, kind: str, product: str, days_ago: float) -> Customer:
    at = timezone.now() - timedelta(days=days_ago)
    record_events(store, [
        CanonicalEvent(type="consent.changed", occurred_at=at - timedelta(days=1), dedupe_key=f"sub:{email}",
                       source="api", email=email, properties={"channel": "email", "state": "subscribed",
                                                              "source": "api"}),
        CanonicalEvent(type=kind, occurred_at=at, dedupe_key=f"{kind}:{email}", source="shopify", email=email,
                       properties={"product_id": product, "action": "added", "quantity": 1}),
    ])
    return Customer.objects.get(store=store, email=email)


def _run():
    advance_due_enrollments()
    send_due_messages()


def test_a_price_drop_mails_who_viewed_or_carted_it_within_the_flows_window(client, zoe):
    (flow,) = install_prebuilt_flows(zoe, ["price_drop"], enable=("price_drop",))
    _product(client, _priced("89.00", "2026-02-19T10:00:00+01:00"), "ev-before")
    ana = _customer(zoe, "ana@example.com", "product.viewed", PULLOVER, days_ago=3)
    ben = _customer(zoe, "ben@example.com", "cart.updated", PULLOVER, days_ago=20)
    _customer(zoe, "cleo@example.com", "product.viewed", "8100000000001", days_ago=1)  # another product
    _customer(zoe, "dan@example.com", "product.viewed", PULLOVER, days_ago=45)  # past the 30-day lookback

    _product(client, raw("products_update"), "ev-drop")  # the real file: 69.00 (74.00 for XL)
    _run()
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["ana@example.com"], "The price of Merino-Pullover „Fjäll“ just dropped")]
    assert "now costs 69.00 EUR (was 89.00)" in mail.outbox[0].alternatives[0][0]
    drops = {e.customer.email: e.properties for e in Event.objects.filter(type="product.price_dropped")
             .select_related("customer")}
    assert set(drops) == {"ana@example.com", "ben@example.com"}
    assert (drops["ana@example.com"]["interest"], drops["ana@example.com"]["days_since_interest"]) == ("viewed", 3)
    assert (drops["ben@example.com"]["interest"], drops["ben@example.com"]["days_since_interest"]) == ("carted", 20)
    assert drops["ana@example.com"]["drop_percent"] == 22.5 and drops["ana@example.com"]["previous_price"] == "89.00"

    # Redelivered: the same price is no drop. A rise tells nobody either.
    _product(client, raw("products_update"), "ev-drop-again")
    _product(client, _priced("99.00", "2026-02-21T10:00:00+01:00"), "ev-rise")
    _run()
    assert len(mail.outbox) == 1

    # The marketer widens the window to 30 days; the next drop reaches Ben too (Ana had one this week).
    Flow.objects.filter(pk=flow.pk).update(trigger_filters=[
        {"property": "days_since_interest", "op": "lte", "value": 30}])
    _product(client, _priced("59.00", "2026-02-22T10:00:00+01:00"), "ev-second-drop")
    _run()
    assert [m.to for m in mail.outbox] == [["ana@example.com"], ["ben@example.com"]]
    assert "now costs 59.00 EUR (was 99.00)" in mail.outbox[1].alternatives[0][0]
    assert not Event.objects.filter(customer__email="dan@example.com", type="product.price_dropped").exists()
    assert ana.flow_enrollments.count() == 1 and ben.flow_enrollments.count() == 1
