"""Identity stitching and the usual device: anonymous behaviour ends on the right customer."""

from __future__ import annotations

from django.test import override_settings

from integrations.storefront.device import device_type
from integrations.storefront.tasks import update_usual_device
from shopconnect.timeline.identity import make_identity_token
from shopconnect.timeline.models import Customer, Event, Visitor

from .conftest import DESKTOP_UA, MOBILE_UA, TABLET_UA, ev


def test_email_at_checkout_moves_the_anonymous_history_to_the_customer(db, store, post_batch):
    post_batch(
        store,
        [
            ev("product_viewed", "anon-7", data={"product_id": "93"}),
            ev("product_added_to_cart", "anon-7", data={"product_id": "93", "quantity": 1}),
        ],
    )
    assert Event.objects.filter(customer__isnull=True).count() == 2
    post_batch(store, [ev("checkout_started", "anon-7", email="Ann@Example.com", data={"checkout_id": "c1"})])
    customer = Customer.objects.get(store=store, email="ann@example.com")
    assert sorted(customer.events.values_list("type", flat=True)) == [
        "cart.updated",
        "checkout.started",
        "product.viewed",
    ]
    assert Visitor.objects.get(client_id="anon-7").customer == customer
    assert customer.last_seen_at is not None
    # Later anonymous-looking events of the same visitor go to the customer too.
    post_batch(store, [ev("page_viewed", "anon-7")])
    assert customer.events.filter(type="page.viewed").count() == 1


def test_a_login_claim_builds_a_profile_that_the_platforms_signed_data_then_owns(db, store, post_batch, make_event):
    """The platform customer id the page sends is a claim (issue 13): it builds a new profile with that id,
    which the platform's own signed customer data then completes. (It used to attach the visitor to an
    existing customer with that id: the hijack tests/campaigns/test_storefront_claims.py now refuses.)"""
    from shopconnect.timeline.record import record_events

    post_batch(store, [ev("product_viewed", "anon-8")])
    post_batch(store, [ev("page_viewed", "anon-8", customer_id=26)])
    customer = Customer.objects.get(store=store, external_id="26")
    assert customer.claimed_only
    assert set(customer.events.values_list("type", flat=True)) >= {"product.viewed", "page.viewed"}
    record_events(store, [make_event("customer.created", email="bo@example.com", external_id="26",
                                     source="shopify")])
    customer.refresh_from_db()
    assert customer.email == "bo@example.com" and not customer.claimed_only


def test_a_signed_email_link_identifies_the_visitor(db, store, post_batch, make_event):
    from shopconnect.timeline.record import record_events

    record_events(store, [make_event("customer.created", email="cy@example.com")])
    customer = Customer.objects.get(store=store)
    post_batch(store, [ev("product_viewed", "anon-9")])
    post_batch(store, [ev("page_viewed", "anon-9", sc_id=make_identity_token(store.pk, customer.pk))])
    assert customer.events.filter(type="product.viewed").count() == 1


def test_a_forged_or_foreign_token_identifies_nobody(db, store, make_store, post_batch, make_event):
    from shopconnect.timeline.record import record_events

    other = make_store()
    record_events(other, [make_event("customer.created", email="di@example.com")])
    foreign = make_identity_token(other.pk, Customer.objects.get(store=other).pk)
    post_batch(store, [ev("page_viewed", "anon-10", sc_id=foreign), ev("page_viewed", "anon-10", sc_id="forged")])
    assert Event.objects.filter(store=store, customer__isnull=False).count() == 0
    assert not Customer.objects.filter(store=store).exists()


def test_device_types_from_user_agents():
    assert device_type(DESKTOP_UA) == "desktop"
    assert device_type(MOBILE_UA) == "mobile"
    assert device_type(TABLET_UA) == "tablet"
    assert device_type("Googlebot/2.1 (+http://www.google.com/bot.html)") == ""
    assert device_type("") == ""


def test_usual_device_is_the_one_most_events_come_from(db, store, post_batch):
    email = "ed@example.com"
    post_batch(store, [ev("page_viewed", "desk", email=email)], ua=DESKTOP_UA)
    customer = Customer.objects.get(email=email)
    assert customer.device == "desktop"
    post_batch(store, [ev("page_viewed", "phone", email=email) for _ in range(3)], ua=MOBILE_UA)
    customer.refresh_from_db()
    assert customer.device == "mobile"


def test_usual_device_is_one_update_statement(db, store, post_batch, django_assert_num_queries):
    post_batch(store, [ev("page_viewed", f"v{i}", email=f"p{i}@example.com") for i in range(5)], ua=TABLET_UA)
    ids = list(Customer.objects.values_list("pk", flat=True))
    Customer.objects.update(device="")
    with django_assert_num_queries(1):
        assert update_usual_device(ids) == 5
    assert set(Customer.objects.values_list("device", flat=True)) == {"tablet"}


@override_settings(PUBLIC_BASE_URL="https://sc.example.net")
def test_the_script_is_served_small_with_the_stores_endpoint(db, client, store):
    response = client.get(f"/collect/{store.collect_key}/script.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    source = response.content.decode()
    assert f'"https://sc.example.net/collect/{store.collect_key}/"' in source
    assert len(response.content) < 8 * 1024
    assert "keepalive: true" in source and "import " not in source and "require(" not in source
    assert client.get("/collect/unknown/script.js").status_code == 404
