"""Each event keeps the customer's local hour and weekday, and they follow the customer's and the store's
time zone; hour-of-day and weekday segments read them (no per-row time-zone conversion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments.evaluate import matching_customers
from segments.membership import current_members
from segments.models import Segment
from segments.tasks import recompute_segment
from shopconnect.timeline.localtime import backfill
from shopconnect.timeline.models import Customer, Event, Store
from shopconnect.timeline.record import record_events

AT = datetime(2026, 1, 17, 12, 30, tzinfo=UTC)  # Saturday 12:30 UTC: 13:30 in Paris, 07:30 in New York
LUNCH = {"type": "performed", "event": "product.viewed", "hour_of_day": {"from": 12, "to": 14}}


def _profile(make_event, email, tz, at=AT - timedelta(days=1)):
    return make_event("customer.updated", at, email=email, profile={"timezone": tz})


def _local(email):
    return list(Event.objects.filter(customer__email=email, type="product.viewed")
                .values_list("local_hour", "local_weekday"))


def test_an_event_is_stored_with_the_customers_local_hour_and_weekday(store, make_event):
    store.timezone = "America/New_York"
    store.save()
    record_events(store, [_profile(make_event, "paris@example.com", "Europe/Paris")])
    record_events(store, [
        make_event("product.viewed", AT, email="paris@example.com"),
        make_event("product.viewed", AT, email="nozone@example.com"),  # no zone: the store's clock
        make_event("product.viewed", AT + timedelta(hours=12), visitor_id="anon-1"),  # 00:30 Sunday in Paris
    ])
    assert _local("paris@example.com") == [(13, 6)]
    assert _local("nozone@example.com") == [(7, 6)]
    assert list(Event.objects.filter(visitor__client_id="anon-1").values_list("local_hour", "local_weekday")) == [
        (19, 6)]


def test_a_new_time_zone_moves_the_customers_events_and_their_segments(store, make_event):
    record_events(store, [_profile(make_event, "ana@example.com", "Europe/Paris"),
                          make_event("product.viewed", AT, email="ana@example.com")])
    lunch = Segment.objects.create(store=store, name="Lunch browsers", definition=LUNCH)
    recompute_segment(lunch.pk)
    assert [m.customer.email for m in current_members(lunch)] == ["ana@example.com"]

    record_events(store, [_profile(make_event, "ana@example.com", "America/New_York", at=AT + timedelta(days=1))])

    assert _local("ana@example.com") == [(7, 6)]
    assert not current_members(lunch).exists()  # the real-time path saw the move, no recompute needed


def test_a_new_store_time_zone_moves_the_events_that_use_the_stores_clock(store, make_event):
    record_events(store, [_profile(make_event, "paris@example.com", "Europe/Paris"),
                          make_event("product.viewed", AT, email="paris@example.com"),
                          make_event("product.viewed", AT, email="nozone@example.com")])
    assert _local("nozone@example.com") == [(12, 6)]  # UTC, the store's zone
    lunch = Segment.objects.create(store=store, name="Lunch browsers", definition=LUNCH)
    recompute_segment(lunch.pk)
    assert {m.customer.email for m in current_members(lunch)} == {"paris@example.com", "nozone@example.com"}

    store.timezone = "Asia/Tokyo"  # 21:30
    store.save()

    assert _local("nozone@example.com") == [(21, 6)]
    assert _local("paris@example.com") == [(13, 6)]  # their own zone: unchanged
    assert [m.customer.email for m in current_members(lunch)] == ["paris@example.com"]


def test_the_migration_fills_events_recorded_before_it(store, make_event):
    record_events(store, [_profile(make_event, "paris@example.com", "Europe/Paris"),
                          make_event("product.viewed", AT, email="paris@example.com"),
                          make_event("product.viewed", AT, email="nozone@example.com")])
    Event.objects.update(local_hour=None, local_weekday=None)
    assert not matching_customers(store, LUNCH).exists()  # unknown local time never matches

    backfill(Event, Customer, Store)

    assert _local("paris@example.com") == [(13, 6)] and _local("nozone@example.com") == [(12, 6)]
    assert matching_customers(store, LUNCH).count() == 2


def test_time_of_day_and_weekday_compile_to_plain_comparisons(store):
    rule = {**LUNCH, "day_of_week": [6, 7]}
    with CaptureQueriesContext(connection) as queries:
        matching_customers(store, rule).count()
    sql = queries.captured_queries[-1]["sql"]
    assert "local_hour" in sql and "local_weekday" in sql
    assert "sc_local_part" not in sql and "AT TIME ZONE" not in sql and "timezone" not in sql
