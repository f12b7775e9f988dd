"""The order history the models see: net of refunds, without cancelled orders, same day as one."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments.predictions.history import purchase_summary
from segments.predictions.models import CustomerPrediction
from segments.predictions.refit import refit_store
from shopconnect.timeline.models import Customer

from .helpers import at_day, record_cancel, record_orders, record_refund

pytestmark = pytest.mark.django_db


def test_refunds_net_out_and_cancelled_orders_do_not_count(store):
    record_orders(
        store,
        {
            "a@example.com": [(0, 100), (10, 50), (10, 25), (20, 80), (30, 40)],
            "b@example.com": [(0, 30)],
        },
    )
    record_refund(store, "a@example.com", "a@example.com#0", "40.00", day=2)  # partial
    record_refund(store, "a@example.com", "a@example.com#3", "80.00", day=21)  # in full: no purchase
    record_cancel(store, "a@example.com", "a@example.com#4", day=31)
    record_refund(store, "a@example.com", "a@example.com#4", "40.00", day=31)  # of a cancelled order

    with CaptureQueriesContext(connection) as queries:
        summary = purchase_summary(store.id, at_day(60))
    # One statement reads the history (PostgreSQL adds a savepoint and SET LOCAL work_mem around it).
    assert [q["sql"].count("timeline_event") > 0 for q in queries].count(True) == 1

    a = Customer.objects.get(email="a@example.com")
    i = list(summary.customer_id).index(a.id)
    assert summary.purchase_days[i] == 2  # day 0 and day 10 (two orders that day are one transaction)
    assert summary.total_value[i] == 60 + 75
    assert summary.repeat_value[i] == 75
    assert summary.last_day[i] - summary.first_day[i] == 10
    a.refresh_from_db()
    assert a.total_spent == 135  # the timeline's own aggregate agrees

    refit_store(store.id, now=at_day(60))
    prediction = CustomerPrediction.objects.get(customer=a)
    assert prediction.explanation.startswith(
        "Last ordered 50 days ago; usually orders every 10 days (2 orders)."
    )


def test_events_after_the_cutoff_are_ignored(store):
    record_orders(store, {"a@example.com": [(0, 10), (100, 10)]})
    summary = purchase_summary(store.id, at_day(50))
    assert list(summary.purchase_days) == [1]


def test_refit_query_count_does_not_grow_with_customers(make_store):
    counts = []
    for size in (3, 40):
        shop = make_store()
        record_orders(shop, {f"c{i}@example.com": [(i, 10), (i + 5, 20)] for i in range(size)})
        with CaptureQueriesContext(connection) as queries:
            refit_store(shop.id, now=at_day(100))
        counts.append(len(queries))
    assert counts[0] == counts[1]
