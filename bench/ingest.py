"""Ingestion benchmark: events through ``record_events`` vs a plain bulk insert of the same rows.

    .venv/bin/python bench/ingest.py [--events 200000] [--customers 20000] [--batch 500]

Runs on a fresh local PostgreSQL database (``bench_ingest``). Prints events/s for record_events in
batches (identity resolution, dedupe, aggregates, all in one transaction per batch) and for a plain
``bulk_create`` of the same rows into the same table, and their ratio.
Targets (issue 2): >= 10,000 events/s and within 5x of the plain insert.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._setup import fresh_database  # noqa: E402


def make_events(n_events: int, n_customers: int, seed: int = 1):
    from shopconnect.timeline.canonical import CanonicalEvent

    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    kinds = (["product.viewed"] * 45 + ["page.viewed"] * 20 + ["cart.updated"] * 10 + ["checkout.started"] * 5
             + ["order.placed"] * 8 + ["email.sent"] * 7 + ["email.opened"] * 4 + ["email.clicked"] * 1)
    events = []
    for i in range(n_events):
        c = rng.randrange(n_customers)
        kind = rng.choice(kinds)
        props = {"product_id": str(1000 + rng.randrange(200)), "title": "Trail Runner Shoes", "price": "119.00",
                 "url": "https://shop.example/products/trail-runner", "category": "Footwear"}
        order_ref, amount = "", None
        if kind == "order.placed":
            order_ref, amount = f"o{i}", Decimal(rng.randrange(1000, 30000)) / 100
            props = {"order_id": order_ref, "total": str(amount), "currency": "USD",
                     "line_items": [{"product_id": props["product_id"], "quantity": 1, "price": str(amount)}]}
        events.append(CanonicalEvent(
            type=kind, occurred_at=start + timedelta(seconds=i * 13), dedupe_key=f"bench:{i}", source="api",
            properties=props, email=f"c{c}@bench.example", order_ref=order_ref, amount=amount,
        ))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    fresh_database("bench_ingest")
    from django.db import connection

    from shopconnect.timeline.models import Customer, Event, Store
    from shopconnect.timeline.record import record_events

    store = Store.objects.create(platform="shopify", domain="bench.myshopify.com")
    plain_store = Store.objects.create(platform="shopify", domain="bench-plain.myshopify.com")
    events = make_events(args.events, args.customers)
    print(f"{args.events:,} events for {args.customers:,} customers, batches of {args.batch}, "
          f"{connection.vendor} {connection.pg_version if connection.vendor == 'postgresql' else ''}")

    started = time.perf_counter()
    for i in range(0, len(events), args.batch):
        record_events(store, events[i : i + args.batch])
    recorded_s = time.perf_counter() - started
    assert Event.objects.filter(store=store).count() == args.events

    # The same rows (with the customer ids resolved above), inserted plainly into the same table.
    ids = dict(Customer.objects.filter(store=store).values_list("email", "id"))
    now = datetime.now(UTC)
    rows = [Event(store=plain_store, customer_id=ids[e.email], type=e.type, occurred_at=e.occurred_at,
                  received_at=now, source=e.source, properties=e.properties, dedupe_key=e.dedupe_key,
                  order_ref=e.order_ref, amount=e.amount) for e in events]
    started = time.perf_counter()
    for i in range(0, len(rows), args.batch):
        Event.objects.bulk_create(rows[i : i + args.batch])
    plain_s = time.perf_counter() - started

    # replay: everything is a duplicate, nothing changes
    started = time.perf_counter()
    inserted = sum(record_events(store, events[i : i + args.batch]).inserted
                   for i in range(0, len(events), args.batch))
    replay_s = time.perf_counter() - started

    rate, plain_rate = args.events / recorded_s, args.events / plain_s
    print(f"record_events:        {rate:10,.0f} events/s  ({recorded_s:.1f} s)")
    print(f"plain bulk insert:    {plain_rate:10,.0f} events/s  ({plain_s:.1f} s)")
    print(f"ratio (plain/record): {recorded_s / plain_s:10.2f}x   target <= 5x")
    print(f"replay of all events: {args.events / replay_s:10,.0f} events/s, {inserted} inserted (must be 0)")
    print(f"target >= 10,000 events/s: {'met' if rate >= 10_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
