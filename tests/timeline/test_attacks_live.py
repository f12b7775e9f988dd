"""Issue 13's attacks against a running server with DEBUG off, over real HTTP (``requests`` to the live
server), as the internet and a hostile member would send them. Each attack has its detailed test
elsewhere (named in the comments); this is the end-to-end check that none of them works in production
mode and that none of them gets a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import pytest
import requests
import time_machine
from django.core import mail
from django.utils import timezone
from rest_framework.authtoken.models import Token

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import EmailProvider, EmailTemplate, Message, Suppression
from campaigns.sender import send_due_messages
from integrations.shopify.models import InstallState
from segments.models import Segment
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer, Event
from shopconnect.timeline.record import record_events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live(live_server, settings):
    settings.DEBUG = False
    settings.OUTBOUND_ALLOW_HOSTS = ["localhost", "127.0.0.1"]  # this test's own requests to the live server
    settings.SHOPIFY_API_KEY, settings.SHOPIFY_API_SECRET = "key", "app-secret"
    return live_server.url


def token_for(user) -> dict:
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def test_storefront_identity_claims_hijack_nobody(live, make_store):
    """tests/campaigns/test_storefront_claims.py in detail."""
    shop = make_store(platform="woocommerce", url="https://outdoor.example")
    EmailProvider.objects.create(store=shop, kind=EmailProvider.Kind.LOCMEM, from_email="hi@outdoor.example")
    install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    now = timezone.now()
    record_events(shop, [CanonicalEvent(type="consent.changed", occurred_at=now - timedelta(days=1),
                                        dedupe_key="sub", source="woocommerce", email="victim@example.com",
                                        external_id="26", properties={"channel": "email", "state": "subscribed"})])
    events = [{"id": str(uuid.uuid4()), "name": "checkout_started", "timestamp": now.isoformat(),
               "client_id": "attacker", "email": "victim@example.com", "customer_id": "26",
               "data": {"checkout_id": "c1", "line_items": [{"product_id": "1", "title": "WIN at evil.example",
                                                              "image_url": "https://evil.example/x.png"}]}}]
    answer = requests.post(f"{live}/collect/{shop.collect_key}/", data=json.dumps({"events": events}),
                           headers={"Content-Type": "text/plain"}, timeout=10)
    assert answer.status_code == 202
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        advance_due_enrollments()
        send_due_messages()
    victim = Customer.objects.get(store=shop, email="victim@example.com")
    assert not victim.events.filter(source="storefront").exists() and mail.outbox == []


def test_unknown_shops_cannot_be_told_from_connected_ones(live, make_store):
    """tests/integrations/contract.py::test_unknown_store_answers_exactly_like_an_unsigned_request."""
    make_store(platform="shopify", domain="real-shop.myshopify.com")
    body = b'{"id": 1}'
    answers = [requests.post(f"{live}/webhooks/shopify/", data=body, timeout=10, headers={
        "X-Shopify-Shop-Domain": domain, "X-Shopify-Topic": "orders/create", "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": "forged"}) for domain in ("real-shop.myshopify.com", "no-such.myshopify.com")]
    assert {a.status_code for a in answers} == {401} and answers[0].content == answers[1].content
    signed = base64.b64encode(hmac.new(b"app-secret", body, hashlib.sha256).digest()).decode()
    unknown = requests.post(f"{live}/webhooks/shopify/", data=body, timeout=10, headers={
        "X-Shopify-Shop-Domain": "no-such.myshopify.com", "X-Shopify-Topic": "orders/create",
        "Content-Type": "application/json", "X-Shopify-Hmac-Sha256": signed})
    assert unknown.status_code == 401 and unknown.content == answers[0].content


def test_anonymous_install_requests_create_nothing(live):
    """tests/integrations/shopify/test_install.py (store squatting, OAuth binding, install-state cap)."""
    for _ in range(10):
        answer = requests.get(f"{live}/shopify/install", params={"shop": "victim.myshopify.com"},
                              allow_redirects=False, timeout=10)
        assert answer.status_code == 302 and "/admin/login/" in answer.headers["Location"]
    assert not InstallState.objects.exists()


def test_hostile_members_and_inputs_get_4xx_never_500(live, make_store, make_user):
    """tests/campaigns/test_roles.py, tests/timeline/test_tenancy.py, tests/timeline/test_bounded_input.py."""
    mine, theirs = make_store(), make_store()
    their_template = EmailTemplate.objects.create(store=theirs, name="x", subject="x", html="x")
    segment = Segment.objects.create(store=mine, name="All", definition={"version": 1, "type": "attribute",
                                                                        "attribute": "orders_count", "op": "gte",
                                                                        "value": 0})
    marketer = token_for(make_user(mine, role="marketer"))
    viewer = token_for(make_user(mine, role="viewer"))
    api = f"{live}/api/v1"

    def post(path, body, headers, raw=None):
        return requests.post(f"{api}{path}", data=raw if raw is not None else json.dumps(body), timeout=20,
                             headers={**headers, "Content-Type": "application/json"})

    foreign = post("/campaigns/", {"store": mine.pk, "name": "C", "template": their_template.pk,
                                   "include_segments": [segment.pk]}, marketer)
    missing = post("/campaigns/", {"store": mine.pk, "name": "C", "template": 987654,
                                   "include_segments": [segment.pk]}, marketer)
    assert foreign.status_code == missing.status_code == 400
    assert foreign.json()["template"][0].replace(str(their_template.pk), "N") == \
        missing.json()["template"][0].replace("987654", "N")
    assert post("/templates/", {"store": mine.pk, "name": "T", "subject": "s", "html": "h"}, viewer).status_code == 403
    assert post("/segments/", None, marketer, raw=b"[" * 50_000 + b"]" * 50_000).status_code == 400
    assert requests.get(f"{api}/customers/?store=99999999999999999999999", headers=marketer,
                        timeout=10).status_code == 400
    assert post("/events/", {"store": mine.pk, "customer": {"email": "a@example.com"}, "type": "custom.x",
                             "occurred_at": "9999-01-01T00:00:00Z"}, marketer).status_code == 400
    slow = post("/templates/", {"store": mine.pk, "name": "Loop", "subject": "s",
                                "html": "{% for a in 'abcdefghij'|make_list %}" * 7 + "x" + "{% endfor %}" * 7},
                marketer)
    assert slow.status_code == 201  # saving is fine; rendering it is bounded (tests/campaigns/test_render_limits.py)
    assert not Event.objects.filter(store=theirs).exists()


def test_forged_provider_webhooks_change_nobody(live, make_store, settings):
    """tests/campaigns/test_provider_webhook_attacks.py in detail: with no secret configured every tracking
    URL refuses (Mailgun too, not a 500); with one, a post without it is refused and an authenticated post
    that guesses sequential message ids finds nothing."""
    shop = make_store(platform="woocommerce", url="https://outdoor.example")
    record_events(shop, [CanonicalEvent(type="consent.changed", occurred_at=timezone.now(), dedupe_key="sub",
                                        source="api", email="victim@example.com",
                                        properties={"channel": "email", "state": "subscribed"})])
    victim = Customer.objects.get(store=shop, email="victim@example.com")
    message = Message.objects.create(store=shop, customer=victim, idempotency_key="m", state="sent",
                                     next_attempt_at=timezone.now(), provider_message_id="pm-1")

    def complaint(metadata):
        return json.dumps({"RecordType": "SpamComplaint", "ID": 43, "Type": "SpamComplaint", "TypeCode": 512,
                           "MessageID": "pm-guess", "Email": "victim@example.com",
                           "BouncedAt": "2026-03-02T15:05:00Z", "Metadata": metadata})

    settings.ANYMAIL = {}
    for esp in ("postmark", "mailgun", "sendgrid", "amazon_ses", "brevo", "resend", "mailjet", "sparkpost"):
        answer = requests.post(f"{live}/anymail/{esp}/tracking/", data=complaint({"message_id": str(message.pk)}),
                               headers={"Content-Type": "application/json"}, timeout=10)
        assert answer.status_code == 403, esp
    settings.ANYMAIL = {"WEBHOOK_SECRET": ["hook:pass"]}
    forged = requests.post(f"{live}/anymail/postmark/tracking/", data=complaint({"sc_ref": message.reference}),
                           headers={"Content-Type": "application/json"}, timeout=10)
    assert forged.status_code == 400
    assert requests.post(f"{live}/anymail/mailgun/tracking/", data="{}", auth=("hook", "pass"), timeout=10,
                         headers={"Content-Type": "application/json"}).status_code == 403
    for guess in range(message.pk - 2, message.pk + 3):
        assert requests.post(f"{live}/anymail/postmark/tracking/", data=complaint({"message_id": str(guess)}),
                             auth=("hook", "pass"), headers={"Content-Type": "application/json"},
                             timeout=10).status_code == 200
    victim.refresh_from_db()
    assert victim.email_consent == "subscribed" and not Suppression.objects.exists()
    assert not Event.objects.filter(type="email.complained").exists()
