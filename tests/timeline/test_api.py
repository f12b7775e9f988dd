"""The REST API: stores, customers with aggregates, timelines, custom events, tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from shopconnect.timeline.models import Customer, Event
from shopconnect.timeline.record import record_events

from ..conftest import order

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stores(make_store, make_user, make_event):
    mine, theirs = make_store(name="Mine"), make_store(name="Theirs")
    record_events(mine, [order(make_event, "me@x.io", "1", "40.00")] + [
        make_event("product.viewed", at=timedelta(minutes=i), email="me@x.io", properties={"n": i})
        for i in range(60)
    ])
    record_events(theirs, [order(make_event, "other@x.io", "2", "10.00")])
    return mine, theirs, make_user(mine)


def test_user_sees_only_its_stores(two_stores, api_client_for):
    mine, theirs, user = two_stores
    api = api_client_for(user)
    assert [s["id"] for s in api.get("/api/v1/stores/").json()["results"]] == [mine.pk]
    assert api.get(f"/api/v1/stores/{theirs.pk}/").status_code == 404


def test_another_stores_customer_is_404(two_stores, api_client_for):
    mine, theirs, user = two_stores
    api = api_client_for(user)
    other = Customer.objects.get(store=theirs)
    assert api.get(f"/api/v1/customers/{other.pk}/").status_code == 404
    assert api.get(f"/api/v1/customers/{other.pk}/timeline/").status_code == 404
    emails = [c["email"] for c in api.get("/api/v1/customers/").json()["results"]]
    assert emails == ["me@x.io"]


def test_customer_detail_has_aggregates_and_filter_by_email(two_stores, api_client_for):
    mine, _, user = two_stores
    api = api_client_for(user)
    found = api.get("/api/v1/customers/", {"store": mine.pk, "email": "ME@x.io"}).json()["results"]
    assert len(found) == 1
    detail = api.get(f"/api/v1/customers/{found[0]['id']}/").json()
    assert detail["orders_count"] == 1
    assert detail["total_spent"] == "40.00"
    assert detail["average_order_value"] == "40.00"
    assert detail["first_order_at"].startswith("2026-01-01T12:00")
    assert detail["email_consent"] == "not_subscribed"
    assert detail["prediction"] is None


def test_timeline_is_newest_first_and_paginated(two_stores, api_client_for):
    _, _, user = two_stores
    api = api_client_for(user)
    customer = Customer.objects.get(email="me@x.io")
    page1 = api.get(f"/api/v1/customers/{customer.pk}/timeline/").json()
    assert len(page1["results"]) == 50
    times = [e["occurred_at"] for e in page1["results"]]
    assert times == sorted(times, reverse=True)
    assert page1["results"][0]["properties"] == {"n": 59}
    page2 = api.get(page1["next"]).json()
    assert len(page2["results"]) == 11 and page2["next"] is None
    assert page2["results"][-1]["type"] == "order.placed"
    assert page2["results"][-1]["description"].startswith("Placed order")


def test_post_custom_event_creates_customer_and_is_idempotent(two_stores, api_client_for):
    mine, _, user = two_stores
    api = api_client_for(user)
    body = {"store": mine.pk, "customer": {"email": "sms@x.io"}, "type": "custom.sms_reply",
            "occurred_at": "2026-02-01T10:00:00Z", "properties": {"text": "STOP"}, "dedupe_key": "sms-1"}
    first = api.post("/api/v1/events/", body, format="json")
    again = api.post("/api/v1/events/", body, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["duplicate"] is True
    customer = Customer.objects.get(email="sms@x.io")
    assert list(customer.events.values_list("type", flat=True)) == ["custom.sms_reply"]
    assert customer.last_seen_at.isoformat().startswith("2026-02-01T10:00")


@pytest.mark.parametrize("change,field", [
    ({"type": "order.placed"}, "type"),
    ({"customer": {}}, "customer"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"store": 999999}, "store"),
])
def test_invalid_custom_event_is_400_with_field_errors(two_stores, api_client_for, change, field):
    mine, _, user = two_stores
    body = {"store": mine.pk, "customer": {"email": "a@x.io"}, "type": "custom.ok",
            "occurred_at": "2026-02-01T10:00:00Z", **change}
    response = api_client_for(user).post("/api/v1/events/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Event.objects.filter(type="custom.ok").exists()


def test_cannot_post_events_into_another_store(two_stores, api_client_for):
    _, theirs, user = two_stores
    body = {"store": theirs.pk, "customer": {"email": "a@x.io"}, "type": "custom.x",
            "occurred_at": "2026-02-01T10:00:00Z"}
    assert api_client_for(user).post("/api/v1/events/", body, format="json").status_code == 400


def test_token_auth_and_anonymous_refused(two_stores):
    _, _, user = two_stores
    assert APIClient().get("/api/v1/customers/").status_code == 401
    token = Token.objects.create(user=user)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/customers/").status_code == 200


def test_list_query_count_does_not_grow_with_customers(make_store, make_user, make_event, api_client_for,
                                                        django_assert_max_num_queries):
    store = make_store()
    record_events(store, [make_event(email=f"c{i}@x.io", dedupe_key=f"k{i}") for i in range(30)])
    api = api_client_for(make_user(store))
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/v1/customers/").json()["results"]) == 30


def test_openapi_schema_and_docs(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/customers/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"cdn" not in docs.content.lower()
