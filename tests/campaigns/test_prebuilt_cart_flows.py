"""The prebuilt cart flows (issue 17): "added to cart, no checkout" mails a cart that never reached a
checkout; the abandoned cart flow ends only when its own checkout becomes an order."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.core import mail

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import Enrollment, Flow
from campaigns.sender import send_due_messages
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.record import record_events

from .conftest import T0, checkout_payload, order_payload


def _run_tasks(at):
    with time_machine.travel(at, tick=False):
        advance_due_enrollments()
        send_due_messages()


def _cart(shop, customer, token: str, at, action: str = "added"):
    with time_machine.travel(at, tick=False):
        record_events(shop, [CanonicalEvent(
            type="cart.updated", occurred_at=at, dedupe_key=f"cart:{token}:{at}", source="shopify",
            customer_id=customer.pk, properties={"cart_token": token, "action": action, "line_items": [
                {"product_id": "p1", "title": "Trail Shoes", "quantity": 1, "price": "119.00"}]})])


def test_a_cart_without_a_checkout_gets_one_email_with_its_product_and_a_checkout_ends_it(
        shop, subscribe, post_webhook):
    (flow,) = install_prebuilt_flows(shop, ["added_to_cart"], enable=("added_to_cart",))
    ana, ben = subscribe(shop, "ana@example.com"), subscribe(shop, "ben@example.com")
    _cart(shop, ana, "cart-ana", T0)
    _cart(shop, ben, "cart-ben", T0, action="updated")  # Shopify's carts/update
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ben@example.com", 502, at=T0 + timedelta(minutes=20)))
    _run_tasks(T0 + timedelta(minutes=5))
    _run_tasks(T0 + timedelta(hours=1, minutes=1))
    _run_tasks(T0 + timedelta(hours=2))
    assert [(m.to, m.subject) for m in mail.outbox] == [(["ana@example.com"], "Still thinking it over?")]
    html = mail.outbox[0].alternatives[0][0]
    assert "Trail Shoes" in html and "119.00" in html
    ben_enrollment = Enrollment.objects.get(flow=flow, customer=ben)
    assert ben_enrollment.status == "completed"
    assert "event happened" in list(ben_enrollment.decisions.values_list("detail", flat=True))


def test_the_abandoned_cart_flow_ends_only_with_the_order_for_its_checkout(shop, subscribe, post_webhook):
    (flow,) = install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    assert flow.exit_goal == Flow.Goal.ORDER_FOR_TRIGGER
    subscribe(shop, "ana@example.com")
    subscribe(shop, "ben@example.com")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501, at=T0))
        post_webhook(shop, "checkouts/create", checkout_payload("ben@example.com", 502, at=T0))
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        # Ana buys something else (another checkout); Ben completes checkout 502.
        post_webhook(shop, "orders/create", order_payload("ana@example.com", 9001, 999, T0 + timedelta(minutes=30)))
        post_webhook(shop, "orders/create", order_payload("ben@example.com", 9002, 502, T0 + timedelta(minutes=30)))
    _run_tasks(T0 + timedelta(hours=1, minutes=1))
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    ben = Enrollment.objects.get(flow=flow, customer__email="ben@example.com")
    assert ben.status == "exited" and ben.exit_reason == "goal reached: order 9002 for this checkout or cart"


def test_every_prebuilt_flow_saves_unchanged_on_the_flow_page(shop):
    """The new flows' trigger filters (cart action, days since interest) are valid rule-language filters."""
    flows = {f.prebuilt_key: f for f in install_prebuilt_flows(shop)}
    assert {"added_to_cart", "back_in_stock", "price_drop"} <= set(flows)
    for flow in flows.values():
        flow.full_clean()
        for step in flow.steps.all():
            step.full_clean()
