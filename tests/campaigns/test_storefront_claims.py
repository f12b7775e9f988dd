"""Identity from the storefront is a claim, not a proof: attacks through ``POST /collect/``.

A visitor can type anyone's email or send anyone's platform customer id. That may build a new profile,
but never attaches to a known customer, never writes onto one, and what the visitor sends about products
(titles, images, links, prices) never reaches an email: emails show the synced catalog.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import Enrollment, Message
from campaigns.sender import send_due_messages
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.identity import make_identity_token
from shopconnect.timeline.models import Customer, Event, Visitor
from shopconnect.timeline.record import record_events

from .conftest import T0

HOSTILE_LINES = [{"product_id": "p1", "title": "YOU WON a prize: claim it at evil.example", "quantity": 1,
                  "price": "0.01", "image_url": "https://evil.example/tracker.png",
                  "url": "https://evil.example/phish"},
                 {"product_id": "not-in-catalog", "title": "Gift card: reply with your password",
                  "image_url": "https://evil.example/gift.png", "url": "https://evil.example/gift"}]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def collect(client, store, client_id: str, name: str, **fields):
    event = {"id": str(uuid.uuid4()), "name": name, "timestamp": T0.isoformat(), "client_id": client_id,
             "url": "https://outdoor.example/cart", **fields}
    response = client.post(f"/collect/{store.collect_key}/", data=json.dumps({"events": [event]}),
                           content_type="text/plain", headers={"User-Agent": "Mozilla/5.0"})
    assert response.status_code == 202, response.content
    return response


def run_flows_until(hours: float):
    with time_machine.travel(T0 + timedelta(hours=hours), tick=False):
        advance_due_enrollments()
        send_due_messages()


def assert_nothing_hostile():
    for email in mail.outbox:
        content = email.body + "".join(body for body, _ in email.alternatives) + email.subject
        assert "evil.example" not in content and "YOU WON" not in content and "password" not in content


def test_abandoned_cart_hijack_claiming_a_subscribed_customers_email_sends_the_victim_nothing(
    client, shop, subscribe
):
    install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    victim = subscribe(shop, "victim@example.com", first_name="Vic")
    with time_machine.travel(T0, tick=False):
        collect(client, shop, "attacker-1", "checkout_started", email="victim@example.com",
                data={"checkout_id": "c-evil", "line_items": HOSTILE_LINES})
    run_flows_until(1.1)
    run_flows_until(30)
    assert not Enrollment.objects.filter(customer=victim).exists()
    assert not Event.objects.filter(customer=victim, type="checkout.started").exists()
    assert mail.outbox == []
    # the claim stayed the visitor's own anonymous history
    visitor = Visitor.objects.get(store=shop, client_id="attacker-1")
    assert visitor.customer is None and Event.objects.filter(visitor=visitor, customer__isnull=True).count() == 1


def test_a_proven_visitors_hostile_cart_shows_only_the_catalog_in_the_email(client, shop, subscribe):
    """Even on the right customer (our signed sc_id), the visitor's line text, images and links stay out."""
    install_prebuilt_flows(shop, ["abandoned_cart"], enable=("abandoned_cart",))
    ana = subscribe(shop, "ana@example.com", first_name="Ana")
    with time_machine.travel(T0, tick=False):
        collect(client, shop, "ana-phone", "checkout_started", sc_id=make_identity_token(shop.pk, ana.pk),
                data={"checkout_id": "c1", "line_items": HOSTILE_LINES})
    run_flows_until(1.1)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ana@example.com"]
    html = next(body for body, kind in mail.outbox[0].alternatives if kind == "text/html")
    assert "Trail Shoes" in html and "https://img.example/p1.jpg" in html and "119.00" in html  # the catalog
    assert "Gift card" not in html  # a product the catalog does not know is left out
    assert_nothing_hostile()
    # the stored line was completed from the catalog when it was recorded (issue 18)
    line = Event.objects.get(customer=ana, type="checkout.started").properties["line_items"][0]
    assert (line["title"], line["category"], line["price"]) == ("Trail Shoes", "Footwear", "119.00")


