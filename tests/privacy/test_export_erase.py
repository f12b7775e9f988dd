"""Export and erase any customer, from the admin (confirmation pages) and the API, recorded without the
person's data; suppressions and soft-bounce streaks keep a hash so a re-imported address is never mailed."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from campaigns.models import EmailProvider, EmailTemplate, Message, SoftBounceStreak, Suppression
from campaigns.outbox import enqueue
from campaigns.sender import send_due_messages
from integrations.storefront.models import CollectBatch
from shopconnect.privacy.models import PrivacyRequest
from shopconnect.timeline.models import Customer, Event, StoreMembership
from shopconnect.timeline.record import record_events


@pytest.fixture
def woo(make_store):
    store = make_store(platform="woocommerce", url="https://shop.example")
    EmailProvider.objects.create(store=store, kind=EmailProvider.Kind.LOCMEM, from_email="hi@shop.example")
    return store


@pytest.fixture
def rosa(woo, make_event):
    record_events(woo, [
        make_event("customer.created", email="rosa@example.com", profile={"first_name": "Rosa"}, source="woocommerce"),
        make_event("order.placed", email="rosa@example.com", order_ref="1001", amount="59.90",
                   properties={"order_id": "1001", "total": "59.90"}, source="woocommerce"),
        make_event("consent.changed", email="rosa@example.com", source="woocommerce",
                   properties={"channel": "email", "state": "subscribed", "source": "woocommerce"}),
    ])
    return Customer.objects.get(store=woo, email="rosa@example.com")


def _user(make_user, store, role):
    user = make_user(store)
    StoreMembership.objects.filter(user=user).update(role=role)
    return user


def test_owner_exports_from_the_admin_after_a_confirmation_page(client, rosa, make_user):
    client.force_login(_user(make_user, rosa.store, "owner"))
    page = client.post("/admin/timeline/customer/", {"action": "export_selected", "_selected_action": [rosa.pk]})
    assert page.status_code == 200 and "rosa@example.com" in page.content.decode()
    assert not PrivacyRequest.objects.exists()  # nothing happens before the confirmation
    download = client.post("/admin/timeline/customer/", {
        "action": "export_selected", "_selected_action": [rosa.pk], "confirm": "yes", "reason": "Request by email"})
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="customer-{rosa.pk}-export.json"'
    data = json.loads(download.content)
    assert data["profile"]["email"] == "rosa@example.com" and data["profile"]["first_name"] == "Rosa"
    assert {e["type"] for e in data["events"]} >= {"customer.created", "order.placed", "consent.changed"}
    assert data["consent_history"][0]["properties"]["state"] == "subscribed"
    assert set(data) >= {"messages", "segments", "flows", "prediction", "signups", "suppressions"}
    record = PrivacyRequest.objects.get()
    assert (record.kind, record.via, record.customer_ref, record.reason) == ("export", "admin", rosa.pk,
                                                                             "Request by email")
    assert "rosa" not in json.dumps(record.summary) + record.requested_by_name


def test_owner_erases_from_the_admin_and_a_reimported_address_is_never_mailed(client, rosa, make_user, make_event):
    store = rosa.store
    Suppression.objects.create(store=store, email="rosa@example.com", reason="hard_bounce", detail="550 no such user")
    SoftBounceStreak.objects.create(store=store, email="rosa@example.com", count=3)
    CollectBatch.objects.create(store=store, batch_key="k", events=[{"email": "rosa@example.com"}],
                                received_at=rosa.created_at, status="processed")
    owner = _user(make_user, store, "owner")
    client.force_login(owner)
    page = client.get(f"/admin/timeline/customer/{rosa.pk}/erase/")
    assert "This cannot be undone" in page.content.decode() and "rosa@example.com" in page.content.decode()
    assert client.post(f"/admin/timeline/customer/{rosa.pk}/erase/", {"confirm": "yes"}).status_code == 200
    assert Customer.objects.filter(pk=rosa.pk).exists()  # no reason: not erased
    done = client.post(f"/admin/timeline/customer/{rosa.pk}/erase/", {"confirm": "yes", "reason": "Ticket 812"},
                       follow=True)
    assert "Erased 1 customer" in done.content.decode()
    assert not Customer.objects.filter(pk=rosa.pk).exists() and not Event.objects.filter(customer_id=rosa.pk).exists()
    assert not CollectBatch.objects.filter(store=store).exists()
    assert not Suppression.objects.filter(email__contains="rosa").exists()
    assert not SoftBounceStreak.objects.filter(email__contains="rosa").exists()
    assert Suppression.objects.get(store=store).email.startswith("sha256:")
    record = PrivacyRequest.objects.get(kind="erase")
    assert record.requested_by_name == owner.username and record.reason == "Ticket 812"
    assert record.summary["events"] == 3 and "rosa" not in json.dumps(record.summary)

    # The address comes back with a new order; a transactional email to it is still refused.
    record_events(store, [make_event("order.placed", email="rosa@example.com", order_ref="2002", amount="10.00",
                                     properties={"order_id": "2002"}, source="woocommerce")])
    again = Customer.objects.get(store=store, email="rosa@example.com")
    template = EmailTemplate.objects.create(store=store, name="t", subject="Hi", html="<p>Hi</p>")
    enqueue([Message(store=store, customer=again, template=template, marketing=False, idempotency_key="t1")])
    send_due_messages()
    assert mail.outbox == []
    assert Message.objects.get(idempotency_key="t1").skip_reason == "suppressed (hard_bounce)"


def test_marketers_may_not_erase(client, rosa, make_user):
    client.force_login(_user(make_user, rosa.store, "marketer"))
    response = client.post(f"/admin/timeline/customer/{rosa.pk}/erase/", {"confirm": "yes", "reason": "x"},
                           follow=True)
    assert "only its owners can" in response.content.decode()
    assert Customer.objects.filter(pk=rosa.pk).exists()


def test_api_export_and_erase(api_client_for, rosa, make_user, make_store):
    owner = _user(make_user, rosa.store, "owner")
    api = api_client_for(owner)
    assert api.post(f"/api/v1/customers/{rosa.pk}/export/", {}, format="json").status_code == 400  # a reason
    export = api.post(f"/api/v1/customers/{rosa.pk}/export/", {"reason": "DSAR 5"}, format="json")
    assert export.status_code == 200 and export["Content-Disposition"].startswith("attachment;")
    assert json.loads(export.content)["profile"]["email"] == "rosa@example.com"
    marketer = api_client_for(_user(make_user, rosa.store, "marketer"))
    assert marketer.post(f"/api/v1/customers/{rosa.pk}/erase/", {"reason": "x"}, format="json").status_code == 403
    stranger = api_client_for(_user(make_user, make_store(platform="woocommerce"), "owner"))
    assert stranger.post(f"/api/v1/customers/{rosa.pk}/erase/", {"reason": "x"}, format="json").status_code == 404
    erased = api.post(f"/api/v1/customers/{rosa.pk}/erase/", {"reason": "DSAR 5"}, format="json")
    assert erased.status_code == 200 and erased.json()["erased"] is True
    assert not Customer.objects.filter(pk=rosa.pk).exists()
    assert list(PrivacyRequest.objects.order_by("id").values_list("kind", "via")) == [("export", "api"),
                                                                                      ("erase", "api")]
