"""Message classes and frequency by engagement (issue 17), through signed webhooks and the real tasks:
the thank-you goes after a cart reminder; a newsletter due with a cart reminder waits for the smart-sending
window instead of being dropped; a low-engaged customer gets no more than the weekly cap (and still
gets the order follow-up); the re-engagement tier with a cap of 0 gets only re-engagement email."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core import mail

from campaigns.campaign.launch import launch
from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.frequency_admin import tier_segment
from campaigns.models import Flow, FlowStep, FrequencyCap, Message
from campaigns.sender import send_due_messages
from campaigns.tasks import send_messages
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.record import record_events

from . import campaign_factory as f
from .conftest import T0, checkout_payload, order_payload


def _tasks(at):
    with time_machine.travel(at, tick=False):
        advance_due_enrollments()
        send_messages()


def test_the_thank_you_is_sent_after_a_cart_reminder(shop, post_webhook, subscribe):
    install_prebuilt_flows(shop, ["abandoned_cart", "post_purchase"], enable=("abandoned_cart", "post_purchase"))
    assert shop.email_provider.smart_sending_hours == 16
    subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0))
    _tasks(T0 + timedelta(minutes=61))
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        post_webhook(shop, "orders/create", order_payload("ana@example.com", 9001, 501, T0 + timedelta(hours=3)))
    _tasks(T0 + timedelta(hours=3, minutes=1))
    assert [m.subject for m in mail.outbox] == ["You left something in your cart", "Thank you for your order"]
    thanks = Message.objects.get(subject="Thank you for your order")
    assert thanks.message_class == "order_followup" and thanks.state == "sent"


def test_a_newsletter_due_with_a_cart_reminder_waits_and_is_sent_later(shop, post_webhook, subscribe, template):
    install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    ana = subscribe(shop, "ana@example.com")
    newsletter = f.campaign(shop, template, [f.segment(shop, [ana])], name="Newsletter")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0))
    with time_machine.travel(T0 + timedelta(minutes=60), tick=False):
        launch(newsletter.pk)  # queued first...
    _tasks(T0 + timedelta(minutes=61))  # ...but the cart reminder, due at the same time, goes first
    assert [m.subject for m in mail.outbox] == ["You left something in your cart"]
    row = Message.objects.get(campaign=newsletter)
    assert row.state == "queued" and row.note == (
        "smart sending: a flow email went out at 2026-03-02 16:01 UTC; this campaign email waits until "
        "2026-03-03 08:01 UTC")
    _tasks(T0 + timedelta(hours=17, minutes=2))
    assert [m.subject for m in mail.outbox] == ["You left something in your cart", "Hello"]
    row.refresh_from_db()
    assert row.state == "sent" and row.message_class == "campaign"


def _engagement(shop, customer, kind: str, at) -> None:
    record_events(shop, [CanonicalEvent(type=kind, occurred_at=at, dedupe_key=f"{kind}:{customer.pk}:{at}",
                                        source="email", customer_id=customer.pk,
                                        properties={"message_id": f"old-{customer.pk}", "machine": False})])


def test_a_low_engaged_customer_gets_no_more_than_the_cap(shop, subscribe, template, post_webhook):
    shop.email_provider.smart_sending_hours = 0
    shop.email_provider.save()
    install_prebuilt_flows(shop, ["post_purchase"], enable=("post_purchase",))
    lou, hana = subscribe(shop, "lou@example.com", at=T0 - timedelta(days=200)), subscribe(
        shop, "hana@example.com", at=T0 - timedelta(days=200))
    with time_machine.travel(T0, tick=False):
        _engagement(shop, lou, "email.opened", T0 - timedelta(days=60))  # low engaged
        _engagement(shop, hana, "email.clicked", T0 - timedelta(days=1))  # highly engaged
        for tier in ("highly_engaged", "low_engaged"):
            tier_segment(shop, tier)
    FrequencyCap.objects.create(store=shop, tier="low_engaged", per_week=2, per_month=6)
    audience = f.segment(shop, [lou, hana])
    for day in range(3):
        c = f.campaign(shop, template, [audience], name=f"Day {day}")
        with time_machine.travel(T0 + timedelta(days=day), tick=False):
            launch(c.pk)
            send_messages()
    got = [m.to[0] for m in mail.outbox]
    assert got.count("hana@example.com") == 3 and got.count("lou@example.com") == 2
    capped = Message.objects.get(customer=lou, state="skipped")
    assert capped.skip_reason == "over the weekly cap for low engaged (2 sent in 7 days, cap 2)"
    # An order follow-up is never capped.
    with time_machine.travel(T0 + timedelta(days=2, hours=1), tick=False):
        post_webhook(shop, "orders/create", order_payload("lou@example.com", 9001, None, T0 + timedelta(days=2)))
    _tasks(T0 + timedelta(days=2, hours=1))
    assert [m.subject for m in mail.outbox if m.to == ["lou@example.com"]][-1] == "Thank you for your order"
    # A week after the first send the weekly cap has room again.
    c = f.campaign(shop, template, [audience], name="Next week")
    with time_machine.travel(T0 + timedelta(days=7, hours=1), tick=False):
        launch(c.pk)
        send_messages()
    assert Message.objects.get(campaign=c, customer=lou).state == "sent"


def test_the_re_engagement_tier_at_cap_zero_gets_only_re_engagement_email(shop, subscribe, template):
    shop.email_provider.smart_sending_hours = 0
    shop.email_provider.save()
    rita = subscribe(shop, "rita@example.com", at=T0 - timedelta(days=100))
    with time_machine.travel(T0, tick=False):
        _engagement(shop, rita, "email.sent", T0 - timedelta(days=40))  # got email, never opened
        tier_segment(shop, "re_engagement")
    FrequencyCap.objects.create(store=shop, tier="re_engagement", per_week=0)
    c = f.campaign(shop, template, [f.segment(shop, [rita])], name="Sale")
    flow = Flow.objects.create(store=shop, name="Come back", enabled=True, trigger_event_type="custom.nudge")
    FlowStep.objects.create(flow=flow, position=0, kind="send_email", template=template,
                            message_class="re_engagement")
    with time_machine.travel(T0, tick=False):
        launch(c.pk)
        record_events(shop, [CanonicalEvent(type="custom.nudge", occurred_at=T0, dedupe_key="nudge", source="api",
                                            customer_id=rita.pk)])
        advance_due_enrollments()
        send_due_messages()
    assert Message.objects.get(campaign=c).skip_reason == (
        "over the weekly cap for re-engagement needed (0: only re-engagement, sunset and order emails)")
    assert Message.objects.get(flow=flow).state == "sent" and len(mail.outbox) == 1
