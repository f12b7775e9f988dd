"""Unique discount codes (issue 17): set up in the template editor with fields, created on the platform
(faked at the HTTP level with ``responses``) once per recipient and message, reused by a retried send,
counted in the report when a signed order uses them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import requests
import responses
import time_machine
from django.core import mail

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import EmailProvider, EmailTemplate, Message, UniqueCode
from campaigns.sender import send_due_messages
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.record import record_events

from ..integrations.shopify.helpers import SECRET, SHOP, headers, payload, raw
from . import campaign_factory as f

CHECKOUT_AT = datetime.fromisoformat("2026-02-03T13:58:01+01:00")
GRAPHQL = f"https://{SHOP}/admin/api/2025-10/graphql.json"
WOO_COUPONS = "https://outdoor.example/wp-json/wc/v3/coupons"


class FakeShopifyDiscounts:
    """``discountCodeBasicCreate`` as Shopify answers it; ``lose_answers`` drops the next answers after
    the code was created (a timeout on our side)."""

    def __init__(self):
        self.codes: dict[str, dict] = {}
        self.calls: list[dict] = []
        self.lose_answers = 0

    def __call__(self, request):
        body = json.loads(request.body)
        assert "discountCodeBasicCreate" in body["query"]
        assert request.headers["X-Shopify-Access-Token"] == "shpat_token"
        given = body["variables"]["basicCodeDiscount"]
        self.calls.append(given)
        if given["code"] in self.codes:
            result = {"codeDiscountNode": None, "userErrors": [
                {"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "Code must be unique."}]}
        else:
            self.codes[given["code"]] = given
            result = {"codeDiscountNode": {"id": f"gid://shopify/DiscountCodeNode/{len(self.codes)}"},
                      "userErrors": []}
        if self.lose_answers:
            self.lose_answers -= 1
            raise requests.ConnectionError("read timed out")
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": {"discountCodeBasicCreate": result}})


@pytest.fixture
def shopify(make_store, settings):
    settings.SHOPIFY_API_SECRET = SECRET
    store = make_store(platform="shopify", domain=SHOP, url=f"https://{SHOP}", currency="EUR",
                       access_token="shpat_token")
    EmailProvider.objects.create(store=store, kind=EmailProvider.Kind.LOCMEM, from_email="hi@zoe.example")
    return store


def _signed(client, body: bytes, topic: str, event_id: str):
    response = client.post("/webhooks/shopify/", data=body, content_type="application/json",
                           headers=headers(body, topic, event_id))
    assert response.status_code == 200, response.content


def _tasks(at):
    with time_machine.travel(at, tick=False):
        advance_due_enrollments()
        send_due_messages()


def _editor_sets_a_unique_code(client, user, template: EmailTemplate) -> None:
    """The marketer ticks "give each recipient a unique code" in the template editor and saves."""
    client.force_login(user)
    form = {"store": template.store_id, "name": template.name, "subject": template.subject,
            "html": template.html.replace("</body>", "<p>Your code: {{ discount_code }}</p></body>"),
            "text": "", "discount_code": "", "unique_code": "on", "code_discount_type": "percentage",
            "code_value": "15", "code_valid_days": "7", "code_minimum_order": "50", "code_once_per_customer": "on",
            "code_prefix": "cart"}
    page = client.get(f"/admin/campaigns/emailtemplate/{template.pk}/change/")
    assert b"Give each recipient a unique code" in page.content and b"Minimum order" in page.content
    response = client.post(f"/admin/campaigns/emailtemplate/{template.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.unique_code and template.code_prefix == "CART"


def test_a_cart_email_carries_a_unique_code_a_retry_reuses_it_and_the_report_counts_its_redemption(
        shopify, client, make_user):
    (flow,) = install_prebuilt_flows(shopify, ["abandoned_cart"], enable=("abandoned_cart",))
    reminder = flow.steps.get(position=1).template
    user = make_user(shopify)
    _editor_sets_a_unique_code(client, user, reminder)
    record_events(shopify, [CanonicalEvent(
        type="consent.changed", occurred_at=CHECKOUT_AT - timedelta(days=30), dedupe_key="zoe-subscribed",
        source="api", email="zoe.angstrom@example.com",
        properties={"channel": "email", "state": "subscribed", "source": "test"})])
    with time_machine.travel(CHECKOUT_AT + timedelta(minutes=1), tick=False):
        _signed(client, raw("checkouts_create"), "checkouts/create", "ev-checkout")

    fake = FakeShopifyDiscounts()
    fake.lose_answers = 1  # Shopify creates the code, but its answer never reaches us
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.POST, GRAPHQL, callback=fake)
        _tasks(CHECKOUT_AT + timedelta(hours=1, minutes=5))
        assert mail.outbox == []
        row = UniqueCode.objects.get()
        assert row.state == "pending" and row.code.startswith("CART-") and list(fake.codes) == [row.code]
        message = Message.objects.get(flow=flow)
        assert message.state == "queued" and "unique code not created" in message.note

        _tasks(CHECKOUT_AT + timedelta(hours=1, minutes=15))  # the retry, after its backoff
    message.refresh_from_db()
    assert message.state == "sent"
    assert [c["code"] for c in fake.calls] == [row.code, row.code]  # the same code asked for twice
    assert list(fake.codes) == [row.code]  # and created once
    asked = fake.calls[0]
    assert asked["customerGets"]["value"] == {"percentage": 0.15}
    assert asked["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}}
    assert asked["usageLimit"] == 1 and asked["appliesOncePerCustomer"] is True
    assert asked["context"] == {"customers": {"add": ["gid://shopify/Customer/7408451977439"]}}
    assert asked["endsAt"].startswith("2026-02-10")
    (email,) = mail.outbox
    assert f"Your code: {row.code}" in email.alternatives[0][0] and row.code in email.body
    row.refresh_from_db()
    assert row.state == "created" and row.message.pk == message.pk

    # Zoe orders with the code (typed in lower case), after the reminder: a signed orders/create.
    order = payload("orders_create")
    order.update(created_at="2026-02-03T16:00:00+01:00", processed_at="2026-02-03T16:00:00+01:00",
                 updated_at="2026-02-03T16:00:01+01:00",
                 discount_codes=[{"code": row.code.lower(), "amount": "13.29", "type": "percentage"}])
    with time_machine.travel(datetime.fromisoformat("2026-02-03T16:00:05+01:00"), tick=False):
        _signed(client, json.dumps(order).encode(), "orders/create", "ev-order")
    row.refresh_from_db()
    assert row.redeemed_at is not None and row.order_ref == str(order["id"])
    report = client.get(f"/admin/reports/flows/{flow.pk}/").content.decode()
    assert "Unique discount codes" in report
    section = report[report.index("Unique discount codes"):]
    cells = [c.split("<")[0].strip() for c in section.split("<td")[1:6]]
    assert [c.split(">")[-1] for c in cells] == ["Reminder", "1", "1", "100.00%", "132.90"]


def test_woocommerce_codes_are_one_per_recipient_and_a_refusal_fails_with_the_reason(shop, template):
    shop.consumer_key, shop.consumer_secret = "ck_test", "cs_test"
    shop.save()
    template.html = "<p>Code {{ discount_code }}</p>"
    template.unique_code, template.code_discount_type, template.code_value = True, "fixed_amount", 10
    template.code_minimum_order, template.code_valid_days = None, None
    template.save()
    ana, ben = f.customers(shop, 2)
    campaign = f.campaign(shop, template, [f.segment(shop, [ana, ben])])
    bodies = []

    def coupons(request):
        body = json.loads(request.body)
        bodies.append(body)
        if body["email_restrictions"] == [ben.email]:
            return 401, {}, json.dumps({"code": "woocommerce_rest_cannot_create", "message": "Sorry, you are not "
                                        "allowed to create resources.", "data": {"status": 401}})
        return 201, {}, json.dumps({"id": 700 + len(bodies), "code": body["code"]})

    from campaigns.campaign.launch import launch

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.POST, WOO_COUPONS, callback=coupons)
        launch(campaign.pk)
        send_due_messages()
    assert [m.to for m in mail.outbox] == [[ana.email]]
    code = UniqueCode.objects.get(customer=ana)
    assert f"Code {code.code}" in mail.outbox[0].alternatives[0][0]
    assert code.platform_id == "701" and len(code.code) == 8
    sent_body = next(b for b in bodies if b["email_restrictions"] == [ana.email])
    assert sent_body["discount_type"] == "fixed_cart" and sent_body["amount"] == "10.00"
    assert sent_body["usage_limit"] == 1 and sent_body["usage_limit_per_user"] == 1
    assert "date_expires_gmt" not in sent_body and "minimum_amount" not in sent_body
    refused = Message.objects.get(customer=ben)
    assert refused.state == "failed"
    assert refused.note == ("unique code not created: WooCommerce answered HTTP 401: Sorry, you are not allowed "
                            "to create resources.")
