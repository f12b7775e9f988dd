"""Per-customer purchase summary for the models, computed from the timeline in one SQL statement.

The order history is read from ``order.placed`` events, with the same money rule as
``shopconnect.timeline.aggregates``: a cancelled order counts neither as an order nor as money, and refunds
(matched to their order by ``order_ref``) net out of the order's value. An order refunded in full is no
purchase at all. As in the BG/NBD paper, several orders on the same (UTC) day are one transaction.

For each customer with at least one purchase before ``until`` the statement returns: the first and last
purchase day, the number of purchase days, the net total and the net value of the repeat purchases (all
but the first day), which is what Gamma-Gamma needs.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.db import connection, transaction

from shopconnect.timeline import vocabulary as v

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Summary:
    """Column arrays, one entry per customer; days are counted since 1970-01-01 (UTC)."""

    customer_id: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    purchase_days: np.ndarray
    total_value: np.ndarray
    repeat_value: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_id)

    @property
    def frequency(self) -> np.ndarray:
        """Repeat transactions (BG/NBD ``x``)."""
        return self.purchase_days - 1

    @property
    def repeat_average(self) -> np.ndarray:
        """Average value of the repeat transactions (Gamma-Gamma ``m``; 0 without repeats)."""
        x = self.frequency
        return np.divide(self.repeat_value, x, out=np.zeros(len(x)), where=x > 0)


def _day(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"(({column} AT TIME ZONE 'UTC')::date - DATE '1970-01-01')"
    # SQLite stores aware datetimes as UTC text.
    return f"CAST(julianday(date({column})) - 2440587.5 AS INTEGER)"


SQL = """
WITH refunds AS (
    SELECT customer_id, order_ref, SUM(amount) AS refunded
    FROM timeline_event
    WHERE store_id = %(store)s AND type = %(refunded)s AND order_ref <> '' AND occurred_at < %(until)s
    GROUP BY customer_id, order_ref
),
cancelled AS (
    SELECT DISTINCT customer_id, order_ref
    FROM timeline_event
    WHERE store_id = %(store)s AND type = %(cancelled)s AND order_ref <> '' AND occurred_at < %(until)s
),
orders AS (
    SELECT p.customer_id, {day} AS day,
           COALESCE(p.amount, 0) - COALESCE(r.refunded, 0) AS net, r.refunded IS NOT NULL AS was_refunded
    FROM timeline_event p
    LEFT JOIN refunds r ON r.customer_id = p.customer_id AND r.order_ref = p.order_ref AND p.order_ref <> ''
    LEFT JOIN cancelled x ON x.customer_id = p.customer_id AND x.order_ref = p.order_ref
    WHERE p.store_id = %(store)s AND p.type = %(placed)s AND p.occurred_at < %(until)s
      AND x.customer_id IS NULL
),
days AS (
    SELECT customer_id, day, SUM(CASE WHEN net > 0 THEN net ELSE 0 END) AS value
    FROM orders
    WHERE NOT (was_refunded AND net <= 0)
    GROUP BY customer_id, day
),
ranked AS (
    -- a window, not a self-join: no plan can turn it quadratic (fresh tables have no statistics)
    SELECT customer_id, day, value, MIN(day) OVER (PARTITION BY customer_id) AS first_day FROM days
)
SELECT k.customer_id, k.first_day, MAX(k.day), COUNT(*), SUM(k.value),
       SUM(CASE WHEN k.day > k.first_day THEN k.value ELSE 0 END)
FROM ranked k
JOIN timeline_customer c ON c.id = k.customer_id AND c.deleted_at IS NULL  -- once per day, not per order
GROUP BY k.customer_id, k.first_day
ORDER BY k.customer_id
"""


def purchase_summary(store_id: int, until: datetime) -> Summary:
    """The summary of every customer of the store with a purchase before ``until`` (exclusive)."""
    sql = SQL.format(day=_day("p.occurred_at"))
    params = {
        "store": store_id,
        "until": connection.ops.adapt_datetimefield_value(until),
        "placed": v.ORDER_PLACED,
        "refunded": v.ORDER_REFUNDED,
        "cancelled": v.ORDER_CANCELLED,
    }
    postgres = connection.vendor == "postgresql"
    with transaction.atomic() if postgres else nullcontext(), connection.cursor() as cursor:
        if postgres:  # one analytic query sorting up to millions of rows: sort in memory (this transaction)
            cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0)
        return Summary(empty.astype(np.int64), empty, empty, empty, empty, empty)
    columns = list(zip(*rows, strict=True))
    return Summary(
        customer_id=np.array(columns[0], dtype=np.int64),
        first_day=np.array(columns[1], dtype=float),
        last_day=np.array(columns[2], dtype=float),
        purchase_days=np.array(columns[3], dtype=float),
        total_value=np.array([float(value) for value in columns[4]], dtype=float),
        repeat_value=np.array([float(value) for value in columns[5]], dtype=float),
    )


def day_number(moment: datetime) -> int:
    """Days since 1970-01-01 of a moment's UTC date (the same numbering as the SQL above)."""
    return (moment.astimezone(UTC).date() - EPOCH.date()).days
