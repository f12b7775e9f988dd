"""Anymail providers over HTTP (faked with responses), soft bounces, rate limit, machine opens,
recommendations and template context."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import responses
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from campaigns.context import build_context
from campaigns.models import EmailProvider, EmailTemplate, Message, Suppression
from campaigns.outbox import enqueue
from campaigns.recommendations import recommend
from campaigns.rendering import TemplateProblem, render_email
from campaigns.sender import send_due_messages
from campaigns.tracking import is_machine_open
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Event
from shopconnect.timeline.record import record_events

from .conftest import T0


def queue(store, customer, template, key):
    enqueue([Message(store=store, customer=customer, template=template, idempotency_key=key)])


@responses.activate
def test_postmark_backend_sends_with_decrypted_token_and_records_provider_id(shop, subscribe, template):
    provider = shop.email_provider
    provider.kind, provider.credentials = EmailProvider.Kind.POSTMARK, '{"server_token": "pm-token"}'
    provider.save()
    responses.post("https://api.postmarkapp.com/email", json={
        "To": "ana@example.com", "SubmittedAt": "2026-03-02T15:00:00Z", "MessageID": "pm-abc-123",
        "ErrorCode": 0, "Message": "OK"})
    customer = subscribe(shop, "ana@example.com", first_name="Ana")
    queue(shop, customer, template, "a")
    assert send_due_messages()["sent"] == 1
    request = responses.calls[0].request
    assert request.headers["X-Postmark-Server-Token"] == "pm-token"
    body = json.loads(request.body)
    headers = {h["Name"]: h["Value"] for h in body["Headers"]}
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["Metadata"] == {"sc_ref": Message.objects.get().reference}  # never the sequential id
    assert Message.objects.get().provider_message_id == "pm-abc-123"


@responses.activate
def test_provider_http_error_is_retried(shop, subscribe, template):
    provider = shop.email_provider
    provider.kind, provider.credentials = EmailProvider.Kind.POSTMARK, '{"server_token": "pm-token"}'
    provider.save()
    responses.post("https://api.postmarkapp.com/email", status=500, json={"ErrorCode": 500, "Message": "down"})
    customer = subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        queue(shop, customer, template, "a")
        assert send_due_messages()["retried"] == 1
    message = Message.objects.get()
    assert message.state == "queued" and message.attempts == 1 and message.next_attempt_at > T0


def test_rate_limit_defers_the_rest(shop, subscribe, template):
    provider = shop.email_provider
    provider.rate_limit_per_minute, provider.smart_sending_hours = 2, 0
    provider.save()
    for n in range(3):
        queue(shop, subscribe(shop, f"c{n}@example.com"), template, f"k{n}")
    counts = send_due_messages()
    assert counts["sent"] == 2 and counts["rate_limited"] == 1 and len(mail.outbox) == 2


@pytest.fixture
def postmark(settings, client):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:pass"}
    auth = "Basic " + base64.b64encode(b"hook:pass").decode()

    def post(payload):
        return client.post("/anymail/postmark/tracking/", payload, content_type="application/json",
                           HTTP_AUTHORIZATION=auth)

    return post


def test_soft_bounces_suppress_after_more_than_seven_in_a_row(shop, subscribe, template, postmark):
    customer = subscribe(shop, "ana@example.com")
    queue(shop, customer, template, "a")
    send_due_messages()
    message = Message.objects.get()

    def soft(n):
        return {"RecordType": "Bounce", "ID": n, "Type": "SoftBounce", "TypeCode": 4096, "MessageID": "x",
                "Email": "ana@example.com", "BouncedAt": f"2026-03-02T15:{n:02d}:00Z", "Description": "Mailbox full",
                "Metadata": {"sc_ref": message.reference}}

    for n in range(7):
        assert postmark(soft(n)).status_code == 200
    assert not Suppression.objects.exists()
    postmark({"RecordType": "Delivery", "ID": 99, "MessageID": "x", "Recipient": "ana@example.com",
              "DeliveredAt": "2026-03-02T16:00:00Z", "Metadata": {"sc_ref": message.reference}})
    assert Event.objects.filter(type="email.delivered", customer=customer).exists()
    for n in range(10, 17):
        postmark(soft(n))
    assert not Suppression.objects.exists()  # the delivery reset the streak
    postmark(soft(17))
    assert Suppression.objects.get().reason == "soft_bounces"
    assert Event.objects.filter(type="email.bounced", properties__bounce_type="soft").count() == 15


def test_machine_open_heuristic(shop, subscribe):
    message = Message(sent_at=T0)
    apple = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    person = apple + " Version/17 Safari/605"
    assert is_machine_open(apple, message, T0 + timedelta(hours=1))
    assert is_machine_open("Mozilla/5.0 (via ggpht.com GoogleImageProxy)", message, T0 + timedelta(hours=1))
    assert is_machine_open(person, message, T0 + timedelta(seconds=2))  # within seconds of sending
    assert not is_machine_open(person, message, T0 + timedelta(hours=1))


def test_recommendations_frequently_bought_together_then_best_sellers(shop, subscribe):
    from shopconnect.timeline.canonical import ProductRecord
    from shopconnect.timeline.catalog import upsert_products

    upsert_products(shop, [ProductRecord(external_id="p3", title="Tent", price=Decimal("300"), category="Camping"),
                           ProductRecord(external_id="p4", title="Stove", price=Decimal("50"), category="Camping")])
    events = []
    for n, items in enumerate([["p1", "p2"], ["p1", "p2"], ["p1", "p4"], ["p3"], ["p3"], ["p3"]]):
        events.append(CanonicalEvent(type="order.placed", occurred_at=T0, dedupe_key=f"o{n}", source="api",
                                     email=f"buyer{n}@example.com", order_ref=f"o{n}", amount=Decimal("10"),
                                     properties={"line_items": [{"product_id": p} for p in items]}))
    record_events(shop, events)
    ana = subscribe(shop, "ana@example.com")
    assert [p.external_id for p in recommend(shop, ana, ["p1"], limit=2)] == ["p2", "p4"]
    record_events(shop, [CanonicalEvent(type="product.viewed", occurred_at=T0, dedupe_key="v1", source="api",
                                        customer_id=ana.pk, properties={"product_id": "p4", "category": "Camping"})])
    assert [p.external_id for p in recommend(shop, ana, [], limit=1)] == ["p3"]  # best seller in browsed category


def test_template_autoescapes_and_text_part_is_generated(shop, subscribe):
    ana = subscribe(shop, "ana@example.com", first_name="<script>x</script>")
    rendered = render_email("Hi {{ customer.first_name }}", "<p>Hi {{ customer.first_name }}</p>", "",
                            build_context(shop, ana))
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert rendered.subject == "Hi <script>x</script>" and "Hi <script>x</script>" in rendered.text
    with pytest.raises(TemplateProblem):
        render_email("x", "{% include '/etc/passwd' %}", "", build_context(shop, ana))
    with pytest.raises(ValidationError, match="'load'"):  # no tag libraries at all (campaigns.template_library)
        EmailTemplate(store=shop, name="x", subject="{% load static %}", html="x").clean()
