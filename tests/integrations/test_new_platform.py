"""Adding a platform touches no core file: the test adapter (tests/integrations/fake_adapter.py), named
only in ``PLATFORM_ADAPTERS`` (tests/settings.py), gets everything a platform needs from the registry."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from integrations.base import hmac_sha256_base64
from shopconnect.timeline.models import Customer, Store

from .fake_adapter import FakeAdapter

pytestmark = pytest.mark.django_db


def connect(*args) -> dict:
    out = StringIO()
    call_command("connect_store", "--platform", "testplatform", *args, stdout=out)
    return json.loads(out.getvalue())


def test_connect_webhook_url_signed_delivery_and_timeline(client):
    FakeAdapter.connected.clear()
    info = connect("--url", "https://shop.test.example", "--webhook-secret", "s3cret", "--region", "eu")
    store = Store.objects.get(pk=info["id"])
    assert (store.platform, store.domain, store.get_platform_display()) == ("testplatform", "shop.test.example",
                                                                          "Test platform")
    assert info["webhook_url"] == f"https://shopconnect.test/webhooks/testplatform/{store.pk}/"
    assert FakeAdapter.connected == [(store.pk, "eu")]  # the adapter's own connect step ran
    assert connect("--url", "https://shop.test.example/")["id"] == store.pk  # idempotent

    body = json.dumps({"id": "o1", "email": "Ann@Example.com", "at": "2026-03-01T10:00:00Z", "total": "42.50",
                       "currency": "EUR", "paid_at": "2026-03-01T10:01:00Z"}).encode()
    response = client.post(info["webhook_url"].removeprefix("https://shopconnect.test"), data=body,
                           content_type="application/json",
                           headers={"X-Test-Topic": "order/placed", "X-Test-Delivery": "d1",
                                    "X-Test-Signature": hmac_sha256_base64("s3cret", body)})
    assert response.status_code == 200
    ann = Customer.objects.get(store=store, email="ann@example.com")
    assert (ann.orders_count, ann.total_spent) == (1, Decimal("42.50"))
    assert sorted(ann.events.values_list("dedupe_key", flat=True)) == [
        "testplatform:order:o1:paid", "testplatform:order:o1:placed"]

    assert client.get("/testplatform/hello").content == b"hello from the test platform"  # its own page


def test_the_platform_is_a_store_choice_and_needs_no_migration():
    from django.contrib.admin.sites import site

    form = site._registry[Store].get_form(None)()
    assert ("testplatform", "Test platform") in form.fields["platform"].choices
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())  # exits 1 on a change


def test_connect_store_offers_the_configured_platforms_with_their_options():
    from django.core.management import get_commands, load_command_class

    parser = load_command_class(get_commands()["connect_store"], "connect_store").create_parser("manage.py",
                                                                                                "connect_store")
    text = parser.format_help()
    assert "testplatform" in text and "--region" in text and "Test platform: the test platform's region" in text
