"""Sending benchmark: flow enrollments advanced, and messages rendered and handed to the backend, with
the send-time priorities and frequency caps on.

    .venv/bin/python bench/sending.py [--scale 1.0] [--batch 500] [--database bench_flows]

On a fresh local PostgreSQL database (``bench_flows``): 100,000 subscribed customers (x scale), each
with an enrollment due now in a cart flow (exit goal "any order", so the goal is checked in SQL for every
enrollment; its email carries a one-message-per-intent key) whose step sends a templated email (items,
links, CSS). Priorities and caps are on: the store's smart sending is 16 h, every customer has one flow
email sent three days ago, the four engagement tiers are segments with capped members (40% highly
engaged: 7 a week; 30% moderately: 3 a week; 20% low: 2 a week and 4 a month; 10% re-engagement
needed: 0, so they are skipped), and 10% of the customers also have a campaign email due now, which
waits behind the flow email (deferred). Phase 1 times ``advance_due_enrollments`` (enrollments -> outbox
rows); phase 2 times ``send_due_messages`` with the store's provider on Django's locmem backend (decide,
render, inline CSS, track links, build MIME, hand over, mark sent, record ``email.sent``) and prints the
messages handed over per second and the rows decided per second. Then both run again and must hand over
nothing. Targets (issues 6 and 17): >= 2,000 enrollments/s, >= 500 messages/s, zero duplicates.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import fresh_database  # noqa: E402

HTML = """<html><head><style>p{color:#333} .btn{background:#1f6feb;color:#fff}</style></head><body>
<p>Hi {{ customer.first_name|default:"there" }},</p><p>Your cart:</p>
<table>{% for item in items %}<tr><td><img src="{{ item.image_url }}"></td><td>{{ item.title }}</td>
<td>{{ item.price }}</td></tr>{% endfor %}</table>
<p><a class="btn" href="{{ recovery_url }}">Back to your cart</a> <a href="{{ store.url }}/sale">Sale</a></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100,000 (e.g. 0.1)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--database", default="bench_flows", help="the PostgreSQL database to (re)create")
    args = parser.parse_args()
    n = int(100_000 * args.scale)
    fresh_database(args.database)

    from django.conf import settings
    from django.core import mail

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    from campaigns import sender
    from campaigns.flows import engine
    from campaigns.models import (
        Campaign,
        EmailProvider,
        EmailTemplate,
        Enrollment,
        Flow,
        FlowStep,
        FrequencyCap,
        Message,
        Tier,
    )
    from segments.models import Segment, SegmentMembership
    from shopconnect.timeline.models import Customer, Event, Store

    now = datetime.now(UTC)
    store = Store.objects.create(platform="custom", domain="bench.example", url="https://bench.example",
                                 name="Bench")
    EmailProvider.objects.create(store=store, kind="locmem", from_email="shop@bench.example",
                                 smart_sending_hours=16, rate_limit_per_minute=0)
    template = EmailTemplate.objects.create(store=store, name="Cart", subject="Your cart, {{ customer.first_name }}",
                                            html=HTML)
    flow = Flow.objects.create(store=store, name="Bench flow", enabled=True, trigger="event",
                               trigger_event_type="checkout.started", reentry="every_time", exit_goal="any_order")
    FlowStep.objects.create(flow=flow, position=0, kind="send_email", template=template)
    print(f"setting up {n:,} customers and enrollments ...", flush=True)
    Customer.objects.bulk_create([
        Customer(store=store, email=f"c{i}@bench.example", first_name=f"C{i}", email_consent="subscribed",
                 created_at=now) for i in range(n)], batch_size=5000)
    ids = list(Customer.objects.filter(store=store).values_list("id", flat=True))
    items = [{"product_id": "p1", "title": "Trail Shoes", "quantity": 1, "price": "119.00",
              "image_url": "https://img.example/p1.jpg"}]
    Event.objects.bulk_create([
        Event(store=store, customer_id=cid, type="checkout.started", occurred_at=now, received_at=now, source="api",
              dedupe_key=f"co:{cid}", properties={"checkout_id": str(cid), "line_items": items,
                                                  "recovery_url": f"https://bench.example/cart/{cid}"})
        for cid in ids], batch_size=5000)
    events = dict(Event.objects.filter(store=store).values_list("customer_id", "id"))
    Enrollment.objects.bulk_create([
        Enrollment(flow=flow, customer_id=cid, trigger_event_id=events[cid], entry_key=f"event:{events[cid]}",
                   due_at=now, entered_at=now) for cid in ids], batch_size=5000)
    print("priorities and caps: tiers, caps, last sends, campaign emails due ...", flush=True)
    shares = [(Tier.HIGHLY_ENGAGED, 4, 7, None), (Tier.MODERATELY_ENGAGED, 3, 3, None),
              (Tier.LOW_ENGAGED, 2, 2, 4), (Tier.RE_ENGAGEMENT, 1, 0, None)]
    tiers = [tier for tier, weight, _, _ in shares for _ in range(weight)]
    segments = {tier: Segment.objects.create(store=store, name=tier.label, template=tier.value,
                                             definition={"version": 1, "type": "and", "rules": []})
                for tier, *_ in shares}
    FrequencyCap.objects.bulk_create([FrequencyCap(store=store, tier=tier, per_week=week, per_month=month)
                                      for tier, _, week, month in shares])
    SegmentMembership.objects.bulk_create([SegmentMembership(segment=segments[tiers[i % 10]], customer_id=cid,
                                                             entered_at=now) for i, cid in enumerate(ids)],
                                          batch_size=5000)
    Message.objects.bulk_create([
        Message(store=store, customer_id=cid, template=template, idempotency_key=f"before:{cid}", state="sent",
                sent_at=now - timedelta(days=3), next_attempt_at=now - timedelta(days=3)) for cid in ids],
        batch_size=5000)

    start = time.perf_counter()
    advanced = engine.advance_due_enrollments(send=False)
    advance_s = time.perf_counter() - start
    queued = Message.objects.filter(store=store, flow=flow).count()
    print(f"advanced {advanced:,} enrollments in {advance_s:.1f} s: {advanced / advance_s:,.0f}/s "
          f"({queued:,} messages queued)", flush=True)

    # A newsletter for every tenth customer, due now, claimed after the flow emails: it waits (deferred).
    newsletter = Campaign.objects.create(store=store, name="Newsletter", template=template, status="sending")
    due = datetime.now(UTC)
    Message.objects.bulk_create([
        Message(store=store, customer_id=cid, template=template, campaign=newsletter, message_class="campaign",
                idempotency_key=f"campaign:{newsletter.pk}:customer:{cid}", next_attempt_at=due)
        for cid in ids[::10]], batch_size=5000)
    handed = 0
    outcomes: Counter[str] = Counter()
    start = time.perf_counter()
    while True:
        counts = sender.send_due_messages(batch_size=args.batch, max_batches=4)
        outcomes.update(counts)
        handed += len(getattr(mail, "outbox", []))
        mail.outbox = []
        if not any(counts.get(k) for k in ("sent", "failed", "skipped", "deferred")):
            break
    send_s = time.perf_counter() - start
    decided = sum(outcomes[k] for k in ("sent", "failed", "skipped", "deferred"))
    print(f"rendered and handed {handed:,} messages in {send_s:.1f} s: {handed / send_s:,.0f}/s "
          f"({decided:,} rows decided: {decided / send_s:,.0f}/s; skipped {outcomes['skipped']:,}, "
          f"deferred {outcomes['deferred']:,})", flush=True)
    reasons = Message.objects.filter(store=store, state="skipped").values_list("skip_reason", flat=True)
    for reason, count in Counter(reasons).most_common(3):
        print(f"  skipped: {reason} ({count:,})", flush=True)

    again = engine.advance_due_enrollments(send=False)
    counts = sender.send_due_messages(batch_size=args.batch)
    second = len(getattr(mail, "outbox", []))
    sent_rows = Message.objects.filter(store=store, state="sent").exclude(idempotency_key__startswith="before:").count()
    sent_events = Event.objects.filter(store=store, type="email.sent").count()
    print(f"second run: {again} enrollments advanced, {second} messages handed over; "
          f"messages sent {sent_rows:,}, email.sent events {sent_events:,}, "
          f"duplicates {handed + second - sent_rows}", flush=True)


if __name__ == "__main__":
    main()
