"""Segment prediction conditions against predictions really computed from the timeline
(the segments engine and the predictions refit working together)."""

from __future__ import annotations

import pytest

from segments.evaluate import matching_customers
from segments.predictions.models import CustomerPrediction
from segments.predictions.refit import refit_store

from ..predictions.helpers import at_day, record_orders

pytestmark = pytest.mark.django_db


def emails(store, rule, now):
    definition = {"version": 1, "type": "and", "rules": [rule]}
    return sorted(matching_customers(store, definition, now=now).values_list("email", flat=True))


def test_churn_band_group_and_next_order_conditions(store):
    record_orders(store, {
        "lapsed@x.io": [(0, 20), (30, 20), (60, 20), (90, 20)],
        "new@x.io": [(200, 50)],
    })
    now = at_day(210)
    refit_store(store.id, now=now)
    assert emails(store, {"type": "prediction", "field": "churn_band", "op": "eq", "value": "high"}, now) == [
        "lapsed@x.io"]
    assert emails(store, {"type": "prediction", "field": "churn_band", "op": "eq", "value": "low"}, now) == [
        "new@x.io"]
    groups = dict(CustomerPrediction.objects.filter(store=store).values_list("customer__email", "rfm_group"))
    assert groups["lapsed@x.io"] == "loyal"
    for group in set(groups.values()):
        assert emails(store, {"type": "prediction", "field": "rfm_group", "op": "eq", "value": group}, now) == sorted(
            email for email, g in groups.items() if g == group)
    # a small store has no model: no churn_risk number, so a numeric condition matches nobody (fail closed)
    assert emails(store, {"type": "prediction", "field": "churn_risk", "op": "gte", "value": 0}, now) == []
