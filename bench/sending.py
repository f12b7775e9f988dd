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
nothing. Targets (issues 6 and 17): >= 2,000 enrollments/s, >= 500 messages/s, zero duplicates. Each rate
is also given per second of the benchmark process's own CPU time, since the development machine is shared.

Phase 0 times the entry itself: ``enrol_from_events`` on the checkout events in batches of 2,000 (the
relevance window, the re-entry rule and the exit goal checked in SQL at entry), as the task that reacts
to new events does. ``--codes SHARE`` (default 0.1) adds a Shopify store with SHARE x the customers whose
cart email carries a unique discount code (``campaigns.coupons``: one ``discountCodeBasicCreate`` per
message, against a Shopify faked with ``responses``, so the figure is our cost without the network's).
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


def _store(n: int, now, *, domain: str, platform: str = "custom", codes: bool = False):
    """A store with ``n`` subscribed customers, each with a checkout event, the cart flow, the engagement
    tiers and caps, and one flow email sent three days ago. Returns (store, flow, template, customer ids,
    checkout event ids)."""
    from campaigns.models import EmailProvider, EmailTemplate, Flow, FlowStep, FrequencyCap, Message, Tier
    from segments.models import Segment, SegmentMembership
    from shopconnect.timeline.models import Customer, Event, Store

    store = Store.objects.create(platform=platform, domain=domain, url=f"https://{domain}", name=domain,
                                 access_token="shpat_bench" if platform == "shopify" else "")
    EmailProvider.objects.create(store=store, kind="locmem", from_email=f"shop@{domain}",
                                 smart_sending_hours=16, rate_limit_per_minute=0)
    template = EmailTemplate.objects.create(
        store=store, name="Cart", subject="Your cart, {{ customer.first_name }}",
        html=HTML.replace("</body>", "<p>Code {{ discount_code }}</p></body>") if codes else HTML,
        unique_code=codes, code_value=10, code_prefix="CART")
    flow = Flow.objects.create(store=store, name="Bench flow", enabled=True, trigger="event",
                               trigger_event_type="checkout.started", reentry="every_time", exit_goal="any_order")
    FlowStep.objects.create(flow=flow, position=0, kind="send_email", template=template)
    Customer.objects.bulk_create([
        Customer(store=store, email=f"c{i}@{domain}", first_name=f"C{i}", email_consent="subscribed",
                 created_at=now) for i in range(n)], batch_size=5000)
    ids = list(Customer.objects.filter(store=store).values_list("id", flat=True))
    items = [{"product_id": "p1", "title": "Trail Shoes", "quantity": 1, "price": "119.00",
              "image_url": "https://img.example/p1.jpg"}]
    Event.objects.bulk_create([
        Event(store=store, customer_id=cid, type="checkout.started", occurred_at=now, received_at=now, source="api",
              dedupe_key=f"co:{cid}", properties={"checkout_id": str(cid), "line_items": items,
                                                  "recovery_url": f"https://{domain}/cart/{cid}"})
        for cid in ids], batch_size=5000)
    events = list(Event.objects.filter(store=store).order_by("id").values_list("id", flat=True))
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
        Message(store=store, customer_id=cid, template=template, idempotency_key=f"before:{domain}:{cid}",
                state="sent", sent_at=now - timedelta(days=3), next_attempt_at=now - timedelta(days=3))
        for cid in ids], batch_size=5000)
    return store, flow, template, ids, events


