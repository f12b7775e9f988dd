"""Flows act only on live evidence (issue 20), through signed webhooks and the real tasks: the exit goal
against the whole timeline (an order that arrived before its checkout, an order recorded while the
flow's task was lost), stale triggers (a week-old checkout from a late webhook, a Shopify backfill),
one message per intent across two cart flows."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import EmailTemplate, Enrollment, Flow, FlowStep, Message
from campaigns.sender import send_due_messages

from .conftest import T0, checkout_payload, order_payload


def _run_tasks(at):
    """What the worker's schedules do at ``at``: advance the flows, send."""
    with time_machine.travel(at, tick=False):
        advance_due_enrollments()
        send_due_messages()


@contextlib.contextmanager
def flow_task_lost():
    """The task that reacts to new events never runs (a worker killed after the events committed)."""
    from campaigns.tasks import connect
    from shopconnect.timeline.record import events_recorded

    events_recorded.disconnect(dispatch_uid="campaigns.on_events_recorded")
    try:
        yield
    finally:
        connect()


@pytest.fixture
def cart_flow(shop):
    (flow,) = install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    return flow


def test_a_checkout_whose_order_arrived_first_never_enrols(shop, cart_flow, post_webhook, subscribe):
    ana = subscribe(shop, "ana@example.com")
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        # Shopify does not order deliveries: the order completing checkout 501 comes first.
        post_webhook(shop, "orders/create", order_payload("ana@example.com", 9001, 501, T0 + timedelta(minutes=14)))
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0))
    enrollment = Enrollment.objects.get(flow=cart_flow, customer=ana)
    assert enrollment.status == "not_entered"
    assert enrollment.exit_reason == "goal reached: order 9001 for this checkout or cart"
    assert list(enrollment.decisions.values_list("kind", "detail")) == [
        ("not_entered", "goal reached: order 9001 for this checkout or cart")]
    for hours in (1, 25, 73, 169):
        _run_tasks(T0 + timedelta(hours=hours, minutes=1))
    assert mail.outbox == [] and not Message.objects.filter(customer=ana).exists()


def test_the_order_for_this_checkout_counts_whatever_its_time_another_checkout_does_not(
        shop, cart_flow, post_webhook, subscribe):
    Flow.objects.filter(pk=cart_flow.pk).update(exit_goal=Flow.Goal.ORDER_FOR_TRIGGER)
    ana, ben = subscribe(shop, "ana@example.com"), subscribe(shop, "ben@example.com")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        # Ana's order carries checkout 501 but is stamped two minutes before the checkout event.
        post_webhook(shop, "orders/create", order_payload("ana@example.com", 9001, 501, T0 - timedelta(minutes=2)))
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0))
        # Ben ordered for an older checkout (999): checkout 502 is still abandoned.
        post_webhook(shop, "orders/create", order_payload("ben@example.com", 9002, 999, T0 - timedelta(minutes=2)))
        post_webhook(shop, "checkouts/create", checkout_payload("ben@example.com", 502, at=T0))
    assert Enrollment.objects.get(flow=cart_flow, customer=ana).status == "not_entered"
    assert Enrollment.objects.get(flow=cart_flow, customer=ben).status == "active"
    _run_tasks(T0 + timedelta(hours=1, minutes=6))
    assert [m.to for m in mail.outbox] == [["ben@example.com"]]


def test_an_order_recorded_between_enrolment_and_the_first_email_stops_it(shop, cart_flow, post_webhook,
                                                                          subscribe):
    ana = subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0))
    enrollment = Enrollment.objects.get(flow=cart_flow, customer=ana)
    assert enrollment.status == "active"
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False), flow_task_lost():
        post_webhook(shop, "orders/create", order_payload("ana@example.com", 9001, 501, T0 + timedelta(minutes=25)))
    enrollment.refresh_from_db()
    assert enrollment.status == "active"  # nothing reacted to the order...
    _run_tasks(T0 + timedelta(minutes=61))  # ...but the engine checks the goal before the email
    enrollment.refresh_from_db()
    assert enrollment.status == "exited"
    assert enrollment.exit_reason == "goal reached: order 9001 for this checkout or cart"
    assert mail.outbox == [] and not Message.objects.filter(customer=ana).exists()
    assert enrollment.decisions.last().detail == "goal reached: order 9001 for this checkout or cart"


def test_a_week_old_checkout_from_a_late_webhook_sends_nothing_unless_the_marketer_asks(
        shop, cart_flow, post_webhook, subscribe):
    ana = subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0 - timedelta(days=6)))
    enrollment = Enrollment.objects.get(flow=cart_flow, customer=ana)
    assert enrollment.status == "not_entered"
    assert enrollment.exit_reason == ("trigger too old: checkout.started at 2026-02-24 15:00 UTC, 6 days ago "
                                      "(relevance window 5 h)")
    _run_tasks(T0 + timedelta(hours=2))
    assert mail.outbox == []
    # Asked for explicitly: a window of a week, then a week-old checkout does enrol.
    Flow.objects.filter(pk=cart_flow.pk).update(relevance_hours=24 * 7)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 502, at=T0 - timedelta(days=6)))
    assert Enrollment.objects.filter(flow=cart_flow, customer=ana, status="active").count() == 1
    _run_tasks(T0 + timedelta(hours=3, minutes=1))
    assert [m.subject for m in mail.outbox] == ["You left something in your cart"]


