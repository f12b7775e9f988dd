"""End to end from signed webhooks: checkout -> 1 h later one email -> order -> flow exits."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core import mail

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import Enrollment, FlowDecision, Message
from campaigns.sender import send_due_messages
from shopconnect.timeline.models import Event

from .conftest import T0, checkout_payload, order_payload


def _html(message) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")


def test_checkout_then_one_email_after_an_hour_then_order_exits(shop, post_webhook, subscribe):
    (flow,) = install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    customer = subscribe(shop, "ana@example.com", first_name="Ana")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501))
        enrollment = Enrollment.objects.get(flow=flow, customer=customer)
        assert enrollment.status == "active" and enrollment.due_at == T0 + timedelta(hours=1)
        advance_due_enrollments()
        send_due_messages()
        assert mail.outbox == []  # nothing before the hour
    with time_machine.travel(T0 + timedelta(minutes=61), tick=False):
        advance_due_enrollments()
        send_due_messages()
        send_due_messages()  # re-running the sender never doubles
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ana@example.com"]
    assert email.subject == "You left something in your cart"
    html = _html(email)
    assert "Trail Shoes" in html and "Wool Socks" in html and "https://img.example/p1.jpg" in html
    message = Message.objects.get(customer=customer)
    assert message.state == "sent"
    assert any(link.startswith("https://outdoor.example/checkouts/501/recover?") and "sc_id=" in link
               and "utm_medium=email" in link for link in message.links)
    assert "https://shopconnect.test/t/c/" in html and "/t/o/" in html
    assert email.extra_headers["List-Unsubscribe"].startswith("<https://shopconnect.test/u/")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sent = Event.objects.get(customer=customer, type="email.sent")
    assert sent.properties["message_id"] == str(message.pk) and sent.properties["flow_id"] == flow.pk

    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        post_webhook(shop, "orders/create", order_payload("ana@example.com", 9001, 501, T0 + timedelta(hours=3)))
    enrollment.refresh_from_db()
    assert enrollment.status == "exited" and "order" in enrollment.exit_reason
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        advance_due_enrollments()
        send_due_messages()
    assert len(mail.outbox) == 1
    kinds = list(enrollment.decisions.values_list("kind", flat=True))
    assert kinds[0] == FlowDecision.Kind.ENTERED and FlowDecision.Kind.SENT in kinds and kinds[-1] == "exited"


def test_full_series_is_sent_when_nobody_buys(shop, post_webhook, subscribe):
    install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    shop.email_provider.smart_sending_hours = 0
    shop.email_provider.save()
    subscribe(shop, "ben@example.com")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ben@example.com", 777))
    for hours in (1, 24, 72, 168):
        with time_machine.travel(T0 + timedelta(hours=hours, minutes=1), tick=False):
            advance_due_enrollments()
            send_due_messages()
    assert [m.subject for m in mail.outbox] == [
        "You left something in your cart", "Your cart is about to expire",
        "A little something to complete your order", "Still looking? These might fit"]
    assert "COMEBACK10" in _html(mail.outbox[2])
