from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from campaigns.models import EmailProvider
from integrations.storefront.signup.models import SignupForm, SignupSettings


@pytest.fixture(autouse=True)
def _outbox():
    mail.outbox = []


@pytest.fixture
def woo(make_store):
    store = make_store(platform="woocommerce", url="https://shop.example", name="Linen & Co")
    EmailProvider.objects.create(store=store, kind=EmailProvider.Kind.LOCMEM, from_email="hi@shop.example",
                                 smart_sending_hours=0)
    return store


@pytest.fixture
def popup(woo):
    return SignupForm.objects.create(store=woo, name="Welcome popup", enabled=True, fields=["first_name"],
                                     consent_text="Yes, email me offers. Unsubscribe any time.")


@pytest.fixture
def opt_in():
    def set_mode(store, mode: str, **fields):
        SignupSettings.objects.update_or_create(store=store, defaults={"opt_in": mode, **fields})

    return set_mode


@pytest.fixture
def sign_up(client):
    """View the form (get the signed token), wait like a person, submit: real HTTP, as script.js does."""

    def submit(store, form_ref, email="new@example.com", *, wait=5, remote_addr="203.0.113.7", **extra):
        base = f"/collect/{store.collect_key}/forms/{form_ref}"
        with time_machine.travel(timezone.now() - timedelta(seconds=wait), tick=False):  # shown `wait` s ago
            view = client.post(f"{base}/view", data=b"{}", content_type="text/plain", REMOTE_ADDR=remote_addr)
        token = view.json().get("token", "") if view.status_code == 200 else ""
        body = {"email": email, "token": token, "page": "https://shop.example/products/linen-shirt", **extra}
        return client.post(f"{base}/submit", data=json.dumps(body).encode(), content_type="text/plain",
                           HTTP_USER_AGENT="Mozilla/5.0 Test", REMOTE_ADDR=remote_addr)

    return submit
