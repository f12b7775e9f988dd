"""Plain-language explanations of a customer's predictions, shown in the admin and the API.

Example: "Last ordered 120 days ago; usually orders every 30 days (4 orders). 23% likely still active:
high churn risk. Expected 0.4 orders in the next 365 days at about USD 52.10 each: predicted value
USD 20.84. Overdue: probably lapsed, no next order expected."
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .history import Summary
    from .refit import Scores, Thresholds


def _days(n: float) -> str:
    n = int(round(n))
    return "today" if n == 0 else "yesterday" if n == 1 else f"{n} days ago"


def _every(days: float) -> str:
    n = max(int(round(days)), 1)
    return "every day" if n == 1 else f"every {n} days"


def explain_all(
    summary: Summary, scores: Scores, limits: Thresholds, currency: str, date_of: Callable[[float], datetime]
) -> list[str]:
    out = []
    for i in range(len(summary)):
        orders = int(summary.purchase_days[i])
        interval = scores.interval_days[i]
        parts = [f"Last ordered {_days(scores.recency_days[i])}"]
        if scores.own_interval[i]:
            parts[0] += f"; usually orders {_every(interval)} ({orders} orders)."
        elif not np.isnan(interval):
            parts[0] += f"; one order so far, and this store's customers usually reorder {_every(interval)}."
        else:
            parts[0] += "; one order so far, and no customer of this store has reordered yet."
        band = scores.churn_band[i]
        if scores.confidence == "model":
            parts.append(f"{scores.probability_alive[i]:.0%} likely still active: {band} churn risk.")
            parts.append(
                f"Expected {scores.expected_orders[i]:.1f} orders in the next {limits.horizon_days} days at "
                f"about {currency} {scores.expected_order_value[i]:.2f} each: predicted value "
                f"{currency} {scores.predicted_clv[i]:.2f}."
            )
        elif band:
            parts.append(
                f"Low confidence (too little store history for a statistical model): {band} churn "
                "risk, judged from the time since the last order against the usual interval."
            )
        else:
            parts.append(
                "Low confidence (too little store history for a statistical model): no basis yet "
                "for a churn estimate."
            )
        next_day = scores.next_order_day[i]
        if np.isnan(interval):
            pass
        elif np.isnan(next_day):
            parts.append("Overdue: probably lapsed, no next order expected.")
        elif scores.overdue[i]:
            parts.append("Overdue: a next order is due now.")
        else:
            parts.append(f"Next order expected around {date_of(next_day):%Y-%m-%d}.")
        out.append(" ".join(parts))
    return out
