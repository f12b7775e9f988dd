"""Attacks on the provider tracking webhooks (issue 13 item 1), as real HTTP posts through the test client:
forged or unauthenticated posts, no secret configured, guessed sequential ids, a stolen reference used for
another recipient, Mailgun without a signing key, an SES post from a foreign SNS topic."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import AttributedOrder, Message, Suppression
from campaigns.outbox import enqueue
from campaigns.sender import send_due_messages
from campaigns.webhooks import TRACKING_VIEWS, tracking_webhooks_configured
from shopconnect.timeline.models import Event

from .reporting import order

SECRET = "hook:pass"
GOOD_AUTH = "Basic " + base64.b64encode(SECRET.encode()).decode()
WRONG_AUTH = "Basic " + base64.b64encode(b"hook:guess").decode()


@pytest.fixture
def sent(shop, subscribe, template):
    """Ana got one email; returns (customer, message)."""
    customer = subscribe(shop, "ana@example.com")
    enqueue([Message(store=shop, customer=customer, template=template, idempotency_key="k")])
    assert send_due_messages()["sent"] == 1
    return customer, Message.objects.get()


def complaint(metadata: dict, email: str = "ana@example.com", message_id: str = "pm-unknown") -> dict:
    """Postmark's spam complaint, as anymail's tests have it (tests/test_postmark_webhooks.py)."""
    return {"RecordType": "SpamComplaint", "ID": 43, "Type": "SpamComplaint", "TypeCode": 512,
            "MessageID": message_id, "Email": email, "BouncedAt": "2026-03-02T15:05:00Z", "Metadata": metadata}


def post(client, url: str, payload, **headers):
    return client.post(url, json.dumps(payload), content_type="application/json", **headers)


def assert_nothing_changed(customer):
    customer.refresh_from_db()
    assert customer.email_consent == "subscribed"
    assert not Suppression.objects.exists()
    assert not Event.objects.filter(type__in=["email.complained", "email.bounced", "email.clicked"]).exists()


@pytest.mark.parametrize("auth", [None, WRONG_AUTH], ids=["no-credential", "wrong-credential"])
def test_forged_complaint_without_the_webhook_secret_is_refused(settings, client, sent, auth):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    customer, message = sent
    headers = {"HTTP_AUTHORIZATION": auth} if auth else {}
    response = post(client, "/anymail/postmark/tracking/", complaint({"sc_ref": message.reference}), **headers)
    assert response.status_code == 400
    assert_nothing_changed(customer)


@pytest.mark.parametrize("slug", sorted(TRACKING_VIEWS))
def test_with_no_secret_configured_every_tracking_webhook_is_refused(settings, client, sent, slug):
    settings.ANYMAIL = {}
    customer, message = sent
    response = post(client, f"/anymail/{slug}/tracking/", complaint({"sc_ref": message.reference}),
                    HTTP_AUTHORIZATION=GOOD_AUTH)
    assert response.status_code == 403
    assert "no webhook secret" in response.content.decode()
    assert_nothing_changed(customer)


def postmark_event(kind: str, metadata: dict) -> dict:
    """Postmark's bounce, spam complaint, click and unsubscribe (subscription change) events."""
    if kind == "complaint":
        return complaint(metadata)
    common = {"MessageID": "pm-unknown", "Metadata": metadata}
    if kind == "bounce":
        return {**common, "RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "TypeCode": 1,
                "Email": "ana@example.com", "BouncedAt": "2026-03-02T15:05:00Z", "Description": "No such user"}
    if kind == "click":
        return {**common, "RecordType": "Click", "Recipient": "ana@example.com", "ReceivedAt": "2026-03-02T15:05:00Z",
                "OriginalLink": "https://outdoor.example/sale", "ClickLocation": "HTML",
                "UserAgent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120"}
    return {**common, "RecordType": "SubscriptionChange", "Recipient": "ana@example.com", "SuppressSending": True,
            "SuppressionReason": "ManualSuppression", "ChangedAt": "2026-03-02T15:05:00Z"}


@pytest.mark.parametrize("kind", ["complaint", "bounce", "click", "unsubscribe"])
def test_a_guessed_sequential_message_id_has_no_effect(settings, client, sent, kind):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    customer, message = sent
    for guess in range(message.pk - 2, message.pk + 3):  # what the old code looked messages up by
        assert post(client, "/anymail/postmark/tracking/", postmark_event(kind, {"message_id": str(guess)}),
                    HTTP_AUTHORIZATION=GOOD_AUTH).status_code == 200
    assert_nothing_changed(customer)
    assert not Event.objects.filter(type__in=["email.unsubscribed", "email.clicked"]).exists()


def test_a_right_reference_with_another_recipient_has_no_effect(settings, client, sent, shop, subscribe):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    customer, message = sent
    bob = subscribe(shop, "bob@example.com")
    assert post(client, "/anymail/postmark/tracking/", complaint({"sc_ref": message.reference}, "bob@example.com"),
                HTTP_AUTHORIZATION=GOOD_AUTH).status_code == 200
    assert post(client, "/anymail/postmark/tracking/",
                complaint({}, "bob@example.com", message_id=message.provider_message_id),
                HTTP_AUTHORIZATION=GOOD_AUTH).status_code == 200
    assert_nothing_changed(customer)
    bob.refresh_from_db()
    assert bob.email_consent == "subscribed"


@pytest.mark.parametrize("kind, effect", [("complaint", "email.complained"), ("bounce", "email.bounced"),
                                          ("click", "email.clicked"), ("unsubscribe", "email.unsubscribed")])
