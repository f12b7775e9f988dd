"""One consent ledger: every change is a consent.changed with its source and evidence, from every path,
through real HTTP; the admin shows it and cannot bypass it; keys are deterministic; Shopify hears of it."""

from __future__ import annotations

import json

import pytest
import responses

from campaigns.consent import unsubscribe
from campaigns.models import Suppression
from campaigns.tokens import unsubscribe_url
from shopconnect.timeline.consent import history
from shopconnect.timeline.models import Customer, Event, StoreMembership
from tests.integrations.shopify.fake_shopify import FakeShopify

T = "2026-03-01T10:00:00Z"


@pytest.fixture
def customer(make_store, make_event):
    from shopconnect.timeline.record import record_events

    store = make_store(platform="shopify", domain="zoe-test.myshopify.com", access_token="shpat_fake_token_0123456789")
    record_events(store, [make_event("customer.created", email="ana@example.com", external_id="7408451977439",
                                     profile={"first_name": "Ana"}, source="shopify")])
    return Customer.objects.get(store=store, email="ana@example.com")


def _member(make_user, store, role):
    user = make_user(store)
    StoreMembership.objects.filter(user=user).update(role=role)
    return user


def test_admin_consent_change_goes_through_the_ledger_with_the_staff_user_and_reaches_shopify(
        client, customer, make_user, django_capture_on_commit_callbacks):
    marketer = _member(make_user, customer.store, "marketer")
    client.force_login(marketer)
    page = client.get(f"/admin/timeline/customer/{customer.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="change-consent"' in html
    assert 'name="email_consent"' not in html  # the field is not editable: only the ledger changes it
    form = client.get(f"/admin/timeline/customer/{customer.pk}/consent/")
    assert "written to Shopify" in form.content.decode()
    assert client.post(f"/admin/timeline/customer/{customer.pk}/consent/", {"state": "subscribed"}).status_code == 200
    assert not history(customer).exists()  # a reason is required

    fake = FakeShopify()
    with responses.RequestsMock() as rsps, django_capture_on_commit_callbacks(execute=True):
        fake.install(rsps)
        done = client.post(f"/admin/timeline/customer/{customer.pk}/consent/",
                           {"state": "subscribed", "reason": "Asked by phone, ticket 812"}, follow=True)
    assert done.status_code == 200
    text = done.content.decode()
    assert "recorded in the consent history as changed by" in text and "Asked by phone, ticket 812" in text
    customer.refresh_from_db()
    assert customer.email_consent == "subscribed" and customer.consent_updated_at is not None
    (entry,) = history(customer)
    assert entry.source == "admin" and entry.properties["source"] == "admin"
    assert entry.properties["evidence"] == {"staff_user": marketer.username, "staff_user_id": marketer.pk,
                                            "reason": "Asked by phone, ticket 812"}
    (call,) = fake.calls_for("customerEmailMarketingConsentUpdate") or [
        c for c in fake.graphql_calls if "customerEmailMarketingConsentUpdate" in c["query"]]
    consent = call["variables"]["input"]["emailMarketingConsent"]
    assert call["variables"]["input"]["customerId"] == "gid://shopify/Customer/7408451977439"
    assert consent["marketingState"] == "SUBSCRIBED"

    # Posting the change form the stock way cannot change consent either.
    client.post(f"/admin/timeline/customer/{customer.pk}/change/",
                {"email": customer.email, "email_consent": "unsubscribed", "first_name": "Ana", "properties": "{}",
                 "tags-TOTAL_FORMS": "0", "tags-INITIAL_FORMS": "0"})
    customer.refresh_from_db()
    assert customer.email_consent == "subscribed"


def test_viewers_see_the_history_but_cannot_change_consent(client, customer, make_user):
    viewer = _member(make_user, customer.store, "viewer")
    client.force_login(viewer)
    html = client.get(f"/admin/timeline/customer/{customer.pk}/change/").content.decode()
    assert "Email consent" in html and 'id="change-consent"' not in html
    assert client.post(f"/admin/timeline/customer/{customer.pk}/consent/",
                       {"state": "unsubscribed", "reason": "x"}).status_code == 404
    assert not history(customer).exists()


def test_unsubscribe_link_twice_is_one_change_and_the_keys_do_not_depend_on_chance(client, customer):
    customer.email_consent = "subscribed"
    customer.save()
    url = unsubscribe_url(customer.store_id, customer.pk, None)
    path = url.split("shopconnect.test", 1)[1]
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    customer.refresh_from_db()
    unsubscribe(Customer.objects.get(pk=customer.pk), "complaint", ref="postmark:1:evt-9")
    unsubscribe(Customer.objects.get(pk=customer.pk), "complaint", ref="postmark:1:evt-9")  # redelivered
    sources = [e.properties["source"] for e in history(customer)]
    assert sources == ["complaint", "unsubscribe_link"]
    link = history(customer).get(properties__source="unsubscribe_link")
    assert link.dedupe_key == f"consent:unsubscribe_link:{customer.pk}:email:unsubscribed:from:subscribed:never"
    assert Suppression.objects.filter(store=customer.store, email="ana@example.com", reason="unsubscribe").exists()


def test_the_api_records_consent_changes_from_developers_with_their_source(api_client_for, customer, make_user):
    user = _member(make_user, customer.store, "marketer")
    api = api_client_for(user)
    body = {"store": customer.store_id, "customer": {"email": "ana@example.com"}, "type": "consent.changed",
            "occurred_at": T, "properties": {"state": "subscribed", "source": "pos",
                                             "evidence": {"till": "3", "note": "signed the paper form"}},
            "dedupe_key": "pos-771"}
    first = api.post("/api/v1/events/", body, format="json")
    assert first.status_code == 201, first.content
    assert api.post("/api/v1/events/", body, format="json").json()["duplicate"] is True
    customer.refresh_from_db()
    assert customer.email_consent == "subscribed"
    (entry,) = history(customer)
    assert entry.source == "api" and entry.properties["source"] == "pos"
    assert entry.properties["evidence"] == {"till": "3", "note": "signed the paper form", "api_user": user.username}
    bad = api.post("/api/v1/events/", {**body, "properties": {"state": "maybe"}, "dedupe_key": "x"}, format="json")
    assert bad.status_code == 400 and "state" in json.dumps(bad.json())
    spoof = api.post("/api/v1/events/", {**body, "properties": {"state": "subscribed", "source": "Shopify!"},
                                         "dedupe_key": "y"}, format="json")
    assert spoof.status_code == 400
    assert Event.objects.filter(type="consent.changed").count() == 1
