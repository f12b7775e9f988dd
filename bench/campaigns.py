"""Campaign launch benchmark: a large audience snapshotted into the outbox, then the winner sent to the rest.

    .venv/bin/python bench/campaigns.py [--scale 1.0] [--best-hour]

On a fresh local PostgreSQL database (``sc_campaigns``): 500,000 subscribed customers (x scale) in one
included segment, 5% of them also in an excluded one, and (with ``--best-hour``) a past open for every
tenth customer; then ANALYZE (as autovacuum would: without statistics on freshly loaded tables the
planner picks nested loops and the audience query takes seconds instead of milliseconds). Times the
``audience`` preview counts, ``launch`` (10% holdout, 20% test share over two variants) and
``send_rest`` (the winner to everyone else), and counts the rows each wrote.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import fresh_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 500,000 (e.g. 0.1)")
    parser.add_argument("--best-hour", action="store_true", help="schedule at each recipient's best hour")
    args = parser.parse_args()
    n = int(500_000 * args.scale)
    fresh_database("sc_campaigns")

    from django.conf import settings

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    from campaigns.campaign.audience import preview
    from campaigns.campaign.launch import launch, send_rest
    from campaigns.models import Campaign, CampaignVariant, EmailTemplate, Message
    from segments.models import Segment, SegmentMembership
    from shopconnect.timeline.models import Customer, Event, Store

    now = datetime.now(UTC)
    store = Store.objects.create(platform="custom", domain="bench.example", name="Bench",
                                 timezone="America/New_York")
    template = EmailTemplate.objects.create(store=store, name="Sale", subject="Sale", html="<p>Sale</p>")
    print(f"setting up {n:,} customers ...", flush=True)
    for start in range(0, n, 20_000):
        Customer.objects.bulk_create([
            Customer(store=store, email=f"c{i}@bench.example", email_consent="subscribed", created_at=now,
                     timezone="Europe/Paris" if i % 3 == 0 else "")
            for i in range(start, min(n, start + 20_000))], batch_size=5000)
    rule = {"version": 1, "type": "and", "rules": [{"type": "attribute", "field": "created_at", "op": "is_set"}]}
    included = Segment.objects.create(store=store, name="All", definition=rule)
    excluded = Segment.objects.create(store=store, name="Some", definition=rule)
    ids = list(Customer.objects.filter(store=store).values_list("id", flat=True))
    SegmentMembership.objects.bulk_create([SegmentMembership(segment=included, customer_id=i, entered_at=now)
                                           for i in ids], batch_size=10_000)
    SegmentMembership.objects.bulk_create([SegmentMembership(segment=excluded, customer_id=i, entered_at=now)
                                           for i in ids[::20]], batch_size=10_000)
    if args.best_hour:
        Event.objects.bulk_create([
            Event(store=store, customer_id=i, type="email.opened", occurred_at=now - timedelta(days=3, hours=i % 24),
                  received_at=now, source="email", properties={"message_id": "0", "machine": False},
                  dedupe_key=f"o{i}") for i in ids[::10]], batch_size=10_000)
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum does after a bulk load: the planner needs row counts
        cursor.execute("ANALYZE")
    campaign = Campaign.objects.create(store=store, name="Bench", template=template, holdout_percent=10,
                                       test_percent=20, send_mode="best_hour" if args.best_hour else "now")
    campaign.include_segments.set([included])
    campaign.exclude_segments.set([excluded])
    CampaignVariant.objects.create(campaign=campaign, label="A", subject="A")
    CampaignVariant.objects.create(campaign=campaign, label="B", subject="B")

    t = time.perf_counter()
    p = preview(campaign)
    print(f"preview: {p.as_dict()} in {time.perf_counter() - t:.2f} s", flush=True)
    t = time.perf_counter()
    counts = launch(campaign.pk)
    elapsed = time.perf_counter() - t
    print(f"launch: {counts} in {elapsed:.2f} s ({counts['audience'] / elapsed:,.0f} customers/s)", flush=True)
    campaign.refresh_from_db()
    t = time.perf_counter()
    rest = send_rest(campaign, "A")
    elapsed = time.perf_counter() - t
    print(f"send_rest: {rest:,} rows in {elapsed:.2f} s ({rest / elapsed:,.0f} rows/s)", flush=True)
    total = Message.objects.filter(campaign=campaign).count()
    assert total == counts["audience"], (total, counts)
    print(f"outbox rows: {total:,} = audience, one each")


if __name__ == "__main__":
    main()
