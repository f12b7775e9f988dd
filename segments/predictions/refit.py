"""Refit a store's predictions from its order history and write them onto its customers.

``refit_store`` is the one entry point (the scheduled task, the ``predict`` command and the tests call
it). Steps: the per-customer summary in SQL (``history``), the fit and the scoring vectorized with numpy
(``bgnbd``, ``gamma_gamma``, ``rfm``), then the store's rows replaced in one transaction (``write``).

Below a minimum history the statistical model is not fitted (its estimates would be noise presented as
precision). The heuristic then compares each customer's time since the last order with their usual
interval between orders (or the store's typical one) and leaves the model-only numbers (probability
alive, churn risk, expected orders, lifetime value) empty; those rows are marked low-confidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from shopconnect.timeline.models import Store

from . import bgnbd, gamma_gamma, rfm
from .explain import explain_all
from .history import EPOCH, Summary, day_number, purchase_summary
from .models import PredictionRun
from .write import replace_predictions


@dataclass(frozen=True)
class Thresholds:
    """When the model is fitted; override with ``settings.PREDICTIONS`` (same keys)."""

    min_customers: int = 100
    min_repeat_customers: int = 20
    min_history_days: int = 90
    horizon_days: int = 365
    #: churn risk below ``low_below`` is low, at or above ``high_from`` is high
    low_below: float = 0.3
    high_from: float = 0.7

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(**getattr(settings, "PREDICTIONS", {}))


@dataclass
class Scores:
    """Everything written for one store, column-wise."""

    confidence: str
    probability_alive: np.ndarray
    expected_orders: np.ndarray
    expected_order_value: np.ndarray
    predicted_clv: np.ndarray
    interval_days: np.ndarray  # NaN when unknown
    own_interval: np.ndarray  # bool: the customer's own interval (else the store's typical one)
    churn_band: np.ndarray
    recency_days: np.ndarray
    next_order_day: np.ndarray  # NaN when not expected
    overdue: np.ndarray  # bool: the usual interval has passed without an order


def refit_store(
    store_id: int, now: datetime | None = None, thresholds: Thresholds | None = None
) -> PredictionRun:
    """Fit and score every customer of the store with a purchase before ``now``; returns the run."""
    started = time.monotonic()
    limits = thresholds or Thresholds.from_settings()
    now = now or timezone.now()
    store = Store.objects.get(pk=store_id)
    summary = purchase_summary(store_id, now)
    stages = {"summary_sql": time.monotonic() - started}
    end_day = day_number(now)
    x = summary.frequency
    repeaters = int((x > 0).sum())
    history_days = int(end_day - summary.first_day.min()) if len(summary) else 0
    typical = (
        float(np.median((summary.last_day - summary.first_day)[x > 0] / x[x > 0])) if repeaters else None
    )

    parameters: dict = {}
    reasons = _why_not_model(len(summary), repeaters, history_days, limits)
    scores = None
    if not reasons:
        try:
            scores, parameters = _model_scores(summary, end_day, typical, limits)
        except bgnbd.FitError as error:
            reasons = [str(error)]
    if scores is None:
        scores = _heuristic_scores(summary, end_day, typical, limits)
    note = (
        "Fitted BG/NBD and Gamma-Gamma."
        if not reasons
        else "Heuristic, low confidence: " + "; ".join(reasons) + "."
    )

    computed_at = timezone.now()
    stages["fit"] = time.monotonic() - started - sum(stages.values())
    rfm_r, rfm_f, rfm_m = rfm.scores(scores.recency_days, summary.purchase_days, summary.total_value)
    rfm_group = rfm.groups(rfm_r, rfm_f, rfm_m)
    explanations = explain_all(summary, scores, limits, store.currency, _date_of)
    columns = {
        "customer_id": summary.customer_id,
        "probability_alive": scores.probability_alive,
        "churn_risk": 1.0 - scores.probability_alive,
        "churn_band": scores.churn_band,
        "expected_orders": scores.expected_orders,
        "expected_order_value": scores.expected_order_value,
        "predicted_clv": scores.predicted_clv,
        "expected_next_order_at": scores.next_order_day,
        "average_days_between_orders": scores.interval_days,
        "rfm_recency": rfm_r,
        "rfm_frequency": rfm_f,
        "rfm_monetary": rfm_m,
        "rfm_group": rfm_group,
        "explanation": explanations,
    }
    constants = {
        "store_id": store_id,
        "computed_at": computed_at,
        "confidence": scores.confidence,
        "horizon_days": limits.horizon_days,
    }
    stages["score_and_explain"] = time.monotonic() - started - sum(stages.values())
    replace_predictions(store_id, columns, constants)
    stages["write"] = time.monotonic() - started - sum(stages.values())
    run = PredictionRun.objects.create(
        store_id=store_id,
        computed_at=computed_at,
        customers=len(summary),
        repeat_customers=repeaters,
        method=PredictionRun.Method.MODEL if not reasons else PredictionRun.Method.HEURISTIC,
        history_days=history_days,
        horizon_days=limits.horizon_days,
        parameters=parameters,
        typical_days_between_orders=typical,
        note=note,
        seconds=round(time.monotonic() - started, 3),
    )
    run.stage_seconds = stages  # not stored: for the benchmark and logs
    return run


def _why_not_model(customers: int, repeaters: int, history_days: int, limits: Thresholds) -> list[str]:
    reasons = []
    if customers < limits.min_customers:
        reasons.append(f"{customers} customers with orders (the model needs {limits.min_customers})")
    if repeaters < limits.min_repeat_customers:
        reasons.append(f"{repeaters} repeat customers (needs {limits.min_repeat_customers})")
    if history_days < limits.min_history_days:
        reasons.append(f"{history_days} days of order history (needs {limits.min_history_days})")
    return reasons


def _intervals(summary: Summary, typical: float | None) -> tuple[np.ndarray, np.ndarray]:
    x = summary.frequency
    own = x > 0
    span = summary.last_day - summary.first_day
    own_interval = np.divide(span, x, out=np.full(len(x), np.nan), where=own)
    return np.where(own, own_interval, typical if typical is not None else np.nan), own


def _band(churn: np.ndarray, limits: Thresholds) -> np.ndarray:
    return np.select([churn < limits.low_below, churn < limits.high_from], ["low", "medium"], "high").astype(
        object
    )


def _model_scores(summary: Summary, end_day: int, typical: float | None, limits: Thresholds):
    x = summary.frequency
    t_x = (summary.last_day - summary.first_day) / 7.0
    T = (end_day - summary.first_day) / 7.0
    params = bgnbd.fit(x, t_x, T)
    alive = bgnbd.probability_active(params, x, t_x, T)
    orders = bgnbd.expected_orders(params, limits.horizon_days / 7.0, x, t_x, T)
    try:
        gg = gamma_gamma.fit(x, summary.repeat_average)
        if gg.q <= 1:
            raise bgnbd.FitError("Gamma-Gamma q <= 1: no finite mean order value")
        value = gamma_gamma.expected_order_value(gg, x, summary.repeat_average)
        parameters = {"bgnbd": params.as_dict(), "gamma_gamma": gg.as_dict()}
    except bgnbd.FitError:
        value = summary.total_value / summary.purchase_days  # the customer's own average, unshrunk
        parameters = {"bgnbd": params.as_dict(), "gamma_gamma": None}
    churn = 1.0 - alive
    band = _band(churn, limits)
    interval, own = _intervals(summary, typical)
    recency = end_day - summary.last_day
    return Scores(
        "model",
        alive,
        orders,
        value,
        orders * value,
        interval,
        own,
        band,
        recency,
        *_next_order(summary, interval, end_day, band),
    ), parameters


def _heuristic_scores(summary: Summary, end_day: int, typical: float | None, limits: Thresholds) -> Scores:
    n = len(summary)
    unknown = np.full(n, np.nan)
    interval, own = _intervals(summary, typical)
    recency = end_day - summary.last_day
    # How many usual intervals have passed since the last order: up to 1 on time, over 2 probably lapsed.
    ratio = np.divide(recency, np.maximum(interval, 1.0), out=np.full(n, np.nan), where=~np.isnan(interval))
    band = np.select([np.isnan(ratio), ratio <= 1.0, ratio <= 2.0], ["", "low", "medium"], "high").astype(
        object
    )
    return Scores(
        "low",
        unknown,
        unknown,
        unknown,
        unknown,
        interval,
        own,
        band,
        recency,
        *_next_order(summary, interval, end_day, band),
    )


def _next_order(summary: Summary, interval: np.ndarray, end_day: int, band: np.ndarray):
    """(next day, overdue): last order + usual interval; overdue: due now, or none if probably lapsed."""
    due = summary.last_day + interval
    overdue = due < end_day
    return np.where(overdue, np.where(band == "high", np.nan, float(end_day)), due), overdue


def _date_of(day: float) -> datetime:
    return EPOCH + timedelta(days=float(day))


def store_ids_to_refit() -> list[int]:
    return list(Store.objects.filter(status=Store.Status.ACTIVE).order_by("id").values_list("id", flat=True))
