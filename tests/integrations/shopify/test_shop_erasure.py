"""shop/redact removes a store whatever it owns (flows and campaigns protect their templates), in
foreign-key order, retried until done, visible in the admin while it fails; the delivery waits."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.utils import timezone

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import Campaign, EmailProvider, EmailTemplate, Enrollment, Flow, FlowStep, Message
from integrations.models import WebhookDelivery
from segments.models import Segment, SegmentMembership
from segments.predictions.models import CustomerPrediction, PredictionRun
from shopconnect.privacy import shop as erasure
from shopconnect.privacy.models import StoreErasure
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer, Event, Store
from shopconnect.timeline.record import record_events

from .helpers import post


@pytest.fixture
def busy_shop(shop, client):
    """A store with customers, events, flows (with enrollments and messages), a campaign, templates,
    segments with members and predictions."""
    assert post(client, "customers_create", "customers/create", "h1").status_code == 200
    EmailProvider.objects.create(store=shop, kind=EmailProvider.Kind.LOCMEM, from_email="hi@zoe.example")
    install_prebuilt_flows(shop, ["welcome", "abandoned_cart"], enable=("welcome",))
    now = timezone.now()
    record_events(shop, [CanonicalEvent(
        type="consent.changed", occurred_at=now, dedupe_key="sub:1", source="api", email="new@example.com",
        properties={"channel": "email", "state": "subscribed", "source": "signup_form"})])
    advance_due_enrollments()
    customer = Customer.objects.get(store=shop, email="new@example.com")
    segment = Segment.objects.create(store=shop, name="Everyone", definition={
        "version": 1, "type": "attribute", "field": "created_at", "op": "is_set"})
    SegmentMembership.objects.create(segment=segment, customer=customer, entered_at=now)
    template = EmailTemplate.objects.create(store=shop, name="Sale", subject="Sale", html="<p>Sale</p>")
    campaign = Campaign.objects.create(store=shop, name="Spring", template=template)
    campaign.include_segments.set([segment])
    Message.objects.create(store=shop, customer=customer, template=template, campaign=campaign,
                           idempotency_key="campaign:1:1", next_attempt_at=now)
    CustomerPrediction.objects.create(customer=customer, store=shop, computed_at=now)
    PredictionRun.objects.create(store=shop, computed_at=now, method="heuristic", customers=1, repeat_customers=0,
                                 history_days=1)
    assert Enrollment.objects.filter(flow__store=shop).exists() and Message.objects.filter(flow__store=shop).exists()
    return shop


def _gone(store_id: int) -> None:
    assert not Store.objects.filter(pk=store_id).exists()
    for model in (Customer, Event, Flow, Campaign, EmailTemplate, Message, Segment, CustomerPrediction,
                  PredictionRun, WebhookDelivery):
        assert not model.objects.filter(store_id=store_id).exists(), model.__name__
    assert not FlowStep.objects.filter(flow__store_id=store_id).exists()
    assert not SegmentMembership.objects.filter(segment__store_id=store_id).exists()


def test_shop_redact_removes_a_store_with_flows_campaigns_messages_templates_segments_predictions(
        client, busy_shop, make_store, django_capture_on_commit_callbacks):
    other = make_store(platform="shopify")
    store_id = busy_shop.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "shop_redact", "shop/redact", "r1").status_code == 200
    _gone(store_id)
    done = StoreErasure.objects.get(store_id=store_id)
    assert done.status == "done" and done.deleted["campaigns.EmailTemplate"] >= 3
    assert done.deleted["timeline.Store"] == 1
    assert Store.objects.filter(pk=other.pk).exists()


def test_a_failing_erasure_is_visible_waits_and_is_retried_until_done(
        client, busy_shop, admin_user, monkeypatch, django_capture_on_commit_callbacks):
    store_id = busy_shop.pk
    real = erasure._delete_chunk
    calls = {"n": 0}

    def flaky(model, pks):
        calls["n"] += 1
        if calls["n"] == 3:
            raise DatabaseError("the database went away")
        return real(model, pks)

    monkeypatch.setattr(erasure, "_delete_chunk", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "shop_redact", "shop/redact", "r1").status_code == 200
    failed = StoreErasure.objects.get(store_id=store_id)
    assert failed.status == "failed" and "the database went away" in failed.last_error
    delivery = WebhookDelivery.objects.get(store_id=store_id, topic="shop/redact")
    assert delivery.status == "waiting" and delivery.processed_at is None  # not processed while not erased
    busy_shop.refresh_from_db()
    assert busy_shop.status == "uninstalled" and busy_shop.access_token == ""  # stopped at once
    from django_q.models import Schedule

    retry = Schedule.objects.get(name=f"privacy: retry store erasure {failed.pk}")
    client.force_login(admin_user)
    page = client.get("/admin/privacy/storeerasure/")
    assert "the database went away" in page.content.decode() and "Failed" in page.content.decode()

    assert erasure.run_store_erasure(int(retry.args)) == "done"  # what the scheduled retry runs
    _gone(store_id)
    assert StoreErasure.objects.get(store_id=store_id).attempts == 2


def test_the_daily_task_restarts_an_erasure_that_stopped(client, busy_shop, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    from datetime import timedelta

    import time_machine

    from shopconnect.privacy.retention import enforce_retention

    store_id = busy_shop.pk
    monkeypatch.setattr(erasure, "_enqueue", lambda erasure_id: None)  # the queued task is lost
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, "shop_redact", "shop/redact", "r1").status_code == 200
    assert StoreErasure.objects.get(store_id=store_id).status == "pending"
    monkeypatch.undo()
    assert enforce_retention()["erasures_restarted"] == 0  # not stalled yet: it was asked for just now
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert enforce_retention()["erasures_restarted"] == 1
    _gone(store_id)
