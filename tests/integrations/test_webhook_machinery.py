"""The generic webhook view and delivery processing, through the test adapter (the shared contract,
plus failure recording, bounded retries and the admin reprocess action)."""

from __future__ import annotations

import json

import pytest
from django_q.models import Schedule

from integrations.base import hmac_sha256_base64
from integrations.models import WebhookDelivery
from integrations.tasks import drain_pending, process_delivery, reprocess
from shopconnect.timeline.models import Customer

from .contract import WebhookContract

SECRET = "s3cret&amp;with-entities"


class TestFakeAdapterContract(WebhookContract):
    handled_topic = "thing/done"

    @pytest.fixture
    def connected_store(self, make_store):
        return make_store(platform="testplatform", webhook_secret=SECRET)

    def url(self, store):
        return f"/webhooks/testplatform/{store.pk}/"

    def signed_headers(self, store, body, topic, delivery_id):
        return {**self.unsigned_headers(store, body, topic, delivery_id),
                "X-Test-Signature": hmac_sha256_base64(SECRET, body)}

    def unsigned_headers(self, store, body, topic, delivery_id):
        return {"X-Test-Topic": topic, "X-Test-Delivery": delivery_id}

    def handled_body(self, store):
        return json.dumps({"id": "t1", "email": "Ann@Example.com", "at": "2026-02-01T10:00:00+00:00"}).encode()

    def failing_body(self, store):
        return json.dumps({"id": "t2", "email": "ann@example.com"}).encode()  # no "at": processing fails

    def unknown_store_request(self, client, body):
        return client.post("/webhooks/testplatform/999999/", data=body, content_type="application/json",
                           headers={"X-Test-Topic": "thing/done", "X-Test-Delivery": "x",
                                    "X-Test-Signature": hmac_sha256_base64(SECRET, body)})


@pytest.fixture
def delivery(make_store):
    store = make_store(platform="testplatform", webhook_secret=SECRET)

    def make(topic: str, body: dict, key: str | None = None) -> WebhookDelivery:
        return WebhookDelivery.objects.create(store=store, platform="testplatform", topic=topic,
                                              delivery_key=key or topic, body=json.dumps(body).encode())
    return make


def test_failure_is_recorded_and_a_bounded_retry_scheduled(delivery, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    d = delivery("boom", {"id": 1})
    assert process_delivery(d.pk) == "failed"
    d.refresh_from_db()
    assert d.attempts == 1 and "cannot handle this payload" in d.last_error
    assert Schedule.objects.filter(func="integrations.tasks.process_delivery", args=str(d.pk)).count() == 1
    assert process_delivery(d.pk) == "failed"  # second attempt: the limit, no further retry
    assert Schedule.objects.filter(func="integrations.tasks.process_delivery", args=str(d.pk)).count() == 1


def test_a_deadlock_victim_runs_its_whole_batch_again_at_once(delivery, monkeypatch):
    """PostgreSQL aborts one of two workers that wait for each other's locks; the victim's batch
    transaction (its locks gone with it) runs again right away instead of failing and waiting for a
    scheduled retry."""
    from django.db import OperationalError

    from integrations import tasks

    class Deadlock(Exception):
        sqlstate = "40P01"

    real, calls = tasks.record_events, []

    def record_once_deadlocked(store, events):
        calls.append(len(events))
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from Deadlock()
        return real(store, events)

    monkeypatch.setattr(tasks, "record_events", record_once_deadlocked)
    d = delivery("thing/done", {"id": "dl", "email": "dee@example.com", "at": "2026-02-01T10:00:00+00:00"})
    e = delivery("thing/done", {"id": "dm", "email": "eve@example.com", "at": "2026-02-01T10:00:00+00:00"}, "dm")
    assert tasks.drain_pending() == 2
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_error, len(calls)) == ("processed", 1, "", 2)
    assert calls == [2, 2]  # the whole batch again, still written together
    assert Customer.objects.get(email="dee@example.com").events.count() == 1
    assert Customer.objects.get(email=e.body and "eve@example.com").events.count() == 1
    assert not Schedule.objects.filter(func="integrations.tasks.process_delivery").exists()


def test_other_database_errors_are_not_retried_in_place(delivery, monkeypatch):
    from django.db import OperationalError

    from integrations import tasks

    calls = []

    def record_failing(store, events):
        calls.append(len(events))
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tasks, "record_events", record_failing)
    d = delivery("thing/done", {"id": "oe", "email": "oe@example.com", "at": "2026-02-01T10:00:00+00:00"})
    assert process_delivery(d.pk) == "failed" and len(calls) == 1


def test_reprocess_after_a_fix_records_the_events(delivery, settings):
    d = delivery("thing/done", {"id": "r1", "email": "bob@example.com"})  # no "at": KeyError
    assert process_delivery(d.pk) == "failed"
    d.body = json.dumps({"id": "r1", "email": "bob@example.com", "at": "2026-02-01T10:00:00+00:00"}).encode()
    d.save()
    assert reprocess([d.pk]) == {"processed": 1}
    assert Customer.objects.get(email="bob@example.com").events.count() == 1
    assert reprocess([d.pk]) == {"processed": 1}  # already processed: nothing recorded twice
    assert Customer.objects.get(email="bob@example.com").events.count() == 1


def test_unknown_platform_is_404(client):
    assert client.post("/webhooks/nosuch/1/", data=b"{}", content_type="application/json").status_code == 404


