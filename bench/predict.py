"""Benchmark: refit and score one store of 100,000 customers with 1,000,000 orders (target < 60 s).

Run by hand on PostgreSQL (a database of your own):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_predictions .venv/bin/python bench/predict.py

The orders are recorded through ``record_events`` (the only writer of the timeline), once: the store is
kept (domain ``bench-predict.example``) and reused by later runs with the same size, so only the first run
pays for loading. ``--customers`` and ``--orders`` scale it down (say so when you quote figures).
Printed: load time (first run), then the refit split into SQL summary, fit and scoring, and writing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopconnect.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from segments.predictions import history, refit  # noqa: E402
from segments.predictions.models import CustomerPrediction  # noqa: E402
from shopconnect.timeline.canonical import CanonicalEvent  # noqa: E402
from shopconnect.timeline.models import Event, Store  # noqa: E402
from shopconnect.timeline.record import record_events  # noqa: E402

NOW = datetime(2026, 11, 1, tzinfo=UTC)
START = NOW - timedelta(days=730)
BATCH = 5000


def simulate(customers: int, orders: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer index, day offset, amount) per order: exactly ``orders`` orders, at least one each."""
    rng = np.random.default_rng(seed)
    weights = rng.gamma(0.5, 1.0, customers)  # heterogeneous buying rates: many one-time buyers, a few heavy
    per_customer = 1 + rng.multinomial(orders - customers, weights / weights.sum())
    owner = np.repeat(np.arange(customers), per_customer)
    first = rng.uniform(0, 700, customers)
    span = rng.uniform(0, 1, customers) * (730 - first)
    day = first[owner] + rng.uniform(0, 1, len(owner)) * span[owner]
    first_of_owner = np.r_[True, owner[1:] != owner[:-1]]
    day[first_of_owner] = first[owner[first_of_owner]]
    amount = np.round(rng.gamma(4, 15, len(owner)), 2)
    return owner, day, amount


def load(store: Store, customers: int, orders: int) -> float:
    owner, day, amount = simulate(customers, orders)
    started = time.monotonic()
    for start in range(0, len(owner), BATCH):
        events = [
            CanonicalEvent(
                type="order.placed", occurred_at=START + timedelta(days=float(day[i])),
                dedupe_key=f"bench:{i}", source="api", external_id=f"c{owner[i]}", order_ref=f"o{i}",
                amount=Decimal(str(amount[i])),
            )
            for i in range(start, min(start + BATCH, len(owner)))
        ]
        record_events(store, events)
        if (start // BATCH) % 20 == 0:
            done = start + len(events)
            print(f"  loaded {done:>9,} orders ({time.monotonic() - started:,.0f} s)", flush=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"database: {connection.vendor}; {args.customers:,} customers, {args.orders:,} orders")
    call_command("migrate", verbosity=0)
    domain = f"bench-predict-{args.customers}-{args.orders}.example"
    store, _ = Store.objects.get_or_create(platform="woocommerce", domain=domain, defaults={"name": domain})
    have = Event.objects.filter(store=store, type="order.placed").count()
    if have != args.orders:
        print(f"loading through record_events (have {have:,}) ...")
        print(f"load: {load(store, args.customers, args.orders):,.1f} s")

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does to a table that just grew
            cursor.execute("ANALYZE timeline_event; ANALYZE timeline_customer")

    started = time.monotonic()
    summary = history.purchase_summary(store.id, NOW)
    sql = time.monotonic() - started
    run = refit.refit_store(store.id, now=NOW)
    total = time.monotonic() - started
    written = CustomerPrediction.objects.filter(store=store, computed_at=run.computed_at).count()
    print(f"summary SQL alone:        {sql:6.1f} s for {len(summary):,} customers")
    print(f"refit end to end:         {run.seconds:6.1f} s ({run.method}; {written:,} predictions written)")
    print(f"summary + refit:          {total:6.1f} s")
    print("refit stages: " + ", ".join(f"{name} {sec:.1f} s" for name, sec in run.stage_seconds.items()))
    print(f"parameters: {run.parameters}")
    print(f"target < 60 s end to end: {'met' if run.seconds < 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
