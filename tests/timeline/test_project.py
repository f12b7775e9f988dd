"""Settings checks, encryption, logging redaction, health, demo, connect_store."""

from __future__ import annotations

import json
import logging
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from shopconnect.checks import production_settings
from shopconnect.logging import RedactSecretsFilter
from shopconnect.timeline.models import Customer, Event, Store


def _ids(errors):
    return sorted(e.id for e in errors)


def test_production_start_without_required_settings_is_stopped():
    with override_settings(DEBUG=False, SECRET_KEY=settings.DEV_SECRET_KEY, ALLOWED_HOSTS=[],
                           FIELD_ENCRYPTION_KEY=""):
        errors = production_settings(None)
    assert _ids(errors) == ["shopconnect.E001", "shopconnect.E002", "shopconnect.E003"]
    assert "SECRET_KEY" in errors[0].msg and errors[0].hint
    with override_settings(DEBUG=False, SECRET_KEY="x" * 50, ALLOWED_HOSTS=["shop.example"]):
        assert production_settings(None) == []


def test_log_records_never_carry_tokens():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "token %s secret=%s",
                               ("shpat_0123456789abcdef0123456789abcdef", "hunter2"), None)
    RedactSecretsFilter().filter(record)
    message = record.getMessage()
    assert "0123456789abcdef" not in message and "hunter2" not in message


@pytest.mark.django_db
def test_healthz_reports_database_and_worker(client):
    """Queued work with no worker finishing anything for five minutes is "stalled"; a worker that just
    finished a task, or an empty queue, is "ok"."""
    from datetime import timedelta

    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.models import Task

    body = client.get("/healthz").json()
    assert body["database"] == "ok" and body["worker"] == {"queued": 0, "last_task_finished_at": None,
                                                           "state": "ok"}
    get_broker().enqueue("a queued task no worker has taken")
    stalled = client.get("/healthz").json()["worker"]
    assert stalled["queued"] == 1 and stalled["state"] == "stalled"
    now = timezone.now()
    Task.objects.create(id="t-old", name="old", func="shopconnect.tasks.ping", started=now - timedelta(minutes=11),
                        stopped=now - timedelta(minutes=10), success=True)
    assert client.get("/healthz").json()["worker"]["state"] == "stalled"  # the last one finished too long ago
    Task.objects.create(id="t-new", name="new", func="shopconnect.tasks.ping", started=now, stopped=now,
                        success=True)
    recent = client.get("/healthz").json()["worker"]
    assert recent["state"] == "ok" and recent["last_task_finished_at"] == now.isoformat()


@pytest.mark.django_db
def test_demo_is_idempotent():
    call_command("demo", customers=8, stdout=StringIO())
    counts = (Customer.objects.count(), Event.objects.count())
    totals = list(Customer.objects.order_by("id").values_list("total_spent", "orders_count", "email_consent"))
    call_command("demo", customers=8, stdout=StringIO())
    assert (Customer.objects.count(), Event.objects.count()) == counts
    assert list(Customer.objects.order_by("id").values_list("total_spent", "orders_count", "email_consent")) == totals
    assert counts[0] == 8 and counts[1] > 8 * 10
    assert Event.objects.filter(type="order.placed").exists()
    assert Customer.objects.filter(email_consent="subscribed").exists()


@pytest.mark.django_db
def test_connect_store_prints_json_and_is_idempotent():
    def run(*args):
        out = StringIO()
        call_command("connect_store", *args, stdout=out)
        return json.loads(out.getvalue())

    first = run("--platform", "woocommerce", "--url", "https://shop.example", "--webhook-secret", "s&cret")
    again = run("--platform", "woocommerce", "--url", "https://shop.example/")
    assert first["id"] == again["id"] and first["platform"] == "woocommerce"
    assert first["webhook_url"].endswith(f"/webhooks/woocommerce/{first['id']}/")
    assert Store.objects.get().webhook_secret == "s&cret"
    shop = run("--platform", "shopify", "--domain", "my-shop.myshopify.com")
    assert shop["webhook_url"].endswith("/webhooks/shopify/") and shop["collect_key"]


@pytest.mark.django_db
def test_connect_store_refuses_a_bad_shop_domain():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="myshopify"):
        call_command("connect_store", "--platform", "shopify", "--domain", "evil.com/x.myshopify.com")
