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
    assert b"In doubt (worker stopped during send)" in listing.content
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
