"""Backfill, reconciliation, webhook registration and consent write-back against a fake GraphQL API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
import responses
import time_machine
from django.core.management import call_command
from django_q.models import Schedule

from integrations.shopify import tasks
from integrations.shopify.graphql import ShopifyAPIError
from integrations.shopify.models import SyncState
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer, Event, Product
from shopconnect.timeline.record import record_events

from .fake_shopify import FakeShopify, gql_customer, gql_order
from .helpers import SHOP, post

TOKEN = "shpat_fake_token_0123456789"
pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    fake = FakeShopify()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        yield fake


@pytest.fixture
def connected(make_store):
    return make_store(platform="shopify", domain=SHOP, url=f"https://{SHOP}", access_token=TOKEN)


def product_node(n: int) -> dict:
    return {
        "id": f"gid://shopify/Product/{8123456789012 + n}",
        "title": f"Mütze {n}",
        "handle": f"muetze-{n}",
        "status": "ACTIVE",
        "productType": "Hüte",
        "updatedAt": "2025-09-01T10:00:00Z",
        "onlineStoreUrl": None,
        "totalInventory": 3,
        "featuredMedia": {"preview": {"image": {"url": f"https://cdn.shopify.com/m{n}.jpg"}}},
        "variants": {"edges": [{"node": {"price": "25.00", "compareAtPrice": "30.00", "inventoryQuantity": 3}}]},
        "collections": {"edges": [{"node": {"handle": "winter", "title": "Winter"}}]},
    }


def fill(fake: FakeShopify) -> None:
    fake.data["customers"] = [gql_customer(n) for n in range(3)]
    fake.data["orders"] = [
        gql_order(
            5829470273759,
            0,
            "132.90",
            refunds=[
                {
                    "id": "gid://shopify/Refund/9876543210987",
                    "createdAt": "2026-02-10T10:00:00Z",
                    "totalRefundedSet": {"shopMoney": {"amount": "19.50"}},
                }
            ],
        ),
        gql_order(6000000000001, 1, "40.00"),
        gql_order(6000000000002, 1, "60.00", cancelledAt="2025-08-03T10:00:00Z", cancelReason="CUSTOMER"),
    ]
    fake.data["abandonedCheckouts"] = [
        {
            "id": "gid://shopify/AbandonedCheckout/36123456789012",
            "abandonedCheckoutUrl": "https://x/recover",
            "createdAt": "2026-02-03T12:58:00Z",
            "updatedAt": "2026-02-03T13:05:00Z",
            "completedAt": None,
            "customer": {"id": "gid://shopify/Customer/7408451977439", "email": "zoe.angstrom@example.com"},
            "totalPriceSet": {"shopMoney": {"amount": "89.00", "currencyCode": "EUR"}},
            "lineItems": {"edges": []},
        }
    ]
    fake.data["products"] = [product_node(n) for n in range(3)]


def test_backfill_command_imports_every_resource_page_by_page(fake, connected):
    fill(fake)
    out = StringIO()
    call_command("backfill", str(connected.pk), stdout=out)
    counts = json.loads(out.getvalue())
    assert counts["store"] == connected.pk and counts["products"] == 3
    assert len(fake.calls_for("customers")) == 2  # page size 2: two pages
    first = Customer.objects.get(external_id="7408451977439")
    assert first.first_name == "Jürgen" and first.country == "AT" and first.email_consent == "subscribed"
    assert first.orders_count == 1 and first.total_spent == Decimal("113.40")
    assert list(first.tags.values_list("tag", flat=True)) == ["VIP"]  # a backfill carries the whole tag set
    placed = first.events.get(type="order.placed").properties  # the same properties as a webhook's
    assert (placed["tags"], placed["source_name"], placed["customer_locale"], placed["city"]) == (
        ["Erstbestellung"], "web", "de-AT", "Wien")
    assert (placed["line_items"][0]["vendor"], placed["line_items"][0]["variant_title"]) == ("Nordlicht", "42-45")
    second = Customer.objects.get(external_id="7408451977440")
    assert second.orders_count == 1 and second.total_spent == Decimal("40.00")  # the cancelled one does not count
    checkout = Event.objects.get(type="checkout.started")
    assert checkout.customer == first and checkout.properties["recovery_url"] == "https://x/recover"
    product = Product.objects.get(external_id="8123456789012")
    assert product.collections == ["winter"] and product.url == f"https://{SHOP}/products/muetze-0"
    assert product.price == Decimal("25.00") and product.image_url == "https://cdn.shopify.com/m0.jpg"
    state = SyncState.objects.get(store=connected)
    assert state.backfill_finished_at and state.cursors == {} and state.last_error == ""


def test_backfill_overlapping_webhooks_never_doubles_anything(client, fake, connected):
    fill(fake)
    post(client, "orders_updated", "orders/updated", "e1")
    post(client, "checkouts_create", "checkouts/create", "e2")
    before = Customer.objects.get(external_id="7408451977439").total_spent
    call_command("backfill", str(connected.pk), stdout=StringIO())
    call_command("backfill", str(connected.pk), stdout=StringIO())  # and a replay of the backfill
    zoe = Customer.objects.get(external_id="7408451977439")
    assert before == zoe.total_spent == Decimal("113.40")
    assert zoe.events.filter(type="order.placed").count() == 1
    assert zoe.events.filter(type="order.refunded").count() == 1
    assert zoe.events.filter(type="checkout.started").count() == 1


def test_a_failed_backfill_resumes_from_its_cursor(fake, connected):
    fill(fake)
    fake.fail_on = ("orders", 2)
    with pytest.raises(ShopifyAPIError, match="HTTP 500"):
        tasks.backfill_store(connected.pk)
    state = SyncState.objects.get(store=connected)
    assert state.finished == ["products", "customers"] and state.cursors == {"orders": "2"}
    assert "HTTP 500" in state.last_error
    customer_calls = len(fake.calls_for("customers"))
    fake.fail_on = None
    tasks.backfill_store(connected.pk)
    assert len(fake.calls_for("customers")) == customer_calls  # not fetched again
    assert fake.calls_for("orders")[-1]["variables"]["after"] == "2"  # resumed at the saved cursor
    assert Event.objects.filter(type="order.placed").count() == 3


def test_backfill_since_filters_by_updated_at(fake, connected):
    call_command("backfill", str(connected.pk), "--since", "2026-01-15", stdout=StringIO())
    assert fake.calls_for("orders")[0]["variables"]["query"] == "updated_at:>='2026-01-15T00:00:00+00:00'"


def test_backfill_without_a_token_is_a_clear_error(make_store):
    store = make_store(platform="shopify")
    with pytest.raises(Exception, match="no Shopify access token"):
        call_command("backfill", str(store.pk), stdout=StringIO())


def test_reconciliation_recovers_an_order_whose_webhook_never_came(fake, connected):
    SyncState.objects.create(store=connected, last_reconciled_at=datetime(2026, 3, 1, 10, tzinfo=UTC))
    fake.data["orders"] = [gql_order(6100000000001, 0, "75.00", updatedAt="2026-03-01T10:30:00Z")]
    fake.data["customers"] = [gql_customer(0, updatedAt="2026-03-01T10:20:00Z", lastName="Neu")]
    with time_machine.travel(datetime(2026, 3, 1, 11, tzinfo=UTC), tick=False):
        assert tasks.reconcile_store(connected.pk) == {"customers": 3, "orders": 2}  # + consent, + paid
    assert fake.calls_for("orders")[0]["variables"]["query"] == "updated_at:>='2026-03-01T09:45:00+00:00'"
    customer = Customer.objects.get(external_id="7408451977439")
    assert customer.last_name == "Neu" and customer.orders_count == 1
    assert SyncState.objects.get(store=connected).last_reconciled_at == datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert tasks.reconcile_store(connected.pk) == {"customers": 0, "orders": 0}  # nothing new twice


def test_reconciliation_is_scheduled_on_connect_and_skips_uninstalled_stores(client, fake):
    out = StringIO()
    call_command("connect_store", "--platform", "shopify", "--domain", SHOP, "--access-token", TOKEN, stdout=out)
    store_id = json.loads(out.getvalue())["id"]
    schedule = Schedule.objects.get(func="integrations.shopify.tasks.reconcile_store")
    assert schedule.args == str(store_id) and schedule.schedule_type == Schedule.HOURLY
    assert {s["topic"] for s in fake.subscriptions} >= {
        "ORDERS_CREATE",
        "CUSTOMERS_UPDATE",
        "PRODUCTS_UPDATE",
    }
    call_command("connect_store", "--platform", "shopify", "--domain", SHOP, stdout=StringIO())
    assert Schedule.objects.filter(func="integrations.shopify.tasks.reconcile_store").count() == 1
    created = len(fake.subscriptions)
    tasks.register_webhooks(store_id)
    assert len(fake.subscriptions) == created  # already subscribed: nothing created twice
    post(client, "app_uninstalled", "app/uninstalled", "u1")
    calls = len(fake.graphql_calls)
    assert tasks.reconcile_store(store_id) == {}
    assert len(fake.graphql_calls) == calls


def test_consent_changed_in_shopconnect_is_written_back_to_shopify(fake, connected, django_capture_on_commit_callbacks):
    customer = Customer.objects.create(
        store=connected,
        email="zoe@example.com",
        external_id="7408451977439",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        email_consent="subscribed",
    )
    with django_capture_on_commit_callbacks(execute=True):
        record_events(
            connected,
            [
                CanonicalEvent(
                    type="consent.changed",
                    occurred_at=datetime(2026, 2, 1, 9, tzinfo=UTC),
                    dedupe_key="unsub:1",
                    source="email",
                    customer_id=customer.pk,
                    properties={"channel": "email", "state": "unsubscribed", "source": "unsubscribe_link"},
                )
            ],
        )
    (call,) = [c for c in fake.graphql_calls if "customerEmailMarketingConsentUpdate" in c["query"]]
    consent = call["variables"]["input"]
    assert consent["customerId"] == "gid://shopify/Customer/7408451977439"
    assert consent["emailMarketingConsent"]["marketingState"] == "UNSUBSCRIBED"
    assert consent["emailMarketingConsent"]["consentUpdatedAt"] == "2026-02-01T09:00:00+00:00"


def test_consent_that_came_from_shopify_is_never_written_back(
    client, fake, connected, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, "customers_update", "customers/update", "e1")
        post(
            client,
            "customers_email_marketing_consent_update",
            "customers_email_marketing_consent/update",
            "e2",
        )
    assert Customer.objects.get().email_consent == "unsubscribed"
    assert not [c for c in fake.graphql_calls if "customerEmailMarketingConsentUpdate" in c["query"]]


def test_connect_store_still_connects_when_shopify_is_unreachable(fake):
    # the fake serves another shop: requests to this one fail with ConnectionError
    out = StringIO()
    call_command(
        "connect_store",
        "--platform",
        "shopify",
        "--domain",
        "elsewhere.myshopify.com",
        "--access-token",
        TOKEN,
        stdout=out,
    )
    store_id = json.loads(out.getvalue())["id"]
    assert Schedule.objects.filter(func="integrations.shopify.tasks.reconcile_store", args=str(store_id)).exists()
