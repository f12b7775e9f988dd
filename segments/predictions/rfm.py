"""RFM scores (1-5 each, by quintile within the store) and the named groups built on them.

Recency is days since the last purchase (more recent scores higher), frequency the number of purchase
days, monetary the net amount spent. Ties share a score (ranks are averaged), so a store where most
customers bought once gives them all the same frequency score instead of splitting them at random.

Groups come from the recency score and the mean of the frequency and monetary scores (``fm``):

=================  ===========================================
group              rule (checked in this order)
=================  ===========================================
champions          R >= 4 and FM >= 4
loyal              R >= 3 and FM >= 3
recent             R = 5 and FM = 1 (first purchase just now)
promising          R >= 4 (and FM <= 2)
needs attention    R = 3 (and FM <= 2)
cannot lose        R <= 2 and FM = 5
at risk            R <= 2 and FM >= 3
hibernating        R = 2 and FM <= 2
lost               R = 1 and FM <= 2
=================  ===========================================
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from .names import (  # noqa: F401 - GROUPS is read from here too
    AT_RISK,
    CANNOT_LOSE,
    CHAMPIONS,
    GROUPS,
    HIBERNATING,
    LOST,
    LOYAL,
    NEEDS_ATTENTION,
    PROMISING,
    RECENT,
)


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1 (lowest fifth) to 5 (highest fifth); equal values get equal scores."""
    values = np.asarray(values, float)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    ranks = rankdata(values, method="average")
    return np.clip(np.ceil(5 * ranks / len(values)), 1, 5).astype(np.int64)


def scores(recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray):
    """(R, F, M) score arrays."""
    return (
        quintile_scores(-np.asarray(recency_days, float)),
        quintile_scores(frequency),
        quintile_scores(monetary),
    )


def groups(r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    fm = np.floor((np.asarray(f) + np.asarray(m)) / 2 + 0.5)  # half rounds up: (4 + 5) / 2 -> 5
    r = np.asarray(r)
    conditions = [
        (r >= 4) & (fm >= 4),
        (r >= 3) & (fm >= 3),
        (r == 5) & (fm == 1),
        r >= 4,
        r == 3,
        fm == 5,
        fm >= 3,
        r == 2,
    ]
    choices = [CHAMPIONS, LOYAL, RECENT, PROMISING, NEEDS_ATTENTION, CANNOT_LOSE, AT_RISK, HIBERNATING]
    return np.select(conditions, choices, default=LOST).astype(object)
