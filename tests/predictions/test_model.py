"""The statistical model on a simulated store: churn bands, expected orders, value and the API."""

from __future__ import annotations

import numpy as np
import pytest

from segments.predictions.models import CustomerPrediction, PredictionRun
from segments.predictions.refit import Thresholds, refit_store

from .helpers import at_day, record_orders

pytestmark = pytest.mark.django_db
NOW = 365


def simulated_history(n: int = 200, seed: int = 7) -> dict:
    """Customers arrive over the first 100 days, buy at a gamma-distributed rate, and may drop out."""
    rng = np.random.default_rng(seed)
    history = {}
    for c in range(n):
        day, rate, drop = rng.uniform(0, 100), rng.gamma(1.0, 1 / 30), rng.beta(1, 4)
        orders = [(round(day, 2), round(rng.gamma(5, 10), 2))]
        while True:
            if rng.uniform() < drop:
                break
            day += rng.exponential(1 / rate)
            if day >= NOW:
                break
            orders.append((round(day, 2), round(rng.gamma(5, 10), 2)))
        history[f"sim{c}@example.com"] = orders
    history["steady@example.com"] = [(d, 60) for d in range(5, NOW, 10)]
    history["gone@example.com"] = [(d, 60) for d in range(0, 60, 3)]
    return history


@pytest.fixture
def fitted(store):
    record_orders(store, simulated_history())
    return refit_store(store.id, now=at_day(NOW))


def test_model_fits_and_bands_follow_the_churn_risk(store, fitted):
    assert fitted.method == PredictionRun.Method.MODEL
    assert set(fitted.parameters["bgnbd"]) == {"r", "alpha", "a", "b"}
    steady = CustomerPrediction.objects.get(customer__email="steady@example.com")
    gone = CustomerPrediction.objects.get(customer__email="gone@example.com")
    assert steady.confidence == "model" and steady.churn_band == "low" and steady.churn_risk < 0.3
    assert gone.churn_band == "high" and gone.churn_risk >= 0.7
    assert steady.churn_risk == pytest.approx(1 - steady.probability_alive)
    # Ordering every 10 days and still at it: about 36 orders a year at about 60 each.
    assert 20 < steady.expected_orders < 40
    assert 55 < float(steady.expected_order_value) < 65
    assert float(steady.predicted_clv) == pytest.approx(
        steady.expected_orders * float(steady.expected_order_value), rel=0.01
    )
    assert float(gone.predicted_clv) < float(steady.predicted_clv) / 10
    assert "likely still active: low churn risk" in steady.explanation
    assert "Next order expected around" in steady.explanation
    assert "probably lapsed" in gone.explanation and gone.expected_next_order_at is None
    bands = set(CustomerPrediction.objects.filter(store=store).values_list("churn_band", flat=True))
    assert bands == {"low", "medium", "high"}


def test_band_thresholds_come_from_settings(store, settings):
    record_orders(store, simulated_history(n=120))
    settings.PREDICTIONS = {"low_below": 0.0, "high_from": 0.0}
    refit_store(store.id, now=at_day(NOW))
    assert set(CustomerPrediction.objects.filter(store=store).values_list("churn_band", flat=True)) == {
        "high"
    }


def test_thresholds_decide_between_model_and_heuristic(store):
    record_orders(store, simulated_history(n=120))
    run = refit_store(store.id, now=at_day(NOW), thresholds=Thresholds(min_customers=500))
    assert run.method == PredictionRun.Method.HEURISTIC
    assert "122 customers with orders (the model needs 500)" in run.note


def test_prediction_is_on_the_customer_in_the_api(store, fitted, make_user, api_client_for):
    steady = CustomerPrediction.objects.get(customer__email="steady@example.com")
    client = api_client_for(make_user(store))
    body = client.get(f"/api/v1/customers/{steady.customer_id}/").json()
    prediction = body["prediction"]
    assert prediction["churn_band"] == "low" and prediction["confidence"] == "model"
    assert prediction["explanation"] == steady.explanation
    assert prediction["rfm"]["group"] == steady.rfm_group
    assert float(prediction["predicted_clv"]) == float(steady.predicted_clv)
