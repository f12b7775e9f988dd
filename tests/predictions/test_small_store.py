"""Small stores: a transparent heuristic, marked low confidence, with no made-up precise numbers."""

from __future__ import annotations

import pytest

from segments.predictions.models import CustomerPrediction, PredictionRun
from segments.predictions.refit import refit_store

from .helpers import at_day, record_orders

pytestmark = pytest.mark.django_db


def test_small_store_falls_back_to_the_heuristic_and_says_so(store):
    record_orders(
        store,
        {
            "regular@example.com": [(0, 20), (30, 20), (60, 20), (90, 20)],
            "new@example.com": [(200, 50)],
        },
    )
    run = refit_store(store.id, now=at_day(210))

    assert run.method == PredictionRun.Method.HEURISTIC
    assert "2 customers with orders" in run.note and run.parameters == {}
    lapsed = CustomerPrediction.objects.get(customer__email="regular@example.com")
    assert lapsed.confidence == CustomerPrediction.Confidence.LOW
    assert lapsed.explanation.startswith(
        "Last ordered 120 days ago; usually orders every 30 days (4 orders)."
    )
    assert "Low confidence" in lapsed.explanation
    # Four usual intervals without an order: high risk, and no next order is expected.
    assert lapsed.churn_band == "high" and lapsed.expected_next_order_at is None
    # Model-only numbers stay empty rather than pretending to a precision we do not have.
    assert (lapsed.churn_risk, lapsed.probability_alive, lapsed.predicted_clv, lapsed.expected_orders) == (
        None,
        None,
        None,
        None,
    )
    assert lapsed.as_api_dict()["confidence"] == "low"

    new = CustomerPrediction.objects.get(customer__email="new@example.com")
    assert new.churn_band == "low"
    assert new.average_days_between_orders == 30  # the store's typical interval
    assert new.expected_next_order_at == at_day(230).replace(hour=0)
    assert "this store's customers usually reorder every 30 days" in new.explanation
    assert "Next order expected around 2026-08-19" in new.explanation


def test_a_store_where_nobody_reordered_gives_no_churn_estimate(store):
    record_orders(store, {"a@example.com": [(0, 10)], "b@example.com": [(5, 10)]})
    refit_store(store.id, now=at_day(100))
    prediction = CustomerPrediction.objects.get(customer__email="a@example.com")
    assert prediction.churn_band == "" and prediction.expected_next_order_at is None
    assert "no basis yet for a churn estimate" in prediction.explanation


def test_refit_replaces_predictions_and_drops_customers_without_purchases(store):
    record_orders(store, {"a@example.com": [(0, 10), (10, 10)]})
    refit_store(store.id, now=at_day(20))
    first = CustomerPrediction.objects.get(customer__email="a@example.com")
    refit_store(store.id, now=at_day(40))
    again = CustomerPrediction.objects.get(customer__email="a@example.com")
    assert again.computed_at > first.computed_at
    assert CustomerPrediction.objects.filter(customer__email="a@example.com").count() == 1
    assert "Last ordered 30 days ago" in again.explanation
    assert PredictionRun.objects.filter(store=store).count() == 2


def test_a_store_without_orders_gets_an_empty_run(store):
    run = refit_store(store.id, now=at_day(10))
    assert run.method == PredictionRun.Method.HEURISTIC and run.customers == 0
    assert "0 customers with orders" in run.note
    assert not CustomerPrediction.objects.filter(store=store).exists()
