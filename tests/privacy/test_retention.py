"""Retention: old raw webhook bodies, collect batches, signups and idle anonymous visitors disappear on
schedule (the daily django-q2 schedule a migration creates), per store, with the store's own limits."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone
from django_q.models import Schedule

from integrations.models import WebhookDelivery
from integrations.storefront.models import CollectBatch
from shopconnect.privacy.models import RetentionPolicy
from shopconnect.privacy.retention import enforce_retention
from shopconnect.timeline.models import Event, Visitor
from shopconnect.timeline.record import record_events
from tests.integrations.woocommerce.helpers import deliver

SECRET = "s3cret"


def test_the_schedule_exists_and_old_raw_bodies_disappear_on_it(client, make_store, make_event):
    schedule = Schedule.objects.get(name="privacy: enforce retention")
    assert schedule.func == "shopconnect.privacy.retention.enforce_retention" and schedule.schedule_type == "D"
    store = make_store(platform="woocommerce", webhook_secret=SECRET)
    strict = make_store(platform="woocommerce", webhook_secret=SECRET)
    RetentionPolicy.objects.create(store=strict, webhook_body_days=2)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert deliver(client, store, "order_paid", "order.created", SECRET).status_code == 200
        assert deliver(client, strict, "order_paid", "order.created", SECRET).status_code == 200
        CollectBatch.objects.create(store=store, batch_key="b", events=[], received_at=start, status="processed",
                                    processed_at=start)
        record_events(store, [make_event("page.viewed", start - timedelta(days=500), visitor_id="anon-1",
                                         dedupe_key="v1"),
                              make_event("page.viewed", start, visitor_id="anon-2", dedupe_key="v2")])
        Visitor.objects.filter(client_id="anon-1").update(first_seen_at=start - timedelta(days=500))
    assert WebhookDelivery.objects.filter(status="processed").count() == 2

    with time_machine.travel(start + timedelta(days=3), tick=False):
        counts = enforce_retention()
    assert counts["webhook_deliveries"] == 1 and not WebhookDelivery.objects.filter(store=strict).exists()
    assert WebhookDelivery.objects.filter(store=store).exists() and CollectBatch.objects.exists()
    assert counts["anonymous_visitors"] == 1 and not Visitor.objects.filter(client_id="anon-1").exists()
    assert not Event.objects.filter(dedupe_key="v1").exists() and Event.objects.filter(dedupe_key="v2").exists()
    with time_machine.travel(start + timedelta(days=8), tick=False):
        enforce_retention()
    assert not CollectBatch.objects.exists() and WebhookDelivery.objects.filter(store=store).exists()
    with time_machine.travel(start + timedelta(days=31), tick=False):
        enforce_retention()
    assert not WebhookDelivery.objects.exists()
    # what the bodies meant stays: the orders are on the timeline
    assert Event.objects.filter(store=store, type="order.placed").count() == 1


def test_an_event_limit_keeps_orders_and_consent(make_store, make_event):
    store = make_store(platform="woocommerce")
    RetentionPolicy.objects.create(store=store, event_days=90)
    old = timezone.now() - timedelta(days=200)
    record_events(store, [
        make_event("product.viewed", old, email="a@example.com", dedupe_key="view"),
        make_event("order.placed", old, email="a@example.com", order_ref="1", amount="5.00", dedupe_key="order",
                   properties={"order_id": "1"}),
        make_event("consent.changed", old, email="a@example.com", dedupe_key="consent",
                   properties={"channel": "email", "state": "subscribed", "source": "api"}),
        make_event("product.viewed", email="a@example.com", dedupe_key="recent", at=timezone.now()),
    ])
    assert enforce_retention()["events"] == 1
    assert set(Event.objects.values_list("dedupe_key", flat=True)) == {"order", "consent", "recent"}
