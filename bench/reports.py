"""Reports benchmark: every report query on a store with 1,000,000 messages and 100,000 orders.

    .venv/bin/python bench/reports.py [--scale 1.0]

On a fresh local PostgreSQL database (``bench_reports``), generated with set-based SQL in seconds:
100,000 customers, 20 campaigns (A/B test share, winner, 5% holdout) and 4 flows of 3 email steps,
1,000,000 outbox rows over 90 days with their ``MessageOutcome`` (1% bounced, 30% opened of which a third
by privacy proxies, 3% clicked, unsubscribes, complaints), the email.opened / email.clicked events of
those engagements, 100,000 ``order.placed`` events (5% refunded), 5 segments with 20,000 members and 90
days of snapshots. Then it times attribution of all 100,000 orders (``rebuild_attribution``) and each
report query, and prints the figures. Target (issue 7): each report query under 2 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import fresh_database  # noqa: E402

DAYS = 90


def timed(label: str, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"{label:<58} {seconds:7.3f} s", flush=True)
    return result, seconds


def generate(cursor, store_id: int, n_customers: int, n_messages: int, n_orders: int, start: datetime,
             campaign_ids: list[int], flow_steps: list[tuple[int, int]], segment_ids: list[int]) -> None:
    span = DAYS * 86400
    print(f"generating {n_customers:,} customers, {n_messages:,} messages, {n_orders:,} orders ...", flush=True)
    cursor.execute("""
        INSERT INTO timeline_customer (store_id, email, external_id, first_name, last_name, phone, country, timezone,
            device, properties, email_consent, created_at, orders_count, total_spent, average_order_value,
            emails_received, last_opened_at, last_clicked_at)
        SELECT %s, 'c' || i || '@bench.example', NULL, '', '', '', '', '', '', '{}'::jsonb,
               CASE WHEN i %% 20 = 0 THEN 'unsubscribed' WHEN i %% 10 = 0 THEN 'not_subscribed' ELSE 'subscribed' END,
               %s, 0, 0, 0, 0,
               CASE WHEN i %% 3 = 0 THEN now() - (i %% 200) * interval '1 day' END,
               CASE WHEN i %% 7 = 0 THEN now() - (i %% 150) * interval '1 day' END
        FROM generate_series(1, %s) i""", [store_id, start, n_customers])
    cursor.execute("SELECT min(id) FROM timeline_customer WHERE store_id = %s", [store_id])
    first_customer = cursor.fetchone()[0]
    cursor.execute("""INSERT INTO campaigns_suppression (store_id, email, reason, detail, created_at)
        SELECT %s, 'c' || i || '@bench.example', 'hard_bounce', '', now() FROM generate_series(1, %s, 100) i""",
                   [store_id, n_customers])
    # Messages: 80% campaigns (each: 20% A/B test share split A/B, 5% holdout, the rest B), 20% flows.
    n_campaigns, n_steps = len(campaign_ids), len(flow_steps)
    cursor.execute("""
        INSERT INTO campaigns_message (store_id, customer_id, campaign_id, flow_id, step_id, variant, ab_test,
            marketing, idempotency_key, state, skip_reason, note, attempts, next_attempt_at, claim_token,
            provider_message_id, sent_at, subject, links, context, created_at)
        SELECT %(store)s, %(c0)s + (i %% %(nc)s),
               CASE WHEN i %% 5 <> 4 THEN (%(campaigns)s)[1 + i %% %(ncamp)s] END,
               CASE WHEN i %% 5 = 4 THEN (%(flows)s)[1 + (i / 5) %% %(nsteps)s] END,
               CASE WHEN i %% 5 = 4 THEN (%(steps)s)[1 + (i / 5) %% %(nsteps)s] END,
               CASE WHEN i %% 5 = 4 THEN '' WHEN i %% 100 < 5 THEN 'holdout' WHEN i %% 100 < 15 THEN 'A' ELSE 'B' END,
               (i %% 5 <> 4 AND i %% 100 BETWEEN 5 AND 24),
               true, 'bench:' || i,
               CASE WHEN i %% 5 <> 4 AND i %% 100 < 5 THEN 'skipped' ELSE 'sent' END,
               CASE WHEN i %% 5 <> 4 AND i %% 100 < 5 THEN 'holdout' ELSE '' END, '', 1, t, '', '',
               CASE WHEN i %% 5 <> 4 AND i %% 100 < 5 THEN NULL ELSE t END, 'Hello', '[]'::jsonb, '{}'::jsonb, t
        FROM (SELECT i, %(start)s::timestamptz + ((i * 7919) %% %(span)s) * interval '1 second' AS t
              FROM generate_series(1::bigint, %(n)s) i) g""",
                   {"store": store_id, "c0": first_customer, "nc": n_customers, "campaigns": campaign_ids,
                    "ncamp": n_campaigns, "flows": [f for f, _ in flow_steps], "steps": [s for _, s in flow_steps],
                    "nsteps": n_steps, "start": start, "span": span, "n": n_messages})
    cursor.execute("""
        INSERT INTO campaigns_messageoutcome (message_id, store_id, customer_id, campaign_id, flow_id, step_id, variant,
            ab_test, sent_at, bounced_at, opened_at, human_opened_at, clicked_at, complained_at, unsubscribed_at)
        SELECT id, store_id, customer_id, campaign_id, flow_id, step_id, variant, ab_test, sent_at,
               CASE WHEN h < 10 THEN sent_at + interval '1 minute' END,
               CASE WHEN h >= 10 AND h < 310 THEN sent_at + interval '1 hour' END,
               CASE WHEN h >= 10 AND h < 210 THEN sent_at + interval '1 hour' END,
               CASE WHEN h >= 10 AND h < 40 THEN sent_at + interval '2 hours' END,
               CASE WHEN h = 500 THEN sent_at + interval '3 hours' END,
               CASE WHEN h BETWEEN 600 AND 602 THEN sent_at + interval '3 hours' END
        FROM (SELECT m.*, (m.id * 7727) %% 1000 AS h FROM campaigns_message m
              WHERE m.store_id = %s AND m.state = 'sent') s""", [store_id])
    # The engagement events attribution reads (opens and clicks on the timeline).
    cursor.execute("""
        INSERT INTO timeline_event (store_id, customer_id, type, occurred_at, received_at, source, properties,
            dedupe_key, order_ref, amount)
        SELECT o.store_id, o.customer_id, x.type, x.at, x.at, 'email',
               jsonb_build_object('message_id', o.message_id::text, 'machine', x.machine),
               x.type || ':' || o.message_id, '', NULL
        FROM campaigns_messageoutcome o
        CROSS JOIN LATERAL (VALUES ('email.opened', o.opened_at, o.human_opened_at IS NULL),
                                   ('email.clicked', o.clicked_at, false)) x(type, at, machine)
        WHERE o.store_id = %s AND x.at IS NOT NULL""", [store_id])
    cursor.execute("""
        INSERT INTO timeline_event (store_id, customer_id, type, occurred_at, received_at, source, properties,
            dedupe_key, order_ref, amount)
        SELECT %(store)s, %(c0)s + ((i * 104729) %% %(nc)s), 'order.placed', t, t, 'api',
               jsonb_build_object('order_id', 'o' || i), 'order:' || i, 'o' || i, 20 + (i %% 180)
        FROM (SELECT i, %(start)s::timestamptz + ((i * 3571) %% %(span)s) * interval '1 second' AS t
              FROM generate_series(1::bigint, %(n)s) i) g""",
                   {"store": store_id, "c0": first_customer, "nc": n_customers, "start": start, "span": span,
                    "n": n_orders})
    cursor.execute("""
        INSERT INTO timeline_event (store_id, customer_id, type, occurred_at, received_at, source, properties,
            dedupe_key, order_ref, amount)
        SELECT store_id, customer_id, 'order.refunded', occurred_at + interval '3 days', occurred_at, 'api',
               '{}'::jsonb, 'refund:' || order_ref, order_ref, amount / 2
        FROM timeline_event WHERE store_id = %s AND type = 'order.placed' AND id %% 20 = 0""", [store_id])
    for k, segment_id in enumerate(segment_ids):
        cursor.execute("""
            INSERT INTO segments_segmentmembership (segment_id, customer_id, entered_at)
            SELECT %s, id, %s FROM timeline_customer WHERE store_id = %s AND id %% %s = %s LIMIT 20000""",
                       [segment_id, start, store_id, len(segment_ids), k])
        cursor.execute("""
            INSERT INTO segments_segmentsnapshot (segment_id, day, size)
            SELECT %s, (%s::date + d), 15000 + d * 50 FROM generate_series(0, %s) d""",
                       [segment_id, start, DAYS])
    cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (e.g. 0.1)")
    args = parser.parse_args()
    fresh_database("bench_reports")

    from django.db import connection

    from campaigns.models import AttributedOrder, Campaign, EmailProvider, EmailTemplate, Flow, FlowStep, MessageOutcome
    from campaigns.reports import dashboard as reports
    from campaigns.reports.attribution import rebuild_attribution
    from campaigns.reports.kpis import DateRange, kpis
    from segments.models import Segment
    from shopconnect.timeline.models import Store

    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=DAYS)
    store = Store.objects.create(platform="custom", domain="bench.example", name="Bench")
    EmailProvider.objects.create(store=store, kind="locmem", from_email="shop@bench.example")
    template = EmailTemplate.objects.create(store=store, name="T", subject="Hi", html="<p>Hi</p>")
    segments = [Segment.objects.create(store=store, name=f"Segment {k}", definition={
        "version": 1, "type": "performed", "event": "search.submitted"}) for k in range(5)]
    campaigns = []
    for k in range(20):
        campaign = Campaign.objects.create(store=store, name=f"Campaign {k}", template=template, status="sent",
                                           holdout_percent=5, winning_metric="revenue_per_recipient", winner="B")
        campaign.include_segments.add(segments[k % 5])
        campaigns.append(campaign)
    steps = []
    for k in range(4):
        flow = Flow.objects.create(store=store, name=f"Flow {k}", trigger="event",
                                   trigger_event_type="checkout.started")
        for position in range(3):
            steps.append((flow.pk, FlowStep.objects.create(flow=flow, position=position, kind="send_email").pk))
    begin = time.perf_counter()
    with connection.cursor() as cursor:
        generate(cursor, store.pk, int(100_000 * args.scale), int(1_000_000 * args.scale),
                 int(100_000 * args.scale), start, [c.pk for c in campaigns], steps, [s.pk for s in segments])
    print(f"generated in {time.perf_counter() - begin:.1f} s: {MessageOutcome.objects.count():,} sent messages",
          flush=True)

    credited, _ = timed("attribution: rebuild_attribution (all orders)", rebuild_attribution, store)
    print(f"  {credited:,} of {int(100_000 * args.scale):,} orders credited "
          f"({AttributedOrder.objects.filter(touch='click').count():,} by a click)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    dates = DateRange(start.date(), now.date())
    figures = []

    def run(label, fn, *fargs, **fkwargs):
        figures.append((label, timed(label, fn, *fargs, **fkwargs)[1]))

    print("report queries (90 days):", flush=True)
    run("dashboard: attributed revenue per day", reports.revenue_over_time, store.pk, dates)
    run("dashboard: campaigns and flows ranked by revenue", reports.ranked_by_revenue, store.pk, dates)
    run("dashboard: segment growth", reports.segment_growth, store.pk, dates)
    run("dashboard: list health", reports.list_health, store.pk)
    run("dashboard: deliverability (all 1M messages)", reports.deliverability, store.pk, dates)
    run("dashboard: whole page data", reports.dashboard, store.pk, dates)
    run("KPIs of every campaign (GROUP BY campaign)", kpis, store.pk, dates, ("campaign",))
    run("KPIs of the store per day (GROUP BY day)", kpis, store.pk, dates, ("day",))
    run("campaign report (totals, variants, days, A/B, lift)", reports.campaign_report, campaigns[0], dates)
    run("flow report (steps, days, lift)", reports.flow_report, Flow.objects.filter(store=store).first(), dates)
    run("segment report (facts, targeted vs untargeted, days)", reports.segment_report, segments[0], dates)
    worst = max(figures, key=lambda f: f[1])
    print(f"slowest: {worst[0]} {worst[1]:.3f} s (target: each under 2 s) -> "
          f"{'OK' if worst[1] < 2 else 'NOT MET'}")


if __name__ == "__main__":
    main()
