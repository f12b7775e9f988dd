"""Send-time rules, unsubscribe, tracking, provider feedback and a real SMTP round trip."""

from __future__ import annotations

import base64
import email
import socket
from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core import mail

from campaigns.models import EmailProvider, Message, Suppression
from campaigns.outbox import STALE_AFTER, claim_batch, enqueue
from campaigns.sender import send_due_messages
from campaigns.tokens import click_token
from shopconnect.timeline.models import Customer, Event

from .conftest import T0


def queue(store, customer, template, key="k1", **fields) -> Message:
    enqueue([Message(store=store, customer=customer, template=template, idempotency_key=key, **fields)])
    return Message.objects.get(idempotency_key=key)


def test_enqueue_is_idempotent_and_sender_never_doubles(shop, subscribe, template):
    customer = subscribe(shop, "ana@example.com", first_name="Ana")
    queue(shop, customer, template)
    queue(shop, customer, template)
    assert Message.objects.count() == 1
    assert send_due_messages()["sent"] == 1
    assert send_due_messages().get("sent", 0) == 0
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "Hello Ana"
    html = mail.outbox[0].alternatives[0][0]
    assert 'style="color: red' in html or "color:red" in html.replace(" ", "")  # CSS inlined
    assert "Hi Ana" in mail.outbox[0].body  # text part generated from the HTML


def test_rows_a_dead_worker_never_handed_over_are_sent_once_after_recovery(shop, subscribe, template):
    customer = subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        queue(shop, customer, template)
        claimed = claim_batch(10)  # a worker claims the row, then dies before handing it to the provider
        assert [m.state for m in claimed] == ["sending"]
        assert claim_batch(10) == []  # nobody else can take it
        assert send_due_messages().get("sent", 0) == 0  # the claim is not stale yet: left to its worker
    with time_machine.travel(T0 + STALE_AFTER + timedelta(minutes=1), tick=False):
        result = send_due_messages()
    assert result["requeued"] == 1 and result["sent"] == 1
    assert len(mail.outbox) == 1
    message = Message.objects.get()
    assert message.state == "sent" and message.claim_token == ""
    assert Event.objects.filter(type="email.sent", properties__message_id=str(message.pk)).count() == 1


def test_consentless_customer_is_skipped_with_reason(shop, template):
    from shopconnect.timeline.canonical import CanonicalEvent
    from shopconnect.timeline.record import record_events

    record_events(shop, [CanonicalEvent(type="customer.created", occurred_at=T0, dedupe_key="c1", source="api",
                                        email="nobody@example.com")])
    customer = Customer.objects.get(email="nobody@example.com")
    queue(shop, customer, template)
    send_due_messages()
    message = Message.objects.get()
    assert mail.outbox == [] and message.state == "skipped" and "no marketing consent" in message.skip_reason


def test_smart_sending_skips_second_marketing_email_within_16_hours(shop, subscribe, template):
    customer = subscribe(shop, "ana@example.com")
    queue(shop, customer, template, "a")
    send_due_messages()
    queue(shop, customer, template, "b")
    send_due_messages()
    assert len(mail.outbox) == 1
    assert Message.objects.get(idempotency_key="b").skip_reason.startswith("smart sending")


def test_quiet_hours_defer_in_customer_time_zone(shop, subscribe, template):
    provider = shop.email_provider
    provider.quiet_hours_start, provider.quiet_hours_end = 21, 8
    provider.save()
    customer = subscribe(shop, "ana@example.com", timezone="Europe/Paris")
    with time_machine.travel(T0.replace(hour=22), tick=False):  # 23:00 in Paris
        queue(shop, customer, template)
        send_due_messages()
        message = Message.objects.get()
        assert message.state == "queued" and "quiet hours" in message.note
        assert message.next_attempt_at == T0.replace(hour=7) + timedelta(days=1)  # 08:00 Paris
    with time_machine.travel(T0.replace(hour=7, minute=1) + timedelta(days=1), tick=False):
        send_due_messages()
    assert len(mail.outbox) == 1