def test_the_genuine_signed_event_still_counts(settings, client, sent, kind, effect):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    customer, message = sent
    assert post(client, "/anymail/postmark/tracking/", postmark_event(kind, {"sc_ref": message.reference}),
                HTTP_AUTHORIZATION=GOOD_AUTH).status_code == 200
    assert Event.objects.get(type=effect).properties["message_id"] == str(message.pk)
    customer.refresh_from_db()
    if kind in ("complaint", "unsubscribe"):
        assert customer.email_consent == "unsubscribed"
    if kind in ("complaint", "bounce"):
        assert Suppression.objects.get().reason == {"complaint": "complaint", "bounce": "hard_bounce"}[kind]


def mailgun_event(message, key: str, signature: str | None = None) -> dict:
    token, timestamp = "06c96bafc3f42a66b9edd546347a2fe18dc23461fe80dc52f0", "1534182006"
    good = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"signature": {"token": token, "timestamp": timestamp, "signature": signature or good},
            "event-data": {"event": "complained", "timestamp": 1534182006.0, "id": "ncV2XwymRUKbPek_MIM-Gw",
                           "recipient": "ana@example.com", "user-variables": {"sc_ref": message.reference},
                           "message": {"headers": {"message-id": "20180813174006.1.C5D2C2D1@example.com"}}}}


def test_mailgun_without_a_signing_key_is_a_clear_refusal_not_a_500(settings, client, sent):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}  # basic auth alone does not do for Mailgun (anymail needs the key)
    customer, message = sent
    response = post(client, "/anymail/mailgun/tracking/", mailgun_event(message, "any"), HTTP_AUTHORIZATION=GOOD_AUTH)
    assert response.status_code == 403 and "Mailgun" in response.content.decode()
    assert_nothing_changed(customer)


def test_mailgun_post_with_a_forged_signature_is_refused(settings, client, sent):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "key-real"}
    customer, message = sent
    assert post(client, "/anymail/mailgun/tracking/", mailgun_event(message, "key-guess")).status_code == 400
    assert post(client, "/anymail/mailgun/tracking/", mailgun_event(message, "key-real", "0" * 64)).status_code == 400
    assert_nothing_changed(customer)
    assert post(client, "/anymail/mailgun/tracking/", mailgun_event(message, "key-real")).status_code == 200
    customer.refresh_from_db()
    assert customer.email_consent == "unsubscribed"


def test_ses_notification_from_another_sns_topic_is_refused(settings, client, sent):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    settings.AMAZON_SES_TOPIC_ARNS = ["arn:aws:sns:us-east-1:111111111111:shopconnect-ses"]
    customer, message = sent
    body = {"Type": "SubscriptionConfirmation", "MessageId": "m-1", "Token": "t",
            "TopicArn": "arn:aws:sns:us-east-1:999999999999:attacker",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"}
    response = post(client, "/anymail/amazon_ses/tracking/", body, HTTP_AUTHORIZATION=GOOD_AUTH,
                    HTTP_X_AMZ_SNS_MESSAGE_TYPE="SubscriptionConfirmation", HTTP_X_AMZ_SNS_MESSAGE_ID="m-1")
    assert response.status_code == 403
    assert_nothing_changed(customer)


def test_a_production_start_without_any_webhook_secret_warns(settings):
    settings.DEBUG, settings.ANYMAIL = False, {}
    (warning,) = tracking_webhooks_configured(None)
    assert warning.id == "campaigns.W001" and "refused" in warning.msg
    settings.ANYMAIL = {"WEBHOOK_SECRET": [SECRET]}
    assert tracking_webhooks_configured(None) == []


def test_a_genuine_provider_click_still_earns_the_order_and_a_forged_one_does_not(settings, client, sent, shop,
                                                                                  subscribe):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}
    customer, message = sent
    bob = subscribe(shop, "bob@example.com")
    now = timezone.now()
    click = {**postmark_event("click", {"sc_ref": message.reference}), "ReceivedAt": now.isoformat()}
    assert post(client, "/anymail/postmark/tracking/", click, HTTP_AUTHORIZATION=GOOD_AUTH).status_code == 200
    forged = {**click, "Recipient": "bob@example.com", "ReceivedAt": (now + timedelta(minutes=1)).isoformat()}
    assert post(client, "/anymail/postmark/tracking/", forged, HTTP_AUTHORIZATION=GOOD_AUTH).status_code == 200
    order(shop, customer, "1001", "80.00", now + timedelta(hours=1))
    order(shop, bob, "1002", "50.00", now + timedelta(hours=1))
    credited = AttributedOrder.objects.get(order_id="1001")
    assert credited.message_id == message.pk and credited.touch == "click"
    assert not AttributedOrder.objects.filter(order_id="1002").exists()


@pytest.mark.parametrize("slug", ["amazon_ses", "mailgun", "postmark", "sendgrid"])
def test_deeply_nested_json_is_refused_not_a_500(settings, client, sent, slug):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": "key-real"}
    settings.AMAZON_SES_TOPIC_ARNS = ["arn:aws:sns:us-east-1:111111111111:shopconnect-ses"]
    body = "[" * 100_000 + "]" * 100_000
    response = client.post(f"/anymail/{slug}/tracking/", body, content_type="application/json",
                           HTTP_AUTHORIZATION=GOOD_AUTH, HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification")
    assert response.status_code == 400 and "nested" in response.content.decode()