class FakeShopifyDiscounts:
    """``discountCodeBasicCreate`` answered at the HTTP level (``responses``): every code created once."""

    def __init__(self):
        self.codes: set[str] = set()

    def __call__(self, request):
        import json

        code = json.loads(request.body)["variables"]["basicCodeDiscount"]["code"]
        taken = code in self.codes
        self.codes.add(code)
        errors = [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN", "message": "taken"}] if taken else []
        node = None if taken else {"id": f"gid://shopify/DiscountCodeNode/{len(self.codes)}"}
        return 200, {"Content-Type": "application/json"}, json.dumps(
            {"data": {"discountCodeBasicCreate": {"codeDiscountNode": node, "userErrors": errors}}})


def _cpu(seconds: float, count: int) -> str:
    """This process's own CPU time (the machine is shared: wall-clock rates fall with its load; the
    database server's CPU is not included)."""
    return f"{seconds:.1f} s of this process's CPU, {count / seconds:,.0f}/CPU-s" if seconds else "no CPU time"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100,000 (e.g. 0.1)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--codes", type=float, default=0.1,
                        help="a Shopify store with this share of the customers, its cart email with unique codes")
    parser.add_argument("--database", default="bench_flows", help="the PostgreSQL database to (re)create")
    args = parser.parse_args()
    n = int(100_000 * args.scale)
    fresh_database(args.database)

    from django.conf import settings
    from django.core import mail

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    import responses

    from campaigns import sender
    from campaigns.flows import engine
    from campaigns.flows.triggers import enrol_from_events
    from campaigns.models import Campaign, Enrollment, Message, UniqueCode
    from shopconnect.timeline.models import Event

    now = datetime.now(UTC)
    coded = int(n * args.codes)
    print(f"setting up {n:,} customers (+ {coded:,} in a store with unique codes), tiers, caps, last sends ...",
          flush=True)
    store, flow, template, ids, events = _store(n, now, domain="bench.example")
    stores = [(store, events)]
    if coded:
        shop, _, _, _, shop_events = _store(coded, now, domain="bench-codes.myshopify.com", platform="shopify",
                                            codes=True)
        stores.append((shop, shop_events))

    start, cpu = time.perf_counter(), time.process_time()
    entered = 0
    for each, event_ids in stores:
        for first in range(0, len(event_ids), 2000):
            entered += enrol_from_events(each.pk, event_ids[first:first + 2000])
    enrol_s, enrol_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"enrolled {entered:,} customers from their checkout events in {enrol_s:.1f} s: "
          f"{entered / enrol_s:,.0f}/s ({_cpu(enrol_cpu, entered)})", flush=True)
    Enrollment.objects.update(due_at=now)

    start, cpu = time.perf_counter(), time.process_time()
    advanced = engine.advance_due_enrollments(send=False)
    advance_s, advance_cpu = time.perf_counter() - start, time.process_time() - cpu
    queued = Message.objects.filter(flow__isnull=False, state="queued").count()
    print(f"advanced {advanced:,} enrollments in {advance_s:.1f} s: {advanced / advance_s:,.0f}/s "
          f"({queued:,} messages queued; {_cpu(advance_cpu, advanced)})", flush=True)

    # A newsletter for every tenth customer, due now, claimed after the flow emails: it waits (deferred).
    newsletter = Campaign.objects.create(store=store, name="Newsletter", template=template, status="sending")
    due = datetime.now(UTC)
    Message.objects.bulk_create([
        Message(store=store, customer_id=cid, template=template, campaign=newsletter, message_class="campaign",
                idempotency_key=f"campaign:{newsletter.pk}:customer:{cid}", next_attempt_at=due)
        for cid in ids[::10]], batch_size=5000)
    handed = 0
    outcomes: Counter[str] = Counter()
    fake = FakeShopifyDiscounts()
    start, cpu = time.perf_counter(), time.process_time()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.POST, f"https://bench-codes.myshopify.com/admin/api/"
                          f"{settings.SHOPIFY_API_VERSION}/graphql.json", callback=fake)
        while True:
            counts = sender.send_due_messages(batch_size=args.batch, max_batches=4)
            outcomes.update(counts)
            handed += len(getattr(mail, "outbox", []))
            mail.outbox = []
            if not any(counts.get(k) for k in ("sent", "failed", "skipped", "deferred")):
                break
    send_s, send_cpu = time.perf_counter() - start, time.process_time() - cpu
    decided = sum(outcomes[k] for k in ("sent", "failed", "skipped", "deferred"))
    print(f"rendered and handed {handed:,} messages in {send_s:.1f} s: {handed / send_s:,.0f}/s "
          f"({decided:,} rows decided: {decided / send_s:,.0f}/s; skipped {outcomes['skipped']:,}, "
          f"deferred {outcomes['deferred']:,}; {_cpu(send_cpu, handed)})", flush=True)
    issued = UniqueCode.objects.filter(state="created").count()
    print(f"  unique codes created on the (faked) platform: {issued:,} ({len(fake.codes):,} asked for)",
          flush=True)
    reasons = Message.objects.filter(state="skipped").values_list("skip_reason", flat=True)
    for reason, count in Counter(reasons).most_common(3):
        print(f"  skipped: {reason} ({count:,})", flush=True)

    again = engine.advance_due_enrollments(send=False)
    counts = sender.send_due_messages(batch_size=args.batch)
    second = len(getattr(mail, "outbox", []))
    sent_rows = Message.objects.filter(state="sent").exclude(idempotency_key__startswith="before:").count()
    sent_events = Event.objects.filter(type="email.sent").count()
    print(f"second run: {again} enrollments advanced, {second} messages handed over; "
          f"messages sent {sent_rows:,}, email.sent events {sent_events:,}, "
          f"duplicates {handed + second - sent_rows}", flush=True)


if __name__ == "__main__":
    main()
