"""Provider faults: messages in doubt (asked again with our idempotency key where the provider takes one,
else as the store's setting says, visible and retryable in the admin), and failures contained to the
store whose provider fails. Providers are faked at the HTTP level (responses)."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import timedelta

import pytest
import requests
import responses
import time_machine
from django.core import mail
from urllib3.exceptions import NewConnectionError

from campaigns.models import EmailProvider, EmailTemplate, Message
from campaigns.outbox import enqueue
from campaigns.sender import send_due_messages

from .conftest import T0

RESEND = "https://api.resend.com/emails"
BREVO = "https://api.brevo.com/v3/smtp/email"
POSTMARK = "https://api.postmarkapp.com/email"


def use(store, kind, credentials, **fields):
    provider = store.email_provider
    provider.kind, provider.credentials, provider.smart_sending_hours = kind, credentials, 0
    for name, value in fields.items():
        setattr(provider, name, value)
    provider.save()
    return provider


def queue(store, subscribe, template, n, prefix="m"):
    enqueue([Message(store=store, customer=subscribe(store, f"{prefix}{i}@example.com"), template=template,
                     idempotency_key=f"{store.pk}:{prefix}{i}") for i in range(n)])


def later(minutes=10):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


@responses.activate
def test_resend_in_doubt_is_asked_again_with_the_same_idempotency_key(shop, subscribe, template):
    use(shop, EmailProvider.Kind.RESEND, '{"api_key": "re_test"}')
    responses.post(RESEND, body=requests.ReadTimeout("read timed out"))
    responses.post(RESEND, json={"id": "re-123"})
    with time_machine.travel(T0, tick=False):
        queue(shop, subscribe, template, 1)
        assert send_due_messages()["retried"] == 1
    message = Message.objects.get()
    assert message.state == "queued" and "idempotency key" in message.note
    with later():
        assert send_due_messages()["sent"] == 1
    first, second = (call.request for call in responses.calls)
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    uuid.UUID(first.headers["Idempotency-Key"])
    message.refresh_from_db()
    assert message.provider_message_id == "re-123"
    sent_headers = json.loads(second.body)["headers"]
    assert sent_headers["Message-ID"].startswith(f"<sc{message.pk}.")


@responses.activate
def test_brevo_gets_our_key_in_its_idempotency_header(shop, subscribe, template):
    use(shop, EmailProvider.Kind.BREVO, '{"api_key": "xkeysib"}')
    responses.post(BREVO, body=requests.ReadTimeout("read timed out"))
    responses.post(BREVO, status=201, json={"messageId": "<brevo-1@smtp-relay>"})
    with time_machine.travel(T0, tick=False):
        queue(shop, subscribe, template, 1)
        send_due_messages()
    with later():
        assert send_due_messages()["sent"] == 1
    keys = [json.loads(call.request.body)["headers"]["idempotencyKey"] for call in responses.calls]
    assert keys[0] == keys[1] and uuid.UUID(keys[0])


@responses.activate
def test_a_provider_without_a_key_leaves_marketing_mail_in_doubt_and_the_admin_sends_it_again(
        shop, subscribe, template, make_user, client):
    use(shop, EmailProvider.Kind.POSTMARK, '{"server_token": "pm"}')
    responses.post(POSTMARK, body=requests.ReadTimeout("read timed out"))
    responses.post(POSTMARK, json={"To": "m0@example.com", "MessageID": "pm-1", "ErrorCode": 0, "Message": "OK"})
    with time_machine.travel(T0, tick=False):
        queue(shop, subscribe, template, 1)
        assert send_due_messages()["in_doubt"] == 1
    with later():
        assert send_due_messages().get("sent", 0) == 0  # not resent by itself: the customer may have it
    message = Message.objects.get()
    assert message.state == "unknown" and message.note.startswith("unknown: no answer from the provider")
    client.force_login(make_user(shop))
    listing = client.get("/admin/campaigns/message/?state__exact=unknown")
    assert listing.status_code == 200 and b"m0@example.com" in listing.content
    assert b"unknown: no answer from the provider" in listing.content
    picked = {"action": "send_again", "_selected_action": [message.pk]}
    page = client.post("/admin/campaigns/message/", picked)
    assert b"1 in doubt" in page.content and b"twice" in page.content
    assert Message.objects.get().state == "unknown"  # nothing happens before the confirmation
    with later(15):
        done = client.post("/admin/campaigns/message/", {**picked, "confirm": "yes"}, follow=True)
    assert b"1 message queued to be sent again" in done.content
    with later(20):
        assert send_due_messages()["sent"] == 1
    assert Message.objects.get().provider_message_id == "pm-1"


@responses.activate
def test_the_store_setting_can_resend_messages_in_doubt(shop, subscribe, template):
    use(shop, EmailProvider.Kind.POSTMARK, '{"server_token": "pm"}', in_doubt=EmailProvider.InDoubt.RESEND)
    responses.post(POSTMARK, body=requests.ReadTimeout("read timed out"))
    with time_machine.travel(T0, tick=False):
        queue(shop, subscribe, template, 1)
        assert send_due_messages()["retried"] == 1
    assert "store's setting" in Message.objects.get().note


def test_a_viewer_cannot_send_again(shop, subscribe, template, make_user, client):
    queue(shop, subscribe, template, 1)
    Message.objects.update(state="unknown")
    client.force_login(make_user(shop, role="viewer"))
    client.post("/admin/campaigns/message/", {"action": "send_again", "confirm": "yes",
                                               "_selected_action": [Message.objects.get().pk]})
    assert Message.objects.get().state == "unknown"


def postmark_ok(request):
    to = json.loads(request.body)["To"]
    return 200, {}, json.dumps({"To": to, "MessageID": f"pm-{to}", "ErrorCode": 0, "Message": "OK"})


# --- failures contained to the store whose provider fails ---------------------------------------------

@pytest.fixture
def two_stores(shop, make_store, subscribe):
    """``shop`` (its provider set by each test) and a healthy second store on the in-memory backend."""
    other = make_store(platform="woocommerce", url="https://other.example", webhook_secret="s2")
    EmailProvider.objects.create(store=other, kind=EmailProvider.Kind.LOCMEM, from_email="hi@other.example",
                                 smart_sending_hours=0)
    other_template = EmailTemplate.objects.create(store=other, name="T", subject="Other news", html="<p>Hi</p>")

    def run(n_broken=3, n_other=3):
        with time_machine.travel(T0, tick=False):
            queue(shop, subscribe, Template.of(shop), n_broken, "b")
            queue(other, subscribe, other_template, n_other, "o")
            return send_due_messages()
    return other, run


class Template:
    @staticmethod
    def of(store):
        return EmailTemplate.objects.filter(store=store).first()


def states(store):
    return sorted(Message.objects.filter(store=store).values_list("state", flat=True))


def other_sent(other):
    return states(other) == ["sent"] * 3 and {m.to[0] for m in mail.outbox} == {f"o{i}@example.com" for i in range(3)}


def test_a_missing_provider_library_fails_only_that_stores_mail_and_alerts_its_owner(
        shop, template, two_stores, monkeypatch, make_user, client):
    other, run = two_stores
    use(shop, EmailProvider.Kind.AMAZON_SES, '{"access_key_id": "a", "secret_access_key": "b", "region_name": "x"}')
    monkeypatch.delitem(sys.modules, "anymail.backends.amazon_ses", raising=False)
    monkeypatch.setitem(sys.modules, "boto3", None)  # boto3 not installed: anymail says AnymailImproperlyInstalled
    result = run()
    assert states(shop) == ["failed"] * 3 and other_sent(other)
    assert result["failed"] == 3 and result["sent"] == 3
    note = Message.objects.filter(store=shop).first().note
    assert "library is not installed" in note
    provider = EmailProvider.objects.get(store=shop)
    assert "library is not installed" in provider.problem
    client.force_login(make_user(shop, role="owner"))
    page = client.get(f"/admin/campaigns/emailprovider/{provider.pk}/change/")
    assert b"cannot send" in page.content and b"library is not installed" in page.content
    start = client.get("/admin/")
    assert b"library is not installed" in start.content
    assert not EmailProvider.objects.get(store=other).problem


@responses.activate
def test_credentials_refused_fail_the_stores_mail_with_the_reason_and_never_echo_the_body(
        shop, template, two_stores):
    other, run = two_stores
    use(shop, EmailProvider.Kind.POSTMARK, '{"server_token": "bad"}')
    responses.post(POSTMARK, status=401, json={"ErrorCode": 10, "Message": "Bad token pm-secret-internal"})
    run()
    assert states(shop) == ["failed"] * 3 and other_sent(other)
    assert len(responses.calls) == 1  # the store's other rows are not tried against a provider that refuses
    for note in Message.objects.filter(store=shop).values_list("note", flat=True):
        assert "refused the credentials (HTTP 401 Unauthorized)" in note and "pm-secret" not in note
    assert "HTTP 401" in EmailProvider.objects.get(store=shop).problem


@responses.activate
@pytest.mark.parametrize("failure", [
    {"status": 503, "json": {"ErrorCode": 500}},
    {"status": 429, "json": {"ErrorCode": 429}},
    {"body": requests.ConnectTimeout("connect timed out")},
    {"body": requests.ConnectionError(NewConnectionError(None, "Connection refused"))},
], ids=["5xx", "429", "connect-timeout", "refused"])
def test_a_provider_that_is_down_is_retried_with_backoff_while_other_stores_send(
        shop, template, two_stores, failure):
    other, run = two_stores
    use(shop, EmailProvider.Kind.POSTMARK, '{"server_token": "pm"}')
    responses.post(POSTMARK, **failure)
    result = run()
    assert states(shop) == ["queued"] * 3 and other_sent(other)
    assert result["retried"] == 3 and len(responses.calls) == 1
    rows = Message.objects.filter(store=shop)
    assert all(m.next_attempt_at > T0 for m in rows)
    assert EmailProvider.objects.get(store=shop).problem
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        assert send_due_messages().get("sent", 0) == 0  # backoff: not hammered again at once
    responses.reset()  # the provider is back
    responses.add_callback(responses.POST, POSTMARK, callback=postmark_ok)
    with later(60):
        assert send_due_messages()["sent"] == 3
    assert not EmailProvider.objects.get(store=shop).problem  # the alert goes once a send goes through


@responses.activate
def test_a_message_the_provider_refuses_fails_alone_with_the_reason(shop, template, two_stores):
    other, run = two_stores
    use(shop, EmailProvider.Kind.POSTMARK, '{"server_token": "pm"}')
    responses.post(POSTMARK, status=422, json={"ErrorCode": 300, "Message": "Invalid email request"})
    responses.add_callback(responses.POST, POSTMARK, callback=postmark_ok)
    run()
    assert states(shop) == ["failed", "sent", "sent"] and other_sent(other)
    failed = Message.objects.get(store=shop, state="failed")
    assert "refused the message (HTTP 422 Unprocessable Entity)" in failed.note
    assert not EmailProvider.objects.get(store=shop).problem  # one refused message is not an outage
