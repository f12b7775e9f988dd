"""record_events: idempotency, identity, stitching, out-of-order input, aggregates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shopconnect.timeline.models import Consent, Customer, Event, Visitor
from shopconnect.timeline.record import InvalidEvent, events_recorded, record_events

from ..conftest import T0, order

pytestmark = pytest.mark.django_db


def test_replaying_a_batch_changes_nothing(store, make_event):
    batch = [
        make_event("customer.created", email="Ana@Example.COM ", profile={"first_name": "Ana"}, dedupe_key="c1"),
        order(make_event, "ana@example.com", "1001", "59.90", T0 + timedelta(hours=1)),
    ]
    first = record_events(store, batch)
    snapshot = list(Customer.objects.values())
    second = record_events(store, batch)
    assert (first.inserted, first.duplicates) == (2, 0)
    assert (second.inserted, second.duplicates) == (0, 2)
    assert second.types_by_customer == {}
    assert list(Customer.objects.values()) == snapshot
    customer = Customer.objects.get()
    assert customer.email == "ana@example.com"
    assert customer.orders_count == 1 and customer.total_spent == Decimal("59.90")


def test_the_same_event_twice_in_one_batch_is_stored_once(store, make_event):
    e = order(make_event, "a@x.io", "1", "10.00")
    assert record_events(store, [e, e]).inserted == 1
    assert Event.objects.count() == 1


def test_identity_by_platform_id_then_email(store, make_event):
    record_events(store, [make_event("customer.created", external_id="42", email=None, dedupe_key="k1")])
    record_events(store, [make_event("customer.updated", external_id="42", email="late@x.io", dedupe_key="k2",
                                     at=timedelta(hours=1))])
    record_events(store, [make_event("product.viewed", email="LATE@x.io", dedupe_key="k3")])
    customer = Customer.objects.get()
    assert (customer.external_id, customer.email) == ("42", "late@x.io")
    assert customer.events.count() == 3


def test_customers_are_per_store(make_store, make_event):
    a, b = make_store(), make_store()
    record_events(a, [make_event(email="same@x.io", dedupe_key="k")])
    record_events(b, [make_event(email="same@x.io", dedupe_key="k")])
    assert Customer.objects.filter(email="same@x.io").count() == 2
    assert Event.objects.count() == 2


def test_older_profile_update_never_overwrites_newer(store, make_event):
    newer = make_event("customer.updated", at=timedelta(days=2), external_id="7", dedupe_key="u2",
                       profile={"first_name": "New", "tags": ["vip"]})
    older = make_event("customer.updated", at=timedelta(days=1), external_id="7", dedupe_key="u1",
                       profile={"first_name": "Old", "tags": ["stale"]})
    record_events(store, [newer])
    record_events(store, [older])
    customer = Customer.objects.get()
    assert customer.first_name == "New"
    assert list(customer.tags.values_list("tag", flat=True)) == ["vip"]
    assert customer.events.count() == 2  # the old update is still on the timeline


def test_consent_newest_wins_and_history_is_kept(store, make_event):
    def consent(state, days, key):
        return make_event("consent.changed", at=timedelta(days=days), email="c@x.io", dedupe_key=key,
                          properties={"channel": "email", "state": state, "source": "test"})

    record_events(store, [consent("subscribed", 1, "a"), consent("unsubscribed", 3, "b")])
    record_events(store, [consent("subscribed", 2, "c")])  # late delivery of an older change
    customer = Customer.objects.get()
    assert customer.email_consent == Consent.UNSUBSCRIBED
    assert customer.consent_updated_at == T0 + timedelta(days=3)
    assert customer.events.filter(type="consent.changed").count() == 3


def test_late_order_still_counts(store, make_event):
    record_events(store, [order(make_event, "o@x.io", "2", "30.00", T0 + timedelta(days=5))])
    record_events(store, [order(make_event, "o@x.io", "1", "20.00", T0)])
    customer = Customer.objects.get()
    assert customer.orders_count == 2
    assert customer.first_order_at == T0 and customer.last_order_at == T0 + timedelta(days=5)
    assert customer.average_order_value == Decimal("25.00")


def test_refunds_and_cancellations_net_out(store, make_event):
    email = "r@x.io"
    record_events(store, [
        order(make_event, email, "1", "100.00"),
        order(make_event, email, "2", "50.00", T0 + timedelta(days=1)),
        make_event("order.refunded", at=timedelta(days=2), email=email, order_ref="1", amount="30.00",
                   dedupe_key="refund:1"),
        make_event("order.cancelled", at=timedelta(days=3), email=email, order_ref="2", dedupe_key="cancel:2"),
        make_event("order.refunded", at=timedelta(days=3), email=email, order_ref="2", amount="50.00",
                   dedupe_key="refund:2"),
    ])
    customer = Customer.objects.get()
    assert customer.orders_count == 1
    assert customer.total_spent == Decimal("70.00")
    assert customer.average_order_value == Decimal("70.00")
    assert customer.last_order_at == T0


def test_anonymous_visitor_history_moves_to_the_customer(store, make_event):
    record_events(store, [
        make_event("product.viewed", visitor_id="v1", device="mobile", dedupe_key="p1"),
        make_event("product.viewed", visitor_id="v1", dedupe_key="p2", at=timedelta(minutes=5)),
    ])
    assert Event.objects.filter(customer__isnull=True).count() == 2
    assert not Customer.objects.exists()
    result = record_events(store, [make_event("checkout.started", visitor_id="v1", email="buyer@x.io",
                                              dedupe_key="c1", at=timedelta(minutes=10))])
    customer = Customer.objects.get()
    assert customer.events.count() == 3
    assert Visitor.objects.get().customer == customer
    assert customer.last_seen_at == T0 + timedelta(minutes=10)
    assert customer.device == "mobile" or customer.device == ""
    assert result.customer_ids == {customer.pk}
    # later anonymous events of the same visitor land on the customer directly
    record_events(store, [make_event("page.viewed", visitor_id="v1", dedupe_key="p3", at=timedelta(hours=1))])
    assert customer.events.count() == 4


def test_invalid_events_are_rejected_and_nothing_is_written(store, make_event):
    good = make_event(email="a@x.io")
    with pytest.raises(InvalidEvent, match="unknown event type"):
        record_events(store, [good, make_event("order.teleported", email="a@x.io")])
    with pytest.raises(InvalidEvent, match="aware"):
        record_events(store, [make_event(at=T0.replace(tzinfo=None), email="a@x.io")])
    assert not Event.objects.exists() and not Customer.objects.exists()


def test_customer_id_of_another_store_is_rejected(make_store, make_event):
    a, b = make_store(), make_store()
    record_events(a, [make_event(email="x@x.io")])
    other = Customer.objects.get()
    with pytest.raises(InvalidEvent, match="do not belong"):
        record_events(b, [make_event(customer_id=other.pk)])


def test_signal_reports_changed_customers_and_types(store, make_event):
    seen = []

    def handler(sender, store, result, **kwargs):
        seen.append(result.types_by_customer)

    events_recorded.connect(handler)
    try:
        record_events(store, [order(make_event, "s@x.io", "9", "5.00")])
    finally:
        events_recorded.disconnect(handler)
    customer = Customer.objects.get()
    assert seen == [{customer.pk: {"order.placed"}}]


def test_a_batch_of_500_takes_a_bounded_number_of_queries(store, make_event, django_assert_max_num_queries):
    batch = [make_event("product.viewed", email=f"c{i % 100}@x.io", visitor_id=f"v{i % 100}") for i in range(500)]
    with django_assert_max_num_queries(20):
        record_events(store, batch)
    assert Event.objects.count() == 500 and Customer.objects.count() == 100


def test_orm_broker_tasks_commit_with_the_events_or_not_at_all(store, make_event, monkeypatch):
    """With the ORM broker (not sync), the follow-up tasks are written in the batch's transaction."""
    from django.db import transaction
    from django_q.conf import Conf
    from django_q.models import OrmQ

    from campaigns.models import Message
    from segments.models import Segment

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")
    queued = OrmQ.objects.count()
    record_events(store, [order(make_event, "p@x.io", "6", "4.00")])
    assert OrmQ.objects.count() == queued, "nothing consumes an order of a store without segments or email"
    Segment.objects.create(store=store, name="Buyers", definition={"type": "performed", "event": "order.placed"})
    Message.objects.create(store=store, customer=Customer.objects.get(email="p@x.io"), idempotency_key="m",
                           state="sent", next_attempt_at="2026-01-01T00:00Z")
    record_events(store, [order(make_event, "q@x.io", "7", "5.00")])
    # segments re-evaluation and the reports both follow an order
    assert OrmQ.objects.count() == queued + 2

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        record_events(store, [order(make_event, "r@x.io", "8", "6.00")])
        raise Boom
    assert OrmQ.objects.count() == queued + 2, "a rolled-back batch leaves no task behind"
    assert not Customer.objects.filter(email="r@x.io").exists()


def test_other_brokers_hear_of_a_batch_only_once_it_commits(store, make_event, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(events_recorded, "receivers", [])  # only ours: the real ones would push to Redis
    seen = []

    def handler(sender, store, result, **kwargs):
        seen.append(result.inserted)

    events_recorded.connect(handler)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_events(store, [make_event("product.viewed", email="s@x.io")])
    assert seen == []
    for callback in callbacks:
        callback()
    assert seen == [1]