def test_template_error_is_never_sent(shop, subscribe, template):
    template.html = "<p>{{ customer.first_name|date:'Y' }}{% if %}</p>"
    template.save()
    customer = subscribe(shop, "ana@example.com")
    queue(shop, customer, template)
    send_due_messages()
    message = Message.objects.get()
    assert mail.outbox == [] and message.state == "failed" and "template error" in message.note


def test_provider_errors_are_retried_with_backoff_then_failed(shop, subscribe, template):
    provider = shop.email_provider
    provider.kind, provider.credentials = EmailProvider.Kind.SMTP, '{"host": "127.0.0.1", "port": 1, "timeout": 1}'
    provider.save()
    customer = subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        queue(shop, customer, template)
    now = T0
    for attempt in range(1, 6):
        with time_machine.travel(now, tick=False):
            send_due_messages()
        message = Message.objects.get()
        now = message.next_attempt_at + timedelta(seconds=1)
        assert message.attempts == attempt
    assert message.state == "failed" and "provider" in message.note


def _one_click(client, url):
    return client.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")


def test_one_click_unsubscribe_stops_marketing_mail_at_once(shop, subscribe, template, client):
    from django.test import Client

    customer = subscribe(shop, "ana@example.com")
    queue(shop, customer, template, "a")
    send_due_messages()
    url = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>").replace("https://shopconnect.test", "")
    assert client.get(url).status_code == 200  # a scanner following the link changes nothing
    customer.refresh_from_db()
    assert customer.email_consent == "subscribed"
    response = _one_click(Client(enforce_csrf_checks=True), url)  # no cookie, no CSRF token
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email_consent == "unsubscribed"
    change = Event.objects.get(customer=customer, type="consent.changed", properties__source="unsubscribe_link")
    assert change.properties["state"] == "unsubscribed" and change.properties["channel"] == "email"
    assert Event.objects.filter(customer=customer, type="email.unsubscribed").exists()
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        queue(shop, customer, template, "b")
        send_due_messages()
    assert len(mail.outbox) == 1
    assert Message.objects.get(idempotency_key="b").state == "skipped"


def test_preferences_fewer_emails(shop, subscribe, template, client):
    customer = subscribe(shop, "ana@example.com")
    queue(shop, customer, template, "a")
    send_due_messages()
    url = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>").replace("https://shopconnect.test", "")
    assert b"at most one email a week" in client.post(url, {"action": "fewer"}).content
    customer.refresh_from_db()
    assert customer.email_consent == "subscribed"
    assert Event.objects.filter(customer=customer, type="consent.changed", properties__source="preferences").exists()
    assert client.get("/u/forged-token/").status_code == 404
    page = client.post(url, {"action": "unsubscribe"})  # the page's own button
    assert b"You are unsubscribed" in page.content
    customer.refresh_from_db()
    assert customer.email_consent == "unsubscribed"


def test_click_redirects_only_to_recorded_links_and_open_is_recorded(shop, subscribe, template, client):
    customer = subscribe(shop, "ana@example.com")
    queue(shop, customer, template)
    send_due_messages()
    message = Message.objects.get()
    html = mail.outbox[0].alternatives[0][0]
    click_path = html.split('href="https://shopconnect.test')[1].split('"')[0]
    response = client.get(click_path)
    assert response.status_code == 302 and response["Location"] == message.links[0]
    assert response["Location"].startswith("https://outdoor.example/sale?") and "sc_id=" in response["Location"]
    assert Event.objects.get(type="email.clicked").properties["message_id"] == str(message.pk)
    assert client.get(f"/t/c/{click_token(message.pk, 7)}").status_code == 404  # not a recorded link
    assert client.get("/t/c/https:%2F%2Fevil.example").status_code == 404
    pixel = html.split('src="https://shopconnect.test')[1].split('"')[0]
    chrome = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120 Safari/537.36"
    response = client.get(pixel, HTTP_USER_AGENT=chrome)
    assert response["Content-Type"] == "image/gif"
    opened = Event.objects.get(type="email.opened")
    assert opened.properties["message_id"] == str(message.pk) and "machine" in opened.properties


