"""Every bad input answers 4xx with a reason, never 500 (issue 13 item 7): hostile bodies and parameters.

Deeply nested JSON (Python's decoder raised RecursionError: a 500) on the API, the admin's JSON endpoints
and forms, /collect/ and webhooks; ids that are not ids (letters, other digits, past 64 bits); event times
outside 1990 .. now + 1 day (rejected by the API, clamped from platforms and the storefront).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from integrations.base import hmac_sha256_base64
from integrations.models import WebhookDelivery
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer, Event
from shopconnect.timeline.record import record_events

pytestmark = pytest.mark.django_db
DEEP = ("[" * 100_000 + "]" * 100_000).encode()
DEEPISH = ('{"a":' * 500 + "1" + "}" * 500).encode()  # within Python's decoder, over our limit


@pytest.fixture
def api(store, make_user, api_client_for):
    return api_client_for(make_user(store))


@pytest.mark.parametrize("body", [DEEP, DEEPISH], ids=["100k levels", "500 levels"])
@pytest.mark.parametrize("url", ["/api/v1/segments/", "/api/v1/events/", "/api/v1/templates/", "/api/v1/flows/",
                                 "/api/v1/segments/preview/"])
def test_deeply_nested_json_on_the_api_is_a_400_saying_so(api, url, body):
    response = api.post(url, body, content_type="application/json")
    assert response.status_code == 400 and "nested more than 64 levels" in response.json()["detail"]


def test_deeply_nested_json_on_the_admins_json_endpoint_and_forms_is_a_400_or_a_form_error(client, store, make_user):
    client.force_login(make_user(store))
    assert client.post("/admin/segments/segment/preview/", DEEP, content_type="application/json").status_code == 400
    page = client.post("/admin/segments/segment/add/", {
        "store": store.pk, "name": "Deep", "description": "", "definition": DEEP.decode(), "is_active": "on"})
    assert page.status_code == 200 and b"nested more than 64 levels" in page.content


@pytest.mark.parametrize("body", [DEEP[:30_000] + DEEP[-30_000:], b'{"events": ' + DEEPISH + b"}"],
                         ids=["30k levels", "500 levels"])
def test_deeply_nested_json_on_collect_is_a_400(client, store, body):
    cache.clear()
    response = client.post(f"/collect/{store.collect_key}/", body, content_type="text/plain")
    assert response.status_code == 400 and "nested" in response.json()["errors"][0]


def test_a_deeply_nested_signed_webhook_is_stored_and_fails_visibly(client, make_store):
    store = make_store(platform="testplatform", webhook_secret="s3cret")
    body = DEEPISH
    response = client.post(f"/webhooks/testplatform/{store.pk}/", data=body, content_type="application/json",
                           headers={"X-Test-Topic": "thing/done", "X-Test-Delivery": "deep-1",
                                    "X-Test-Signature": hmac_sha256_base64("s3cret", body)})
    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get(store=store)
    assert delivery.status == WebhookDelivery.Status.FAILED and "nested more than 64 levels" in delivery.last_error


@pytest.mark.parametrize("query", ["store=abc", "store=99999999999999999999999", "store=%C2%B2", "store=-1"])
@pytest.mark.parametrize("path", ["/api/v1/segments/", "/api/v1/customers/", "/api/v1/messages/"])
def test_bad_id_parameters_are_a_400_naming_the_parameter(api, path, query):
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400 and "store" in response.json()


@pytest.mark.parametrize("param", ["customer", "flow", "campaign"])
def test_bad_message_filters_are_a_400(api, param):
    response = api.get(f"/api/v1/messages/?{param}=99999999999999999999999")
    assert response.status_code == 400 and param in response.json()


def custom_event(store, when: str) -> dict:
    return {"store": store.pk, "customer": {"email": "ana@example.com"}, "type": "custom.sms_reply",
            "occurred_at": when, "properties": {}, "dedupe_key": str(uuid.uuid4())}


@pytest.mark.parametrize("when", ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z", "1989-12-31T23:59:59Z",
                                  (timezone.now() + timedelta(days=2)).isoformat()])
def test_the_events_api_refuses_times_outside_1990_to_tomorrow(api, store, when):
    response = api.post("/api/v1/events/", custom_event(store, when), format="json")
    assert response.status_code == 400 and "occurred_at" in response.json()
    assert not Event.objects.exists()


def test_the_events_api_accepts_a_time_a_little_ahead(api, store):
    when = (timezone.now() + timedelta(hours=2)).isoformat()
    assert api.post("/api/v1/events/", custom_event(store, when), format="json").status_code == 201


def test_platform_and_storefront_times_outside_the_window_are_clamped_and_the_given_time_kept(client, store):
    far = timezone.now().replace(year=9999)
    record_events(store, [CanonicalEvent(type="order.placed", occurred_at=far, dedupe_key="o1", source="shopify",
                                         email="bo@example.com", order_ref="1", properties={"order_id": "1"})])
    event = Event.objects.get(dedupe_key="o1")
    assert event.occurred_at <= timezone.now() + timedelta(days=1)
    assert event.properties["occurred_at_given"].startswith("9999-")
    bo = Customer.objects.get(email="bo@example.com")
    assert bo.last_seen_at.year < 9999 and bo.last_order_at.year < 9999
    cache.clear()
    old = {"id": str(uuid.uuid4()), "name": "page_viewed", "timestamp": "0001-01-01T00:00:00Z",
           "client_id": "v-old", "url": "https://shop.example/"}
    assert client.post(f"/collect/{store.collect_key}/", json.dumps({"events": [old]}),
                       content_type="text/plain").status_code == 202
    viewed = Event.objects.get(type="page.viewed")
    assert viewed.occurred_at.year == 1990 and viewed.properties["occurred_at_given"].startswith("0001-")
