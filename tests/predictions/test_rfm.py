"""RFM: quintile scores within the store and the named groups."""

from __future__ import annotations

import numpy as np
import pytest

from segments.predictions import rfm
from segments.predictions.models import CustomerPrediction
from segments.predictions.refit import refit_store

from .helpers import at_day, record_orders


def test_quintiles_split_ten_customers_two_per_score_and_ties_share_one():
    assert rfm.quintile_scores(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.quintile_scores(np.array([1, 1, 1, 1, 1, 1, 1, 1, 2, 3])).tolist() == [3] * 8 + [5, 5]


@pytest.mark.parametrize(
    ("r", "f", "m", "group"),
    [
        (5, 5, 4, "champions"),
        (4, 4, 4, "champions"),
        (3, 3, 3, "loyal"),
        (5, 3, 2, "loyal"),
        (5, 1, 1, "recent"),
        (4, 1, 1, "promising"),
        (5, 2, 2, "promising"),
        (3, 1, 2, "needs attention"),
        (2, 5, 5, "cannot lose"),
        (1, 3, 4, "at risk"),
        (2, 1, 2, "hibernating"),
        (1, 1, 2, "lost"),
    ],
)
def test_named_groups(r, f, m, group):
    assert rfm.groups(np.array([r]), np.array([f]), np.array([m])).tolist() == [group]
    assert group in rfm.GROUPS


@pytest.mark.django_db
def test_rfm_on_a_hand_built_store(store):
    # c0 bought long ago, once, little; c9 bought recently, often, a lot; the rest in between.
    history = {f"c{i}@example.com": [(10 * i + k, 10 * (i + 1)) for k in range(i + 1)] for i in range(10)}
    record_orders(store, history)
    refit_store(store.id, now=at_day(120))
    scores = {
        p.customer.email: (p.rfm_recency, p.rfm_frequency, p.rfm_monetary, p.rfm_group)
        for p in CustomerPrediction.objects.filter(store=store).select_related("customer")
    }
    assert scores["c9@example.com"] == (5, 5, 5, "champions")
    assert scores["c0@example.com"] == (1, 1, 1, "lost")
    assert scores["c4@example.com"] == (3, 3, 3, "loyal")
    assert scores["c2@example.com"] == (2, 2, 2, "hibernating")
    assert CustomerPrediction.objects.get(customer__email="c9@example.com").as_api_dict()["rfm"] == {
        "recency": 5,
        "frequency": 5,
        "monetary": 5,
        "group": "champions",
    }
