"""Email changes from Shopify's own ``customers/update`` (signed, through HTTP): one customer keeps their
history under the new address, suppression and later orders follow it, and the collision rule of
``shopconnect.timeline.emails`` decides when the new address is already someone's."""

from __future__ import annotations

import json
from decimal import Decimal

from campaigns.models import Suppression
from shopconnect.timeline.models import Customer, Event

from .helpers import payload, post

CUSTOMER = "7408451977439"
NEW = "zoe.berg@example.com"


def changed(client):
    assert post(client, "customers_update_email_changed", "customers/update", "change").status_code == 200


def test_the_customer_moves_to_the_new_address_with_their_history(client, shop):
    post(client, "customers_create", "customers/create", "e1")
    post(client, "orders_paid", "orders/paid", "e2")
    zoe = Customer.objects.get(external_id=CUSTOMER)
    before = zoe.events.count()
    changed(client)
    zoe.refresh_from_db()
    assert zoe.email == NEW and zoe.events.count() == before + 1  # the update itself
    assert Customer.objects.filter(store=shop).count() == 1
    # a later guest checkout with the new address is the same person, not a second customer
    guest = {**payload("orders_create_guest"), "email": NEW, "contact_email": NEW}
    post(client, json.dumps(guest).encode(), "orders/create", "e3")
    assert Customer.objects.filter(store=shop).count() == 1
    zoe.refresh_from_db()
    assert zoe.orders_count == 2 and zoe.total_spent == Decimal("171.90")


def test_an_older_update_with_the_old_address_does_not_move_it_back(client, shop):
    changed(client)
    post(client, "customers_update", "customers/update", "older")  # 2026-02-12, before the change
    assert Customer.objects.get(external_id=CUSTOMER).email == NEW


def test_an_unsubscribe_follows_the_person_and_a_bounce_stays_with_the_old_mailbox(client, shop):
    post(client, "customers_create", "customers/create", "e1")
    Suppression.objects.create(store=shop, email="zoe.angstrom@example.com", reason="unsubscribe")
    changed(client)
    assert Suppression.objects.get(store=shop, email=NEW).reason == "unsubscribe"

    other = {**payload("customers_create"), "id": 7408451977441, "email": "old@example.com"}
    post(client, json.dumps(other).encode(), "customers/create", "e2")
    Suppression.objects.create(store=shop, email="old@example.com", reason="hard_bounce")
    moved = {**other, "email": "new@example.com", "updated_at": "2026-02-18T09:00:00-05:00"}
    post(client, json.dumps(moved).encode(), "customers/update", "e3")
    assert Customer.objects.get(external_id="7408451977441").email == "new@example.com"
    assert not Suppression.objects.filter(store=shop, email="new@example.com").exists()


def test_a_guest_holding_the_new_address_is_merged_into_the_platform_customer(client, shop):
    """Collision with a customer without a platform id: the same person, proven by the platform."""
    post(client, "customers_create", "customers/create", "e1")
    guest = {**payload("orders_create_guest"), "email": NEW, "contact_email": NEW}
    post(client, json.dumps(guest).encode(), "orders/create", "e2")
    holder = Customer.objects.get(store=shop, email=NEW)
    assert holder.external_id is None and holder.orders_count == 1
    changed(client)
    zoe, holder = Customer.objects.get(external_id=CUSTOMER), Customer.objects.get(pk=holder.pk)
    assert zoe.email == NEW and holder.email is None
    assert not holder.events.exists() and zoe.events.filter(type="order.placed").count() == 1
    assert (zoe.orders_count, zoe.total_spent, holder.orders_count) == (1, Decimal("39.00"), 0)


def test_another_platform_customer_holding_the_address_gives_it_up_and_keeps_its_history(client, shop):
    """Collision of two known customers: the newest signed profile decides whose address it is."""
    other = {**payload("customers_create"), "id": 7408451977442, "email": NEW}
    post(client, json.dumps(other).encode(), "customers/create", "e1")
    post(client, "customers_create", "customers/create", "e2")
    changed(client)
    zoe, other_row = Customer.objects.get(external_id=CUSTOMER), Customer.objects.get(external_id="7408451977442")
    assert zoe.email == NEW and other_row.email is None
    assert Event.objects.filter(customer=other_row, type="customer.created").count() == 1