def test_browse_abandonment_never_shows_the_visitors_product_title_or_link(client, shop, subscribe):
    install_prebuilt_flows(shop, ["browse_abandonment"], enable=("browse_abandonment",))
    ana = subscribe(shop, "ana@example.com", first_name="Ana")
    with time_machine.travel(T0, tick=False):
        collect(client, shop, "ana-desk", "product_viewed", sc_id=make_identity_token(shop.pk, ana.pk),
                data={"product_id": "p2", "title": "YOU WON", "url": "https://evil.example/phish",
                      "image_url": "https://evil.example/x.png", "price": "0.01"})
    run_flows_until(2.5)
    assert len(mail.outbox) == 1
    html = next(body for body, kind in mail.outbox[0].alternatives if kind == "text/html")
    assert "Wool Socks" in mail.outbox[0].subject and "Wool Socks" in html
    links = Message.objects.get(customer=ana).links
    assert any(link.startswith("https://outdoor.example/products/socks") for link in links)
    assert not any("evil.example" in link for link in links)
    assert_nothing_hostile()


def test_a_claimed_email_is_never_written_onto_a_known_customer_without_email(client, shop):
    record_events(shop, [CanonicalEvent(type="customer.created", occurred_at=T0, dedupe_key="woo:c:26",
                                        source="woocommerce", external_id="26", profile={"first_name": "Bo"})])
    collect(client, shop, "attacker-2", "checkout_contact_info_submitted", customer_id="26",
            email="attacker@evil.example", data={"checkout_id": "c2"})
    bo = Customer.objects.get(store=shop, external_id="26")
    assert bo.email is None
    assert not Customer.objects.filter(email="attacker@evil.example", external_id="26").exists()
    assert not bo.events.filter(source="storefront").exists()


def test_a_claimed_platform_customer_id_does_not_attach_the_visitor_to_that_customer(client, shop):
    record_events(shop, [CanonicalEvent(type="customer.created", occurred_at=T0, dedupe_key="woo:c:27",
                                        source="woocommerce", external_id="27", email="cy@example.com")])
    collect(client, shop, "attacker-3", "product_viewed", customer_id="27", data={"product_id": "p1"})
    collect(client, shop, "attacker-3", "checkout_started", data={"checkout_id": "c3", "line_items": HOSTILE_LINES})
    cy = Customer.objects.get(store=shop, external_id="27")
    assert not cy.events.filter(source="storefront").exists()
    assert Visitor.objects.get(store=shop, client_id="attacker-3").customer is None


def test_a_proven_visitor_typing_another_email_does_not_change_the_customers_email(client, shop):
    record_events(shop, [CanonicalEvent(type="customer.created", occurred_at=T0, dedupe_key="woo:c:28",
                                        source="woocommerce", external_id="28")])
    dee = Customer.objects.get(store=shop, external_id="28")
    collect(client, shop, "dee-1", "page_viewed", sc_id=make_identity_token(shop.pk, dee.pk),
            email="someone-else@example.com")
    dee.refresh_from_db()
    assert dee.email is None and dee.events.filter(type="page.viewed").count() == 1  # proven: attached


def test_a_claimed_profile_grows_with_claims_and_becomes_known_with_the_first_signed_event(client, shop):
    collect(client, shop, "new-1", "checkout_started", email="new@example.com", data={"checkout_id": "c4"})
    profile = Customer.objects.get(store=shop, email="new@example.com")
    assert profile.claimed_only
    collect(client, shop, "new-2", "page_viewed", email="new@example.com")  # another device, same claim
    assert profile.events.count() == 2
    record_events(shop, [CanonicalEvent(type="order.placed", occurred_at=T0 + timedelta(hours=1),
                                        dedupe_key="woo:o:1", source="woocommerce", email="new@example.com",
                                        order_ref="1", amount=None, properties={"order_id": "1"})])
    profile.refresh_from_db()
    assert not profile.claimed_only and profile.events.count() == 3
    collect(client, shop, "new-3", "page_viewed", email="new@example.com")  # now a claim proves nothing
    assert profile.events.count() == 3