@pytest.fixture
def anymail_secret(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:pass"}
    return "Basic " + base64.b64encode(b"hook:pass").decode()


def test_anymail_hard_bounce_suppresses(shop, subscribe, template, client, anymail_secret):
    customer = subscribe(shop, "ana@example.com")
    queue(shop, customer, template, "a")
    send_due_messages()
    message = Message.objects.get()
    payload = {"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "TypeCode": 1, "MessageID": "pm-1",
               "Email": "ana@example.com", "BouncedAt": "2026-03-02T15:05:00Z", "Description": "No such user",
               "Details": "550 5.1.1", "Metadata": {"sc_ref": message.reference}}
    response = client.post("/anymail/postmark/tracking/", payload, content_type="application/json",
                           HTTP_AUTHORIZATION=anymail_secret)
    assert response.status_code == 200
    bounced = Event.objects.get(customer=customer, type="email.bounced")
    assert bounced.properties["bounce_type"] == "hard" and bounced.properties["message_id"] == str(message.pk)
    assert Suppression.objects.get(store=shop, email="ana@example.com").reason == "hard_bounce"
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        queue(shop, customer, template, "b")
        send_due_messages()
    assert Message.objects.get(idempotency_key="b").skip_reason == "suppressed (hard_bounce)"


def test_anymail_complaint_suppresses_and_unsubscribes(shop, subscribe, template, client, anymail_secret):
    customer = subscribe(shop, "ana@example.com")
    queue(shop, customer, template)
    send_due_messages()
    message = Message.objects.get()
    payload = {"RecordType": "SpamComplaint", "ID": 43, "Type": "SpamComplaint", "TypeCode": 512,
               "MessageID": message.provider_message_id, "Email": "ana@example.com",
               "BouncedAt": "2026-03-02T15:05:00Z", "Metadata": {}}
    assert client.post("/anymail/postmark/tracking/", payload, content_type="application/json",
                       HTTP_AUTHORIZATION=anymail_secret).status_code == 200
    customer.refresh_from_db()
    assert customer.email_consent == "unsubscribed"
    assert Suppression.objects.get(email="ana@example.com").reason == "complaint"
    assert Event.objects.filter(type="consent.changed", properties__source="complaint").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Collect:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        self.messages.append(envelope.content)
        return "250 OK"


def test_real_smtp_round_trip(shop, subscribe, template, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]  # the operator's relay on loopback (shopconnect.outbound)
    handler = _Collect()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        provider = shop.email_provider
        provider.kind, provider.credentials = EmailProvider.Kind.SMTP, f'{{"host": "127.0.0.1", "port": {port}}}'
        provider.save()
        customer = subscribe(shop, "ana@example.com", first_name="Ana")
        queue(shop, customer, template)
        assert send_due_messages()["sent"] == 1
    finally:
        controller.stop()
    (raw,) = handler.messages
    parsed = email.message_from_bytes(raw)
    assert parsed["Subject"] == "Hello Ana" and parsed["To"] == "ana@example.com"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in parsed.walk() if not p.is_multipart()}
    assert "Hi Ana" in parts["text/plain"] and "/t/o/" in parts["text/html"]
    assert Message.objects.get().provider_message_id.strip("<>") in parsed["Message-ID"]


def test_sender_query_count_does_not_grow_with_the_batch(shop, subscribe, template):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    shop.email_provider.smart_sending_hours = 0
    shop.email_provider.save()

    def run(n: int, prefix: str) -> int:
        for i in range(n):
            queue(shop, subscribe(shop, f"{prefix}{i}@example.com"), template, f"{prefix}{i}")
        with CaptureQueriesContext(connection) as queries:
            assert send_due_messages()["sent"] == n
        return len(queries)

    # Each sent row costs the same few statements (its hand-over commits the previous row's outcome):
    # the cost per message is constant, whatever the batch size.
    two, eight, fourteen = run(2, "a"), run(8, "b"), run(14, "c")
    # (an outcome and a hand-over mark; the test runs inside a transaction, so each commit is a savepoint pair)
    assert eight - two == fourteen - eight <= 6 * 4