def test_the_default_window_follows_the_first_delay(shop, cart_flow, post_webhook, subscribe):
    from campaigns.flows import relevance

    assert relevance.window(cart_flow) == timedelta(hours=5)  # 1 h before the first email + 4 h
    browse, welcome = install_prebuilt_flows(shop, ["browse_abandonment", "welcome"])
    assert relevance.window(browse) == timedelta(hours=6) and relevance.window(welcome) == timedelta(hours=24)
    subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0 - timedelta(hours=4)))
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 502, at=T0 - timedelta(hours=6)))
    states = dict(Enrollment.objects.filter(flow=cart_flow).values_list("checkout_ref", "status"))
    assert states == {"501": "active", "502": "not_entered"}


def test_two_cart_flows_send_one_email_per_checkout(shop, cart_flow, post_webhook, subscribe):
    mine = Flow.objects.create(store=shop, name="My cart reminder", enabled=True, trigger_event_type="checkout.started",
                               reentry="every_time", exit_goal=Flow.Goal.ANY_ORDER)
    FlowStep.objects.create(flow=mine, position=0, kind="delay", config={"minutes": 30})
    nudge = EmailTemplate.objects.create(store=shop, name="Nudge", subject="Forgot something?", html="<p>Cart</p>")
    FlowStep.objects.create(flow=mine, position=1, kind="send_email", name="Nudge", template=nudge)
    shop.email_provider.smart_sending_hours = 0  # nothing else stands between the two flows
    shop.email_provider.save()
    ana = subscribe(shop, "ana@example.com")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0))
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 502, at=T0))
    assert Enrollment.objects.filter(customer=ana, status="active").count() == 3  # mine: every time
    for hours in (0.6, 1.1):
        _run_tasks(T0 + timedelta(hours=hours))
    # One first reminder per checkout: mine (30 min) for both, the prebuilt's first reminder skipped.
    assert sorted(m.subject for m in mail.outbox) == ["Forgot something?", "Forgot something?"]
    skipped = Message.objects.get(flow=cart_flow, state="skipped")
    assert skipped.skip_reason == ("one message per intent: flow 'My cart reminder' (Nudge) already has this message "
                                   "about this checkout or cart")
    log = Enrollment.objects.get(flow=cart_flow, customer=ana).decisions.values_list("detail", flat=True)
    assert f"not queued: {skipped.skip_reason}" in list(log)
    # The prebuilt flow's second email is another purpose: it still goes.
    _run_tasks(T0 + timedelta(hours=25))
    assert [m.subject for m in mail.outbox][-1] == "Your cart is about to expire"


def test_the_database_refuses_a_second_message_with_the_same_intent(shop, subscribe, template):
    ana = subscribe(shop, "ana@example.com")
    Message.objects.create(store=shop, customer=ana, template=template, idempotency_key="a", next_attempt_at=T0,
                           intent_key="cart:c1:reminder-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(store=shop, customer=ana, template=template, idempotency_key="b", next_attempt_at=T0,
                               intent_key="cart:c1:reminder-1")
    Message.objects.create(store=shop, customer=ana, template=template, idempotency_key="c", next_attempt_at=T0)
    Message.objects.create(store=shop, customer=ana, template=template, idempotency_key="d", next_attempt_at=T0)


def test_a_wait_counts_what_happened_since_the_trigger_even_recorded_before_entry(shop, subscribe, template):
    """Win-back: an order placed after the triggering one, recorded before the enrolment, ends the wait."""
    from shopconnect.timeline.canonical import CanonicalEvent
    from shopconnect.timeline.record import record_events

    (flow,) = install_prebuilt_flows(shop, ["win_back"], enable=("win_back",))
    ana = subscribe(shop, "ana@example.com")

    def order(n, at):
        return CanonicalEvent(type="order.placed", occurred_at=at, dedupe_key=f"o{n}", source="api",
                              customer_id=ana.pk, order_ref=str(n), properties={"order_id": str(n)})

    with time_machine.travel(T0, tick=False), flow_task_lost():
        record_events(shop, [order(1, T0 - timedelta(hours=3)), order(2, T0 - timedelta(hours=1))])
    from campaigns.flows.triggers import enrol_from_events
    from shopconnect.timeline.models import Event

    with time_machine.travel(T0, tick=False):
        first = Event.objects.get(order_ref="1")
        assert enrol_from_events(shop.pk, [first.pk]) == 1  # late: its task ran only now
        advance_due_enrollments()
    enrollment = Enrollment.objects.get(flow=flow, trigger_event=first)
    assert enrollment.status == "completed"  # the wait saw order 2: "on_event": end, no "we miss you"
    assert "event happened" in list(enrollment.decisions.values_list("detail", flat=True))
    _run_tasks(T0 + timedelta(days=91))
    assert mail.outbox == []
