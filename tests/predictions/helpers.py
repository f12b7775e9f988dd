"""Helpers to build an order history through the timeline and refit predictions on it.

Usable by other apps' tests too (the segment conditions on churn band, predicted value, next order and
RFM group): ``record_orders(store, {...})`` then ``refit_store(store.id, now=...)``. For example, after

    record_orders(store, {"lapsed@x.io": [(0, 20), (30, 20), (60, 20), (90, 20)], "new@x.io": [(200, 50)]})
    refit_store(store.id, now=at_day(210))

(a small store: heuristic, low confidence) ``lapsed@x.io`` has churn_band "high", rfm_group "loyal",
no expected_next_order_at and no churn_risk/predicted_clv; ``new@x.io`` has churn_band "low" and
expected_next_order_at = at_day(230) at midnight UTC. ``tests/predictions/test_model.py::simulated_history``
builds a store large enough for the statistical model (all three bands, numeric churn risk and value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Store
from shopconnect.timeline.record import record_events

DAY0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def at_day(day: float) -> datetime:
    return DAY0 + timedelta(days=day)


def record_orders(store: Store, history: Mapping[str, Iterable[tuple[float, str | int]]]) -> None:
    """``{email: [(day, amount), ...]}``: one ``order.placed`` event per order, order ids ``<email>#<n>``."""
    events = []
    for email, orders in history.items():
        for n, (day, amount) in enumerate(orders):
            ref = f"{email}#{n}"
            events.append(
                CanonicalEvent(
                    type="order.placed",
                    occurred_at=at_day(day),
                    dedupe_key=f"o:{ref}",
                    source="api",
                    email=email,
                    order_ref=ref,
                    amount=Decimal(str(amount)),
                )
            )
    record_events(store, events)


def record_refund(store: Store, email: str, order_ref: str, amount: str, day: float) -> None:
    record_events(
        store,
        [
            CanonicalEvent(
                type="order.refunded",
                occurred_at=at_day(day),
                dedupe_key=f"r:{order_ref}:{amount}",
                source="api",
                email=email,
                order_ref=order_ref,
                amount=Decimal(amount),
            )
        ],
    )


def record_cancel(store: Store, email: str, order_ref: str, day: float) -> None:
    record_events(
        store,
        [
            CanonicalEvent(
                type="order.cancelled",
                occurred_at=at_day(day),
                dedupe_key=f"c:{order_ref}",
                source="api",
                email=email,
                order_ref=order_ref,
            )
        ],
    )
