"""Back-in-stock (issue 17): a visitor asks on a sold-out product page (with consent, recorded in the
consent ledger), the product webhook (the real Shopify and WooCommerce payload files, really signed) says
the variant is back, the prebuilt flow sends once, with the product from the synced catalog."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import EmailProvider, Enrollment, Message
from campaigns.sender import send_due_messages
from integrations.storefront.signup.models import StockRequest, Submission
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.consent import history
from shopconnect.timeline.models import Customer, Event
from shopconnect.timeline.record import record_events

from ...shopify import helpers as shopify
from ...woocommerce import helpers as woocommerce

PULLOVER, XL, M = "8123456789012", "45123456789013", "45123456789012"


def _ask(client, store, email="lena@example.com", *, product=PULLOVER, variant=XL, consent=True, **extra):
    body = {"email": email, "product_id": product, "variant_id": variant, "consent": consent,
            "page": "https://zoe-test.myshopify.com/products/merino-pullover-fjall", **extra}
    return client.post(f"/collect/{store.collect_key}/back-in-stock/", data=json.dumps(body).encode(),
                       content_type="text/plain", HTTP_USER_AGENT="Mozilla/5.0 Test", REMOTE_ADDR="203.0.113.9")


def _shopify_product(client, body: bytes, event_id: str):
    response = client.post("/webhooks/shopify/", data=body, content_type="application/json",
                           headers=shopify.headers(body, "products/update", event_id))
    assert response.status_code == 200


@pytest.fixture
def subscribed():
    def make(store, email: str) -> Customer:
        record_events(store, [CanonicalEvent(
            type="consent.changed", occurred_at=timezone.now(), dedupe_key=f"sub:{email}", source="api", email=email,
            properties={"channel": "email", "state": "subscribed", "source": "api"})])
        return Customer.objects.get(store=store, email=email)

    return make


@pytest.fixture
def zoe(make_store, settings, opt_in):
    settings.SHOPIFY_API_SECRET = shopify.SECRET
    store = make_store(platform="shopify", domain=shopify.SHOP, url=f"https://{shopify.SHOP}", currency="EUR",
                       name="Zoe")
    EmailProvider.objects.create(store=store, kind=EmailProvider.Kind.LOCMEM, from_email="hi@zoe.example")
    opt_in(store, "single")
    return store


def test_a_request_on_a_sold_out_variant_sends_once_when_the_product_webhook_says_it_is_back(client, zoe):
    (flow,) = install_prebuilt_flows(zoe, ["back_in_stock"], enable=("back_in_stock",))
    sold_out = shopify.payload("products_update")
    sold_out["updated_at"] = "2026-02-19T10:00:00+01:00"
    sold_out["variants"][2]["inventory_quantity"] = 0  # XL: none left
    _shopify_product(client, json.dumps(sold_out).encode(), "ev-sold-out")

    assert _ask(client, zoe, variant=M).json()["errors"] == {"product_id": "This product is in stock: no need to wait."}
    assert _ask(client, zoe, consent=False).json()["errors"] == {"consent": "Tick the box to get the email."}
    assert _ask(client, zoe, product="999").status_code == 400
    answer = _ask(client, zoe)
    assert answer.status_code == 202 and answer["Access-Control-Allow-Origin"] == "*"
    assert _ask(client, zoe).status_code == 202  # asked twice: one open request
    request = StockRequest.objects.get()
    assert (request.email, request.product_id, request.variant_id, request.variant_title) == (
        "lena@example.com", PULLOVER, XL, "XL")
    lena = Customer.objects.get(store=zoe, email="lena@example.com")
    (change,) = history(lena)
    assert change.properties["state"] == "subscribed" and change.properties["evidence"]["kind"] == "back_in_stock"
    assert "Notify me" in change.properties["evidence"]["wording"]

    # A price or title change with XL still at 0 tells nobody.
    send_due_messages()
    assert mail.outbox == []
    # Lena got a flow email an hour ago: smart sending (16 h) does not hold back what she asked for.
    Message.objects.create(store=zoe, customer=lena, state="sent", sent_at=timezone.now() - timedelta(hours=1),
                           idempotency_key="earlier-flow-email", next_attempt_at=timezone.now())

    _shopify_product(client, shopify.raw("products_update"), "ev-restock")  # the real file: XL has 5 again
    _shopify_product(client, shopify.raw("products_update"), "ev-restock-again")  # redelivered under a new id
    advance_due_enrollments()
    send_due_messages()
    (email,) = mail.outbox
    assert email.to == ["lena@example.com"] and email.subject == "Merino-Pullover „Fjäll“ is back in stock"
    html = email.alternatives[0][0]
    assert "(XL)" in html and "cdn.shopify.com/s/files/1/0612/3456/7890/products/fjall.jpg" in html
    sent = Message.objects.get(customer__email="lena@example.com", flow=flow)
    assert {link.split("?")[0] for link in sent.links} == {f"https://{shopify.SHOP}/products/merino-pullover-fjall"}
    request.refresh_from_db()
    assert request.notified_at is not None
    assert Enrollment.objects.filter(flow=flow, customer=lena).count() == 1
    event = Event.objects.get(customer=lena, type="product.back_in_stock")
    assert event.source == "shopify" and event.properties["title"] == "Merino-Pullover „Fjäll“"


def test_woocommerce_product_updated_back_in_stock_tells_a_known_subscriber(client, woo, opt_in, subscribed):
    woo.webhook_secret = "wc-secret"
    woo.save()
    install_prebuilt_flows(woo, ["back_in_stock"], enable=("back_in_stock",))
    sold_out = woocommerce.payload("product_updated")
    sold_out.update(stock_status="outofstock", stock_quantity=0, date_modified_gmt="2026-01-09T09:00:00")
    body = json.dumps(sold_out).encode()
    assert woocommerce.deliver(client, woo, "", "product.updated", "wc-secret", body=body).status_code == 200
    ana = subscribed(woo, "ana@example.com")
    assert _ask(client, woo, "ana@example.com", product="93", variant="").status_code == 202
    assert Submission.objects.get(kind="back_in_stock").status == "already"  # a known subscriber: unchanged
    assert woocommerce.deliver(client, woo, "product_updated", "product.updated", "wc-secret").status_code == 200
    advance_due_enrollments()
    send_due_messages()
    (email,) = mail.outbox
    assert email.to == ["ana@example.com"] and email.subject == "Linen Shirt is back in stock"
    assert {link.split("?")[0] for link in Message.objects.get(customer=ana).links} == {
        "https://shop.example/product/linen-shirt/"}
    assert Event.objects.filter(customer=ana, type="product.back_in_stock").count() == 1


def test_a_forged_signature_on_the_product_webhook_notifies_nobody(client, zoe):
    install_prebuilt_flows(zoe, ["back_in_stock"], enable=("back_in_stock",))
    sold_out = shopify.payload("products_update")
    sold_out["updated_at"] = "2026-02-19T10:00:00+01:00"
    sold_out["variants"][2]["inventory_quantity"] = 0
    _shopify_product(client, json.dumps(sold_out).encode(), "ev-sold-out")
    assert _ask(client, zoe).status_code == 202
    body = shopify.raw("products_update")
    forged = client.post("/webhooks/shopify/", data=body, content_type="application/json",
                         headers=shopify.headers(body, "products/update", "ev-forged", secret="not-the-secret"))
    assert forged.status_code == 401
    advance_due_enrollments()
    send_due_messages()
    assert mail.outbox == [] and StockRequest.objects.get().notified_at is None
