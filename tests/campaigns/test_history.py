"""Loading history never mails about the past (issue 20): a Shopify backfill of last week's abandoned
checkout, and the demo loaded twice (``manage.py demo``) with a second cart flow, then the worker's
tasks as time passes: no cart email about a checkout that became an order, none twice, none at all
about the loaded history; and when the marketer explicitly widens the window, still none to a customer
who ordered and none twice."""

from __future__ import annotations

import contextlib
import io
from datetime import datetime, timedelta

import responses
import time_machine
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import EmailProvider, EmailTemplate, Enrollment, Flow, FlowStep, Message
from campaigns.sender import send_due_messages
from shopconnect.timeline.models import Event
from tests.integrations.shopify.fake_shopify import FakeShopify, gql_customer, gql_order
from tests.integrations.shopify.helpers import SHOP

CART_TYPES = ["checkout.started", "cart.updated"]


def _tasks(at: datetime) -> None:
    with time_machine.travel(at, tick=False), contextlib.redirect_stdout(io.StringIO()):
        advance_due_enrollments()
        send_due_messages()


def test_a_backfill_of_last_weeks_checkout_sends_nothing(make_store):
    store = make_store(platform="shopify", domain=SHOP, url=f"https://{SHOP}",
                       access_token="shpat_fake_token_0123456789")
    EmailProvider.objects.create(store=store, kind="locmem", from_email="hello@shop.example", smart_sending_hours=0)
    install_prebuilt_flows(store, enable=("abandoned_cart", "post_purchase", "welcome"))
    fake = FakeShopify()
    fake.data["customers"] = [gql_customer(0)]
    fake.data["orders"] = [gql_order(6000000000001, 0, "40.00", createdAt="2026-02-05T10:00:00Z",
                                     processedAt="2026-02-05T10:00:00Z")]
    fake.data["abandonedCheckouts"] = [{
        "id": "gid://shopify/AbandonedCheckout/36123456789012", "abandonedCheckoutUrl": "https://x/recover",
        "createdAt": "2026-02-03T12:58:00Z", "updatedAt": "2026-02-03T13:05:00Z", "completedAt": None,
        "customer": {"id": "gid://shopify/Customer/7408451977439", "email": "kunde0@example.com"},
        "totalPriceSet": {"shopMoney": {"amount": "89.00", "currencyCode": "EUR"}}, "lineItems": {"edges": []}}]
    now = datetime.fromisoformat("2026-02-10T12:00:00+00:00")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps, time_machine.travel(now, tick=False):
        fake.install(rsps)
        call_command("backfill", str(store.pk), stdout=io.StringIO())
    assert Event.objects.filter(store=store, type="checkout.started").exists()
    assert not Enrollment.objects.filter(flow__store=store).exclude(status="not_entered").exists()
    checkout = Enrollment.objects.get(flow__prebuilt_key="abandoned_cart")
    assert checkout.exit_reason.startswith("trigger too old: checkout.started at 2026-02-03 12:58 UTC, 7 days ago")
    for hours in (2, 25, 73, 169):
        _tasks(now + timedelta(hours=hours))
    assert mail.outbox == [] and not Message.objects.filter(store=store).exists()


def _second_cart_flow(store) -> Flow:
    """The cart flow a marketer made next to the prebuilt one (issue 20): the same first reminder."""
    prebuilt = Flow.objects.get(store=store, prebuilt_key="abandoned_cart")
    reminder = prebuilt.steps.get(position=1).template
    mine = Flow.objects.create(store=store, name="My cart reminder", enabled=True,
                               trigger_event_type="checkout.started", reentry="per_days", reentry_days=1,
                               exit_goal=Flow.Goal.ANY_ORDER)
    FlowStep.objects.create(flow=mine, position=0, kind="delay", config={"hours": 1})
    FlowStep.objects.create(flow=mine, position=1, kind="send_email", name="Reminder", template=EmailTemplate.objects
                            .create(store=store, name="Mine", subject=reminder.subject, html=reminder.html))
    return mine


def _emailed_after_ordering(message: Message) -> bool:
    """Sent after the order that is the flow's goal: the order for this checkout (the prebuilt flow's
    checkout-keyed goal) or, for an "any order" goal, also any order between the trigger and the send."""
    any_order = message.flow.exit_goal == Flow.Goal.ANY_ORDER
    trigger = message.trigger_event
    refs = {str(trigger.properties.get(k)) for k in ("checkout_id", "checkout_token", "cart_token")
            if trigger.properties.get(k)}
    for order in Event.objects.filter(customer_id=message.customer_id, type="order.placed"):
        theirs = {str(order.properties.get(k)) for k in ("checkout_id", "checkout_token", "cart_token")
                  if order.properties.get(k)}
        if refs & theirs or (any_order and trigger.occurred_at <= order.occurred_at <= message.sent_at):
            return True
    return False


def test_the_demo_loaded_twice_sends_no_cart_email_about_its_history(db):
    from integrations.demo import DEMO_DOMAIN
    from shopconnect.timeline.models import Store

    quiet = io.StringIO()
    call_command("demo", customers=30, stdout=quiet)
    store = Store.objects.get(domain=DEMO_DOMAIN)
    mine = _second_cart_flow(store)
    call_command("demo", customers=30, stdout=quiet)  # make run again
    start = timezone.now()
    for hours in (2, 25, 73, 169):
        _tasks(start + timedelta(hours=hours))
    cart = Message.objects.filter(flow__trigger_event_type__in=CART_TYPES)
    assert not cart.filter(state="sent").exists()
    assert not Enrollment.objects.filter(flow__trigger_event_type__in=CART_TYPES, status__in=["active", "completed"],
                                         flow__store=store).exists()

    # The marketer asks for it explicitly: both cart flows take 4-day-old triggers, and the last three days
    # of checkouts are replayed through the flows.
    from campaigns.flows.triggers import enrol_from_events

    Flow.objects.filter(store=store, trigger_event_type="checkout.started").update(relevance_hours=96)
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        recent = Event.objects.filter(store=store, type="checkout.started", occurred_at__gte=start - timedelta(days=3))
        assert enrol_from_events(store.pk, list(recent.values_list("id", flat=True))) > 0
    for hours in (2, 25, 73, 169):
        _tasks(start + timedelta(hours=hours))
    sent = list(cart.filter(state="sent").select_related("trigger_event", "flow"))
    assert sent, "some abandoned checkouts are reminded"
    assert not [m.pk for m in sent if _emailed_after_ordering(m)]
    first = [m for m in sent if m.step.position == 1]
    assert len({(m.customer_id, m.trigger_event.properties["checkout_id"]) for m in first}) == len(first)
    assert {m.flow_id for m in first} <= {mine.pk, Flow.objects.get(store=store, prebuilt_key="abandoned_cart").pk}
    assert Enrollment.objects.filter(flow__store=store, exit_reason__startswith="goal reached").exists()
