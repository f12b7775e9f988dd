"""Shared fixtures: factories for stores, users and canonical events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Store, StoreMembership

pytest_plugins = ["tests.browser"]  # the admin_browser fixture (Playwright + Chromium)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
_counter = itertools.count(1)


#: a public address (example.com's) that the suite's fake shop names resolve to; nothing listens there and
#: no test connects to it (platform APIs are faked with ``responses`` or loopback servers)
FAKE_PUBLIC_ADDRESS = "93.184.216.34"
FAKE_SUFFIXES = (".example", ".myshopify.com", ".test", ".example.com", ".example.net")


@pytest.fixture(autouse=True)
def _fake_names_resolve_publicly(monkeypatch):
    """Fake shop hosts (``shop1.example``, ``x.myshopify.com``) resolve to a public address, so the outbound
    checks (shopconnect.outbound) judge them as the real thing; every other name and every IP literal is
    resolved for real, so loopback, private and metadata addresses are still refused. Attack tests that
    need another answer (DNS rebinding) patch ``outbound.resolve`` themselves."""
    from shopconnect import outbound

    real = outbound.resolve

    def resolve(host: str, port: int) -> list[str]:
        if host.lower().rstrip(".").endswith(FAKE_SUFFIXES):
            return [FAKE_PUBLIC_ADDRESS]
        return real(host, port)

    monkeypatch.setattr(outbound, "resolve", resolve)


@pytest.fixture
def make_store(db):
    def make(platform: str = "shopify", domain: str | None = None, **fields) -> Store:
        n = next(_counter)
        domain = domain or (f"shop{n}.myshopify.com" if platform == "shopify" else f"shop{n}.example")
        return Store.objects.create(platform=platform, domain=domain, name=fields.pop("name", f"Shop {n}"), **fields)

    return make


@pytest.fixture
def store(make_store) -> Store:
    return make_store()


@pytest.fixture
def make_user(db):
    def make(*stores: Store, superuser: bool = False, staff: bool = True, role: str = "marketer"):
        n = next(_counter)
        user = get_user_model().objects.create_user(
            username=f"user{n}", password="pw", is_staff=staff, is_superuser=superuser
        )
        if staff and not superuser:
            from django.contrib.auth.models import Permission

            # Every model permission of the apps (what a careless operator might grant), except the
            # operators' own: roles in the store decide the rest (shopconnect.tenancy).
            user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=[
                "timeline", "integrations", "segments", "campaigns", "predictions"]).exclude(codename="connect_store"))
        for s in stores:
            StoreMembership.objects.create(user=user, store=s, role=role)
        return user

    return make


@pytest.fixture
def api_client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def make_event():
    """Factory of canonical events with sensible defaults and unique dedupe keys."""

    def make(type: str = "product.viewed", at: datetime | timedelta = T0, **fields) -> CanonicalEvent:
        if isinstance(at, timedelta):
            at = T0 + at
        fields.setdefault("dedupe_key", f"test:{next(_counter)}")
        fields.setdefault("source", "api")
        if "amount" in fields and fields["amount"] is not None:
            fields["amount"] = Decimal(str(fields["amount"]))
        return CanonicalEvent(type=type, occurred_at=at, **fields)

    return make


def order(make_event, email: str, order_id: str, total: str, at=T0, **extra) -> CanonicalEvent:
    return make_event("order.placed", at, email=email, order_ref=order_id, amount=total,
                      dedupe_key=f"order:{order_id}", properties={"order_id": order_id, "total": total}, **extra)
