"""Mandatory compliance topics and uninstall, through signed requests."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission

from integrations.models import WebhookDelivery
from integrations.shopify.models import DataRequest
from shopconnect.privacy.erase import REDACTED_BODY
from shopconnect.timeline.models import Customer, Event, Store

from .helpers import post

CUSTOMER = "7408451977439"


@pytest.fixture
def history(client, shop):
    for n, (name, topic) in enumerate(
        [
            ("customers_create", "customers/create"),
            ("customers_email_marketing_consent_update", "customers_email_marketing_consent/update"),
            ("orders_paid", "orders/paid"),
            ("orders_create_guest", "orders/create"),
            ("checkouts_create", "checkouts/create"),
        ]
    ):
        assert post(client, name, topic, f"h{n}").status_code == 200
    return shop


@pytest.mark.parametrize(
    ("name", "topic"),
    [
        ("customers_data_request", "customers/data_request"),
        ("customers_redact", "customers/redact"),
        ("shop_redact", "shop/redact"),
    ],
)
def test_compliance_topics_with_a_bad_signature_are_401_and_change_nothing(client, history, name, topic):
    assert post(client, name, topic, "c1", secret="forged").status_code == 401
    assert Customer.objects.filter(external_id=CUSTOMER).exists()
    assert not DataRequest.objects.exists()
    assert not WebhookDelivery.objects.filter(topic=topic).exists()


def test_data_request_exports_everything_held_and_shows_it_in_the_admin(client, history, make_user):
    assert post(client, "customers_data_request", "customers/data_request", "c1").status_code == 200
    request = DataRequest.objects.get(store=history)
    assert request.found and request.request_id == "9999" and request.email == "zoe.angstrom@example.com"
    assert request.export["profile"]["first_name"] == "Zoë"
    assert {e["type"] for e in request.export["events"]} >= {
        "customer.created",
        "order.placed",
        "order.paid",
        "checkout.started",
        "consent.changed",
    }
    owner = make_user(history)
    owner.user_permissions.add(*Permission.objects.filter(content_type__app_label="shopify"))
    client.force_login(owner)
    page = client.get(f"/admin/shopify/datarequest/{request.pk}/change/")
    assert page.status_code == 200 and "Ångström" in page.content.decode()
    other = make_user(Store.objects.create(platform="shopify", domain="other.myshopify.com"))
    other.user_permissions.add(*Permission.objects.filter(content_type__app_label="shopify"))
    client.force_login(other)
    assert client.get(f"/admin/shopify/datarequest/{request.pk}/change/").status_code == 404


def test_data_request_for_someone_unknown_records_that_nothing_is_held(client, history):
    body = json.dumps(
        {
            "shop_domain": history.domain,
            "customer": {"id": 1, "email": "nobody@example.com"},
            "data_request": {"id": 5},
        }
    ).encode()
    assert post(client, body, "customers/data_request", "c2").status_code == 200
    assert DataRequest.objects.get().found is False


def test_customer_redact_erases_the_person_and_keeps_the_store_consistent(client, history):
    post(client, "customers_data_request", "customers/data_request", "c1")
    guest = Customer.objects.get(email="gast.kunde@example.de")
    assert post(client, "customers_redact", "customers/redact", "c2").status_code == 200
    assert not Customer.objects.filter(external_id=CUSTOMER).exists()
    assert not Customer.objects.filter(email="zoe.angstrom@example.com").exists()
    assert not Event.objects.filter(store=history).exclude(customer=guest).exclude(customer__isnull=True).exists()
    assert not DataRequest.objects.exists()  # the export held their data too
    guest.refresh_from_db()
    assert guest.orders_count == 1 and str(guest.total_spent) == "39.00"
    # the raw webhook bodies that held their data are scrubbed; the guest's stays
    bodies = {
        d.topic + (":guest" if b"Gast.Kunde" in bytes(d.body) else ""): bytes(d.body)
        for d in WebhookDelivery.objects.all()
    }
    assert not any(b"zoe.angstrom" in body or b"7408451977439" in body for body in bodies.values())
    assert bodies["customers/create"] == REDACTED_BODY and bodies["orders/paid"] == REDACTED_BODY
    assert b"5829470273761" in bodies["orders/create:guest"]
    assert Event.objects.filter(customer=guest).count() == 1


def test_shop_redact_deletes_everything_of_the_store(client, history, make_store, django_capture_on_commit_callbacks):
    other = make_store(platform="shopify")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "shop_redact", "shop/redact", "c1").status_code == 200
    assert not Store.objects.filter(pk=history.pk).exists()
    assert not Customer.objects.filter(store_id=history.pk).exists()
    assert not Event.objects.filter(store_id=history.pk).exists()
    assert not WebhookDelivery.objects.filter(store_id=history.pk).exists()
    assert Store.objects.filter(pk=other.pk).exists()


def test_compliance_topics_work_for_an_uninstalled_store(client, history, django_capture_on_commit_callbacks):
    post(client, "app_uninstalled", "app/uninstalled", "u1")
    history.refresh_from_db()
    assert history.status == Store.Status.UNINSTALLED
    assert post(client, "customers_data_request", "customers/data_request", "c1").status_code == 200
    assert DataRequest.objects.get().found
    assert post(client, "customers_redact", "customers/redact", "c2").status_code == 200
    assert not Customer.objects.filter(external_id=CUSTOMER).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "shop_redact", "shop/redact", "c3").status_code == 200
    assert not Store.objects.filter(pk=history.pk).exists()
