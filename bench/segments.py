"""Segment engine benchmark on PostgreSQL (run by hand, prints its figures).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_segments .venv/bin/python bench/segments.py
    ... --large      1M customers / 20M events (slow to generate on a small machine)
    ... --reuse      keep the generated data of a previous run
    ... --scale 0.1  a fraction of the default size (10k / 200k) for a quick look

Measures: a full recompute of every built-in segment (each, and all), first as a new segment's first
build (every member written) and then as the recompute action on current membership, the incremental path (one event in
through record_events, then the re-evaluation of 50 segments for that customer), the time sweep, and the
compiled query against a hand-written SQL query for five segments (two with time-of-day and
day-of-week conditions, whose hand-written versions convert each event's time in SQL).

Data is generated with set-based SQL (generate_series) straight into the timeline tables, not through
record_events: 2M events through the ORM would take longer than the measurements. Aggregates are then
filled by one UPDATE, equivalent to ``rebuild_aggregates`` for this data (no cancellations or refunds).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopconnect.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from segments.evaluate import matching_customers  # noqa: E402
from segments.membership import sync_segment  # noqa: E402
from segments.models import Segment, SegmentMembership  # noqa: E402
from segments.realtime import on_events_recorded  # noqa: E402
from segments.tasks import reevaluate_customers, sweep_segments  # noqa: E402
from segments.templates import BY_KEY, TEMPLATES, create_from_template  # noqa: E402
from shopconnect.timeline.canonical import CanonicalEvent  # noqa: E402
from shopconnect.timeline.localtime import localize_store_events  # noqa: E402
from shopconnect.timeline.models import Customer, Event, Store  # noqa: E402
from shopconnect.timeline.record import events_recorded, record_events  # noqa: E402

DOMAIN = "bench-segments.myshopify.com"


def generate(store: Store, customers: int, events: int) -> None:
    c, e = Customer._meta.db_table, Event._meta.db_table
    with connection.cursor() as cur:
        t = time.monotonic()
        cur.execute(
            f"""
            INSERT INTO {c} (store_id, email, external_id, first_name, last_name, phone, country, timezone,
                device,
                properties, email_consent, created_at, orders_count, total_spent, average_order_value,
                emails_received, claimed_only)
            SELECT %s, 'c' || g || '@example.com', 'x' || g, '', '', '',
                (ARRAY['US','FR','DE','GB',''])[1 + g %% 5],
                (ARRAY['','Europe/Paris','America/New_York','Asia/Tokyo'])[1 + g %% 4],
                (ARRAY['','desktop','mobile','mobile','tablet'])[1 + g %% 5], '{{}}',
                (ARRAY['subscribed','subscribed','not_subscribed','unsubscribed'])[1 + g %% 4],
                now() - (g %% 700) * interval '1 day', 0, 0, 0, 0, false
            FROM generate_series(1, %s) g""",
            [store.pk, customers],
        )
        cur.execute(f"SELECT min(id) FROM {c} WHERE store_id = %s", [store.pk])
        first = cur.fetchone()[0]
        cur.execute(
            f"""
            INSERT INTO {e} (store_id, customer_id, type, occurred_at, received_at, source, properties,
                dedupe_key,
                order_ref, amount)
            SELECT %s, %s + (hashint %% %s), t.type, t.at, t.at, 'bench', t.props, 'b' || g,
                CASE WHEN t.type = 'order.placed' THEN 'o' || g ELSE '' END,
                CASE WHEN t.type = 'order.placed' THEN (10 + hashint %% 400)::numeric END
            FROM (SELECT g, abs(hashtext(g::text)) AS hashint, random() AS r,
                         now() - random() * interval '400 days' AS at FROM generate_series(1, %s) g) s,
            LATERAL (SELECT
                CASE WHEN s.r < 0.45 THEN 'product.viewed' WHEN s.r < 0.60 THEN 'page.viewed'
                     WHEN s.r < 0.70 THEN 'cart.updated' WHEN s.r < 0.73 THEN 'checkout.started'
                     WHEN s.r < 0.76 THEN 'checkout.updated' WHEN s.r < 0.80 THEN 'order.placed'
                     WHEN s.r < 0.90 THEN 'email.sent' WHEN s.r < 0.97 THEN 'email.opened'
                     ELSE 'email.clicked' END AS type,
                s.at AS at,
                jsonb_build_object('product_id', 'p' || (s.hashint %% 500), 'category',
                    (ARRAY['boots','tents','jackets','socks'])[1 + s.hashint %% 4],
                    'price', (s.hashint %% 300)::text,
                    'total', (s.hashint %% 400)::text, 'step',
                    (ARRAY['shipping','payment'])[1 + s.hashint %% 2],
                    'action', (ARRAY['added','removed'])[1 + s.hashint %% 2]) AS props) t
            """,
            [store.pk, first, customers, events],
        )
        cur.execute(
            f"""
            UPDATE {c} cu SET orders_count = a.n, total_spent = a.s,
                average_order_value = CASE WHEN a.n > 0 THEN round(a.s / a.n, 2) ELSE 0 END,
                first_order_at = a.fo, last_order_at = a.lo, last_seen_at = a.ls, last_opened_at = a.lop,
                last_clicked_at = a.lc, emails_received = a.er
            FROM (SELECT customer_id, count(*) FILTER (WHERE type = 'order.placed') n,
                         coalesce(sum(amount) FILTER (WHERE type = 'order.placed'), 0) s,
                         min(occurred_at) FILTER (WHERE type = 'order.placed') fo,
                         max(occurred_at) FILTER (WHERE type = 'order.placed') lo,
                         max(occurred_at) FILTER (WHERE type NOT LIKE 'email.%%') ls,
                         max(occurred_at) FILTER (WHERE type = 'email.opened') lop,
                         max(occurred_at) FILTER (WHERE type = 'email.clicked') lc,
                         count(*) FILTER (WHERE type = 'email.sent') er
                  FROM {e} WHERE store_id = %s GROUP BY customer_id) a
            WHERE cu.id = a.customer_id""",
            [store.pk],
        )
    localize_store_events(store.pk)  # the local hours / weekdays record_events would have stored
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {c}; ANALYZE {e};")
    print(f"generated {customers:,} customers / {events:,} events in {time.monotonic() - t:.1f}s")


LUNCH_BROWSERS = {  # hour of day in the customer's zone (stored with each event)
    "version": 1, "type": "performed", "event": "product.viewed", "hour_of_day": {"from": 11, "to": 14},
    "window": {"last": {"days": 30}},
}
WEEKEND_BUYERS = {"version": 1, "type": "performed", "event": "order.placed", "day_of_week": [6, 7]}
EXTRA = [  # 27 more segments so that the incremental path runs against 50
    *[
        {
            "type": "performed",
            "event": "product.viewed",
            "window": {"last": {"days": d}},
            "where": [{"property": "category", "op": "eq", "value": cat}],
        }
        for d in (7, 30, 90)
        for cat in ("boots", "tents", "jackets", "socks")
    ],
    *[{"type": "attribute", "field": "total_spent", "op": "gte", "value": v} for v in (100, 500, 1000, 2000)],
    *[
        {"type": "performed", "event": "email.clicked", "count": {"op": "gte", "value": n}}
        for n in (1, 2, 3, 4, 5, 6)
    ],
    *[{"type": "attribute", "field": "country", "op": "eq", "value": c} for c in ("US", "FR", "DE")],
    LUNCH_BROWSERS,
    WEEKEND_BUYERS,
]

COMPARED = {
    "recent_purchasers": BY_KEY["recent_purchasers"].definition,
    "cart_abandoners": BY_KEY["cart_abandoners"].definition,
    "repeated_product_viewers": BY_KEY["repeated_product_viewers"].definition,
    "lunch_browsers (hour of day)": LUNCH_BROWSERS,
    "weekend_buyers (day of week)": WEEKEND_BUYERS,
}

HAND = {
    "recent_purchasers": """SELECT count(*) FROM timeline_customer c WHERE c.store_id = %(s)s
        AND c.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM timeline_event e WHERE e.customer_id = c.id AND e.store_id = %(s)s
                    AND e.type = 'order.placed' AND e.occurred_at >= now() - interval '30 days')""",
    "cart_abandoners": """SELECT count(*) FROM timeline_customer c WHERE c.store_id = %(s)s
        AND c.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM timeline_event e WHERE e.customer_id = c.id AND e.store_id = %(s)s
            AND e.type = 'checkout.started' AND e.occurred_at >= now() - interval '72 hours'
            AND e.occurred_at <= now() - interval '1 hour'
            AND NOT EXISTS (SELECT 1 FROM timeline_event o WHERE o.customer_id = e.customer_id
                            AND o.type = 'order.placed' AND o.occurred_at > e.occurred_at))""",
    "repeated_product_viewers": """SELECT count(*) FROM timeline_customer c WHERE c.store_id = %(s)s
        AND c.deleted_at IS NULL AND c.id IN (SELECT customer_id FROM timeline_event WHERE store_id = %(s)s
            AND type = 'product.viewed' AND occurred_at >= now() - interval '30 days'
            GROUP BY customer_id, properties->>'product_id' HAVING count(*) >= 3)""",
    # the hand-written versions convert each event's time in SQL, as the compiler once did
    "lunch_browsers (hour of day)": """SELECT count(*) FROM timeline_customer c JOIN timeline_store s
        ON s.id = c.store_id WHERE c.store_id = %(s)s AND c.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM timeline_event e WHERE e.customer_id = c.id AND e.store_id = %(s)s
            AND e.type = 'product.viewed' AND e.occurred_at >= now() - interval '30 days'
            AND EXTRACT(HOUR FROM e.occurred_at AT TIME ZONE COALESCE(NULLIF(c.timezone, ''), s.timezone))
                BETWEEN 11 AND 13)""",
    "weekend_buyers (day of week)": """SELECT count(*) FROM timeline_customer c JOIN timeline_store s
        ON s.id = c.store_id WHERE c.store_id = %(s)s AND c.deleted_at IS NULL
        AND EXISTS (SELECT 1 FROM timeline_event e WHERE e.customer_id = c.id AND e.store_id = %(s)s
            AND e.type = 'order.placed'
            AND EXTRACT(ISODOW FROM e.occurred_at AT TIME ZONE COALESCE(NULLIF(c.timezone, ''), s.timezone))
                IN (6, 7))""",
}


def time_syncs(segments: list[Segment], what: str) -> None:
    """sync_segment each segment (a full recompute), printing its time and the rows it wrote."""
    total = 0.0
    for segment in segments:
        started = time.monotonic()
        result = sync_segment(segment)
        took = time.monotonic() - started
        total += took
        print(f"  {segment.template:28s} {took:7.2f}s  {len(result.entered) + len(result.exited):>8,} {what}")
    print(f"  {'all':28s} {total:7.2f}s")


def best(fn, runs=5) -> float:
    times = []
    for _ in range(runs):
        t = time.monotonic()
        fn()
        times.append(time.monotonic() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", action="store_true", help="1M customers / 20M events")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("run on PostgreSQL: set DATABASE_URL")
    customers, events = (1_000_000, 20_000_000) if args.large else (100_000, 2_000_000)
    customers, events = int(customers * args.scale), int(events * args.scale)
    call_command("migrate", verbosity=0)
    store = Store.objects.filter(domain=DOMAIN).first()
    if store is None or not args.reuse:
        if store is not None:
            print("dropping the previous bench store ...")
            Store.objects.filter(pk=store.pk).delete()
        store = Store.objects.create(
            platform="shopify", domain=DOMAIN, name="Bench", timezone="Europe/Berlin"
        )
        generate(store, customers, events)
    Segment.objects.filter(store=store).delete()
    with connection.cursor() as cur:  # start from a clean table, as autovacuum soon would
        cur.execute(f"VACUUM ANALYZE {SegmentMembership._meta.db_table}")

    print(
        f"\n== first build of the {len(TEMPLATES)} built-in segments, every member written "
        f"({Customer.objects.filter(store=store).count():,} customers) =="
    )
    time_syncs([create_from_template(store, t.key) for t in TEMPLATES], "members")

    with connection.cursor() as cur:  # what autovacuum does shortly after bulk writes
        cur.execute(f"ANALYZE {SegmentMembership._meta.db_table}")

    print("\n== full recompute (the recompute action: membership already current, changes written) ==")
    time_syncs(list(Segment.objects.filter(store=store).exclude(template="").order_by("pk")), "changes")

    for i, definition in enumerate(EXTRA):
        Segment.objects.create(store=store, name=f"extra {i}", definition={"version": 1, **definition})
    for segment in Segment.objects.filter(store=store, template=""):
        sync_segment(segment)
    n_segments = Segment.objects.filter(store=store).count()
    print(f"\n== incremental: one event in, {n_segments} segments re-evaluated for that customer ==")
    events_recorded.disconnect(on_events_recorded, dispatch_uid="segments.realtime")
    ids = list(Customer.objects.filter(store=store).values_list("id", flat=True)[:200:10])
    timings, reeval, changed = [], [], 0
    for k, cid in enumerate(ids):
        started = time.monotonic()
        result = record_events(
            store,
            [
                CanonicalEvent(
                    type="order.placed",
                    occurred_at=timezone.now(),
                    dedupe_key=f"inc{time.time_ns()}{k}",
                    source="bench",
                    customer_id=cid,
                    order_ref=f"inc{k}{time.time_ns()}",
                    amount=500,
                    properties={"total": "500"},
                )
            ],
        )
        before = SegmentMembership.objects.filter(customer_id=cid).count()
        mid = time.monotonic()
        reevaluate_customers(store.pk, {str(c): sorted(t) for c, t in result.types_by_customer.items()})
        timings.append(time.monotonic() - started)
        reeval.append(time.monotonic() - mid)
        changed += SegmentMembership.objects.filter(customer_id=cid).count() != before
    timings.sort()
    reeval.sort()
    print(
        f"  record_events + re-evaluation: median {timings[len(timings) // 2] * 1000:.1f} ms, "
        f"worst {timings[-1] * 1000:.1f} ms per event ({changed}/{len(ids)} events changed a membership)"
    )
    print(
        f"  of which segment re-evaluation: median {reeval[len(reeval) // 2] * 1000:.1f} ms, "
        f"worst {reeval[-1] * 1000:.1f} ms (the worst includes building the cached SQL once)"
    )

    print("\n== time sweep (segments that time can change) ==")
    started = time.monotonic()
    ran = sweep_segments(store.pk)
    print(f"  first sweep (full: nothing swept before): {ran} segments in {time.monotonic() - started:.2f}s")
    for minutes in (5, 10):
        started = time.monotonic()
        ran = sweep_segments(store.pk, now=timezone.now() + timedelta(minutes=minutes))
        print(
            f"  sweep {minutes} minutes later (only customers crossing a window edge): {ran} segments "
            f"in {time.monotonic() - started:.2f}s"
        )

    print("\n== compiled query vs hand-written SQL (count(*), best of 5; the compiled SQL is built once) ==")

    def run(sql, params):
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]

    for key, hand_sql in HAND.items():
        started = time.monotonic()
        qs = matching_customers(store, COMPARED[key]).order_by().values("id")
        sql, params = qs.query.sql_with_params()
        built = time.monotonic() - started
        compiled_sql = f"SELECT count(*) FROM ({sql}) m"
        compiled = best(lambda q=compiled_sql, p=params: run(q, p))
        handwritten = best(lambda q=hand_sql: run(q, {"s": store.pk}))
        print(
            f"  {key:30s} compiled {compiled:6.3f}s  hand {handwritten:6.3f}s"
            f"  ratio {compiled / handwritten:4.2f}  (building the query: {built * 1000:.1f} ms;"
            f" counts {run(compiled_sql, params):,} / {run(hand_sql, {'s': store.pk}):,})"
        )

if __name__ == "__main__":
    main()