def test_get_is_not_allowed(client, make_store):
    store = make_store(platform="testplatform")
    assert client.get(f"/webhooks/testplatform/{store.pk}/").status_code == 405


def test_one_task_drains_every_pending_delivery_in_arrival_order(delivery):
    first = delivery("thing/done", {"id": "a", "email": "a@example.com", "at": "2026-02-01T10:00:00+00:00"})
    others = [delivery(f"thing/done#{n}", {}) for n in range(2)]  # unknown topics: ignored
    late = WebhookDelivery.objects.create(store=first.store, platform="testplatform", topic="thing/done",
                                          delivery_key="late", body=json.dumps(
                                              {"id": "b", "email": "b@example.com",
                                               "at": "2026-02-01T11:00:00+00:00"}).encode())
    assert process_delivery(first.pk) == "processed"
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "processed", others[0].pk: "ignored", others[1].pk: "ignored",
                        late.pk: "processed"}
    assert Customer.objects.filter(email="b@example.com").exists()


def test_webhooks_arriving_while_a_task_is_queued_do_not_queue_more(client, make_store):
    from unittest import mock

    from django.core.cache import cache

    from integrations.tasks import COALESCE_KEY

    store = make_store(platform="testplatform", webhook_secret=SECRET)
    cache.delete(COALESCE_KEY)

    def post(key: str, event_id: str):
        body = json.dumps({"id": event_id, "email": "q@example.com", "at": "2026-02-01T10:00:00+00:00"}).encode()
        return client.post(f"/webhooks/testplatform/{store.pk}/", data=body, content_type="application/json",
                           headers={"X-Test-Topic": "thing/done", "X-Test-Delivery": key,
                                    "X-Test-Signature": hmac_sha256_base64(SECRET, body)})

    with mock.patch("integrations.tasks.async_task") as queued:
        answers = [post(f"d{n}", f"e{n}").json()["status"] for n in range(3)]
        assert answers == ["accepted"] * 3 and queued.call_count == 1
        cache.delete(COALESCE_KEY)  # the queued task started: the next delivery queues one again
        assert post("d0", "e0").json()["status"] == "duplicate"  # a duplicate queues nothing ...
        assert post("d3", "e3").json()["status"] == "accepted"  # ... and leaves the claim to the next one
        assert queued.call_count == 2
    assert WebhookDelivery.objects.filter(store=store, status="pending").count() == 4
    cache.delete(COALESCE_KEY)


def _thing(delivery, key: str, email: str, event_id: str | None = None) -> WebhookDelivery:
    return delivery("thing/done", {"id": event_id or key, "email": email, "at": "2026-02-01T10:00:00+00:00"}, key)


@pytest.fixture
def counted_record_events(monkeypatch):
    import integrations.base
    import integrations.tasks

    calls = []
    real = integrations.tasks.record_events

    def counting(store, events):
        calls.append(len(list(events)))
        return real(store, events)

    monkeypatch.setattr(integrations.tasks, "record_events", counting)
    monkeypatch.setattr(integrations.base, "record_events", counting)
    return calls


def test_a_drained_batch_is_written_with_one_record_events_call(delivery, counted_record_events):
    first = delivery("thing/done", {"id": "a", "email": "a@example.com", "at": "2026-02-01T10:00:00+00:00"})
    more = [_thing(delivery, f"k{n}", f"c{n}@example.com") for n in range(4)]
    again = _thing(delivery, "k-again", "c0@example.com", event_id="k0")  # the same event as more[0]
    assert drain_pending() == 6
    assert counted_record_events == [6]
    inserted = dict(WebhookDelivery.objects.values_list("pk", "events_inserted"))
    assert inserted == {first.pk: 1, **{d.pk: 1 for d in more}, again.pk: 0}
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"processed"}
    assert WebhookDelivery.objects.filter(attempts=1).count() == 6
    assert Customer.objects.get(email="c3@example.com").events.count() == 1


def test_one_bad_delivery_in_a_batch_fails_alone(delivery, monkeypatch, counted_record_events):
    from tests.integrations.fake_adapter import FakeAdapter

    real_expand = FakeAdapter.expand

    def expand(self, d, normalized, owners=None):
        if normalized.events[0].properties["id"] == "bad":
            raise ValueError("this one cannot be written")
        return real_expand(self, d, normalized, owners)

    monkeypatch.setattr(FakeAdapter, "expand", expand)
    good = [_thing(delivery, f"g{n}", f"g{n}@example.com") for n in range(3)]
    bad = _thing(delivery, "bad", "bad@example.com")
    assert drain_pending() == 4
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {**{d.pk: "processed" for d in good}, bad.pk: "failed"}
    bad.refresh_from_db()
    assert bad.attempts == 1 and "this one cannot be written" in bad.last_error
    assert all(WebhookDelivery.objects.get(pk=d.pk).attempts == 1 for d in good)
    assert Customer.objects.filter(email__startswith="g").count() == 3
    assert not Customer.objects.filter(email="bad@example.com").exists()


def test_a_delivery_with_side_effects_runs_alone_in_arrival_order(delivery, monkeypatch, counted_record_events):
    from tests.integrations.fake_adapter import FakeAdapter

    monkeypatch.setattr(FakeAdapter, "runs_alone", lambda self, n: n.events[0].properties["id"] == "alone")
    for key in ("a", "b", "alone", "c", "d"):
        _thing(delivery, key, f"{key}@example.com")
    assert drain_pending() == 5
    assert counted_record_events == [2, 1, 2]
