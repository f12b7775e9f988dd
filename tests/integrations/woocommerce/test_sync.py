"""connect_store, backfill and reconciliation against a faked WooCommerce REST API (``responses``)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pytest
import responses
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from integrations.woocommerce import sync
from integrations.woocommerce.models import WooCommerceConnection
from shopconnect.timeline.models import Customer, Event, Product, Store

from .helpers import deliver, payload

API = "https://shop.example/wp-json/wc/v3"


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def keyed_store(make_store):
    return make_store(
        platform="woocommerce",
        domain="shop.example",
        url="https://shop.example",
        consumer_key="ck_test",
        consumer_secret="cs_test",
    )


def _page(mock, endpoint, items, page, total_pages, status=200):
    mock.get(
        f"{API}/{endpoint}",
        json=items,
        status=status,
        headers={"X-WP-TotalPages": str(total_pages)},
        match=[responses.matchers.query_param_matcher({"page": str(page)}, strict_match=False)],
    )


def test_connect_store_registers_every_webhook_with_a_generated_secret(db, api, client):
    api.get(f"{API}/webhooks", json=[], headers={"X-WP-TotalPages": "1"})
    created = []

    def create(request):
        body = json.loads(request.body)
        created.append(body)
        return 201, {}, json.dumps({"id": 100 + len(created), **body})

    api.add_callback(responses.POST, f"{API}/webhooks", callback=create)
    out = io.StringIO()
    call_command(
        "connect_store",
        "--platform",
        "woocommerce",
        "--url",
        "https://shop.example",
        "--consumer-key",
        "ck_live",
        "--consumer-secret",
        "cs_live",
        stdout=out,
    )
    printed = json.loads(out.getvalue())
    store = Store.objects.get(pk=printed["id"])
    assert printed["webhook_url"] == f"https://shopconnect.test/webhooks/woocommerce/{store.pk}/"
    assert sorted(h["topic"] for h in created) == sorted(sync.WEBHOOK_TOPICS)
    assert {h["delivery_url"] for h in created} == {printed["webhook_url"]}
    secret = store.webhook_secret
    assert len(secret) >= 40 and {h["secret"] for h in created} == {secret}
    assert all(call.request.req_kwargs["timeout"] == 30 for call in api.calls)
    assert WooCommerceConnection.objects.get(store=store).webhooks["order.updated"] > 100
    assert Schedule.objects.filter(func="integrations.woocommerce.sync.reconcile_all").count() == 1
    # The registered secret signs real deliveries.
    assert deliver(client, store, "order_paid", "order.created", secret).status_code == 200
    assert Event.objects.filter(store=store, type="order.placed").count() == 1


def test_connect_with_wrong_keys_says_so(db, api):
    api.get(f"{API}/webhooks", status=401, json={"code": "woocommerce_rest_cannot_view"})
    with pytest.raises(CommandError, match="could not register the webhooks.*HTTP 401"):
        call_command(
            "connect_store",
            "--platform",
            "woocommerce",
            "--url",
            "https://shop.example",
            "--consumer-key",
            "ck_bad",
            "--consumer-secret",
            "cs_bad",
            stdout=io.StringIO(),
        )


def test_reconnecting_updates_the_existing_webhooks(db, api, keyed_store):
    url = f"https://shopconnect.test/webhooks/woocommerce/{keyed_store.pk}/"
    api.get(
        f"{API}/webhooks",
        json=[{"id": 7, "topic": t, "delivery_url": url} for t in sync.WEBHOOK_TOPICS],
        headers={"X-WP-TotalPages": "1"},
    )
    api.put(re.compile(rf"{API}/webhooks/7"), json={"id": 7})
    ids = sync.register_webhooks(keyed_store)
    assert set(ids.values()) == {7}
    assert [c.request.method for c in api.calls].count("POST") == 0


def test_backfill_imports_all_pages_and_resumes_after_a_failure(db, api, keyed_store):
    order_2 = {**payload("order_guest")}
    _page(api, "customers", [payload("customer_created")], 1, 1)
    _page(api, "orders", [payload("order_paid")], 1, 2)
    _page(api, "orders", {"code": "internal_server_error"}, 2, 2, status=500)
    with pytest.raises(sync.WooCommerceError, match="orders page 2: HTTP 500"):
        sync.backfill(keyed_store)
    state = WooCommerceConnection.objects.get(store=keyed_store).backfill_state
    assert state["orders"] == 2 and state["done"] == ["customers"]

    api.reset()
    _page(api, "orders", {"code": "internal_server_error"}, 2, 2, status=500)
    with pytest.raises(CommandError, match="run it again to resume"):
        call_command("backfill", str(keyed_store.pk), stdout=io.StringIO())
    api.reset()
    _page(api, "orders", [order_2], 2, 2)
    _page(api, "products", [payload("product_updated")], 1, 1)
    out = io.StringIO()
    call_command("backfill", str(keyed_store.pk), stdout=out)
    fetched = [(c.request.url.split("?")[0].rsplit("/", 1)[1], c.request.params["page"]) for c in api.calls]
    assert fetched == [("orders", "2"), ("products", "1")]  # resumed: page 1 and customers not fetched again
    assert json.loads(out.getvalue())["orders"] == 1
    assert Customer.objects.filter(store=keyed_store).count() == 2
    assert Event.objects.filter(store=keyed_store, type="order.placed").count() == 2
    assert Product.objects.filter(store=keyed_store).count() == 1
    conn = WooCommerceConnection.objects.get(store=keyed_store)
    assert conn.backfill_state == {} and conn.backfill_completed_at is not None


def test_backfill_overlapping_webhooks_counts_once(db, api, client, keyed_store):
    keyed_store.webhook_secret = "s"
    keyed_store.save()
    deliver(client, keyed_store, "order_refunded_partial", "order.updated", "s")
    _page(api, "customers", [], 1, 0)
    _page(api, "orders", [payload("order_refunded_partial")], 1, 1)
    _page(api, "products", [], 1, 0)
    assert sync.backfill(keyed_store)["events"] == 0
    customer = Customer.objects.get(store=keyed_store)
    assert customer.events.count() == 3 and customer.orders_count == 1


def test_backfill_since_asks_for_modified_after(db, api, keyed_store):
    for endpoint in ("customers", "orders", "products"):
        _page(api, endpoint, [], 1, 0)
    sync.backfill(keyed_store, datetime(2026, 1, 1, tzinfo=UTC))
    assert {c.request.params["modified_after"] for c in api.calls} == {"2026-01-01T00:00:00"}


def test_reconcile_reenables_a_disabled_webhook_tells_the_owner_and_fetches_missed_changes(db, api, keyed_store):
    WooCommerceConnection.objects.create(
        store=keyed_store,
        webhooks={"order.updated": 11, "order.created": 12},
        reconciled_until=datetime(2026, 2, 5, 8, 0, tzinfo=UTC),
    )
    api.get(f"{API}/webhooks/11", json={"id": 11, "status": "disabled"})
    api.get(f"{API}/webhooks/12", json={"id": 12, "status": "active"})
    reenabled = []
    api.add_callback(
        responses.PUT,
        f"{API}/webhooks/11",
        callback=lambda r: reenabled.append(json.loads(r.body)) or (200, {}, '{"id": 11}'),
    )
    _page(api, "customers", [], 1, 0)
    _page(api, "orders", [payload("order_refunded_partial")], 1, 1)
    counts = sync.reconcile(keyed_store.pk)
    assert reenabled == [{"status": "active"}]
    assert counts["reenabled"] == ["order.updated"] and counts["events"] == 3
    conn = WooCommerceConnection.objects.get(store=keyed_store)
    assert "order.updated" in conn.alert and "re-enabled" in conn.alert
    orders_call = next(c for c in api.calls if "/orders" in c.request.url)
    assert orders_call.request.params["modified_after"] == "2026-02-05T07:55:00"  # 5 minutes of overlap
    assert conn.reconciled_until > datetime(2026, 2, 5, 8, 0, tzinfo=UTC)
    assert Customer.objects.get(store=keyed_store).events.filter(type="order.refunded").count() == 1


def test_reconcile_reads_customers_newest_first_until_the_window(db, api, keyed_store):
    WooCommerceConnection.objects.create(store=keyed_store, reconciled_until=datetime(2026, 1, 15, tzinfo=UTC))
    new = {
        **payload("customer_created"),
        "id": 41,
        "email": "new@example.com",
        "date_created_gmt": "2026-01-20T10:00:00",
        "date_modified_gmt": "2026-01-20T10:00:00",
    }
    old = {
        **payload("customer_created"),
        "id": 5,
        "email": "old@example.com",
        "date_created_gmt": "2025-06-01T10:00:00",
        "date_modified_gmt": "2025-06-01T10:00:00",
    }
    _page(api, "customers", [new, old], 1, 3)  # page 2 and 3 are never needed
    _page(api, "orders", [], 1, 0)
    assert sync.reconcile(keyed_store.pk)["customers"] == 1
    assert list(Customer.objects.filter(store=keyed_store).values_list("email", flat=True)) == ["new@example.com"]
    customers_calls = [c for c in api.calls if "/customers" in c.request.url]
    assert len(customers_calls) == 1 and customers_calls[0].request.params["orderby"] == "registered_date"


def test_reconcile_all_queues_only_stores_with_keys(db, api, keyed_store, make_store):
    make_store(platform="woocommerce")  # no REST keys: webhooks only
    WooCommerceConnection.objects.create(store=keyed_store, webhooks={})
    _page(api, "customers", [], 1, 0)
    _page(api, "orders", [], 1, 0)
    assert sync.reconcile_all() == 1  # sync mode in tests: the reconcile ran inline
    assert WooCommerceConnection.objects.get(store=keyed_store).reconciled_until is not None


def test_the_admin_shows_the_alert_only_to_the_stores_members(db, client, keyed_store, make_store, make_user):
    WooCommerceConnection.objects.create(store=keyed_store, alert="webhooks re-enabled")
    other = make_store(platform="woocommerce")
    WooCommerceConnection.objects.create(store=other, alert="other store's alert")
    from django.contrib.auth.models import Permission

    user = make_user(keyed_store)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="woocommerce"))
    client.force_login(user)
    page = client.get("/admin/woocommerce/woocommerceconnection/").content.decode()
    assert "webhooks re-enabled" in page and "other store&#x27;s alert" not in page
