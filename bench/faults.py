"""Fault benchmark (issue 19): the webhook drain with refunds before their orders, and a sending worker
killed three times during a campaign to a real SMTP server.

    .venv/bin/python bench/faults.py [--orders 20000] [--emails 3000] [--kills 3] [--drainers 2]
                                     [--only drain|send] [--database bench_faults]

On a fresh local PostgreSQL database (``bench/_setup.py``), with the ORM task broker (tasks are queued,
not run: their count is what the drain costs the queue).

**Drain.** Twice: in order (every refund after its order), then mixed (2% of all deliveries are refunds
that arrive before their order, as Shopify may send them). ``--orders`` signed ``orders/paid`` webhooks
(Shopify's payload shape) of orders/2 customers, every second order refunded (``refunds/create``), are
posted through the real webhook view (Django's test client, in this process: "acked" is a 200), then
``--drainers`` processes drain the inbox concurrently (``integrations.tasks.drain_pending``); one of
them is killed with SIGKILL once, mid-drain, and started again. Printed: acked, stored, processed, lost
(acknowledged but missing from the timeline, or failed/parked), duplicated (events beyond one per order
and refund), time to drain after the load, the task queue's peak, and whether the customers' lifetime
value equals what the payloads say.

**Send.** ``--emails`` marketing messages to subscribed customers through an SMTP provider pointing at
an aiosmtpd server on loopback (``tests/campaigns/smtp_sink.py``). A sender process
(``send_due_messages``) is killed with SIGKILL ``--kills`` times at random points; each time a new one
is started after ``SENDER_STALE_SECONDS`` (set to 3 here), which recovers the dead one's rows first.
Printed: sent, failed-but-delivered, in doubt (and how many of those the server did receive),
duplicates on the server, rows left sending, and ``email.sent`` events vs sent rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SHOPIFY_API_SECRET", "bench-secret")
os.environ.setdefault("SENDER_STALE_SECONDS", "3")
os.environ.setdefault("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")  # the bench's SMTP server is a relay on loopback
os.environ.pop("REDIS_URL", None)

from bench._setup import fresh_database  # noqa: E402

DRAINER = ("import django, sys; django.setup(); from integrations.tasks import drain_pending\n"
           "while drain_pending(max_batches=10) or int(sys.argv[1]): pass")
SENDER = "import django; django.setup(); from campaigns.sender import send_due_messages; send_due_messages()"


def child(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=dict(os.environ),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- drain -------------------------------------------------------------------------------------------

def post_load(client, store, load, secret: str) -> int:
    from integrations.base import hmac_sha256_base64

    acked = 0
    for topic, key, body in load:
        raw = json.dumps(body).encode()
        response = client.post("/webhooks/shopify/", data=raw, content_type="application/json", headers={
            "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": store.domain, "X-Shopify-Event-Id": f"ev-{key}",
            "X-Shopify-API-Version": "2025-10", "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret, raw)})
        acked += response.status_code == 200
    return acked


def drain_run(orders: int, refunds_first: float, drainers: int, label: str) -> dict:
    from decimal import Decimal

    from django.db.models import Count, Sum
    from django.test import Client
    from django_q.models import OrmQ, Schedule

    from integrations.models import WebhookDelivery
    from segments.models import Segment
    from shopconnect.timeline.models import Customer, Event, Store
    from tests.integrations.shopify.load import mixed_load

    OrmQ.objects.all().delete()
    Schedule.objects.filter(func="integrations.tasks.process_delivery").delete()
    domain = f"bench-{'mixed' if refunds_first else 'ordered'}.myshopify.com"
    store = Store.objects.create(platform="shopify", domain=domain, name=label, currency="EUR")
    Segment.objects.create(store=store, name="Buyers", definition={"type": "performed", "event": "order.placed"})
    load = mixed_load(orders, refunds_first=refunds_first)
    started = time.monotonic()
    acked = post_load(Client(), store, load, os.environ["SHOPIFY_API_SECRET"])
    load_seconds = time.monotonic() - started
    stored = WebhookDelivery.objects.filter(store=store).count()
    queued_after_load = OrmQ.objects.count()

    started = time.monotonic()
    workers = [child(DRAINER, "0") for _ in range(drainers)]
    killed = False
    peak = queued_after_load
    pending = stored
    while True:
        pending = WebhookDelivery.objects.filter(store=store, status="pending").count()
        peak = max(peak, OrmQ.objects.count())
        if not killed and pending < stored * 0.6:  # one drainer killed mid-drain, then started again
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            workers[0] = child(DRAINER, "0")
            killed = True
        if pending == 0 and all(w.poll() is not None for w in workers):
            break
        if all(w.poll() is not None for w in workers):  # they stop when nothing is left; parked ones may return
            workers = [child(DRAINER, "0") for _ in range(drainers)]
        time.sleep(0.2)
    seconds = time.monotonic() - started
    for w in workers:
        w.wait()
    peak = max(peak, OrmQ.objects.count())
    by_status = dict(WebhookDelivery.objects.filter(store=store).values_list("status").annotate(n=Count("id")))
    events = dict(Event.objects.filter(store=store, type__in=["order.placed", "order.refunded"])
                  .values_list("type").annotate(n=Count("id")))
    want_placed, want_refunds = orders, len(range(0, orders, 2))
    placed, refunded = events.get("order.placed", 0), events.get("order.refunded", 0)
    # what the payloads say: each order 132.90, each refund 19.50
    expected_value = Decimal("132.90") * orders - Decimal("19.50") * want_refunds
    value = Customer.objects.filter(store=store).aggregate(v=Sum("total_spent"))["v"] or Decimal(0)
    result = {
        "run": label, "acked": acked, "stored": stored,
        "processed": by_status.get("processed", 0),
        "failed": by_status.get("failed", 0), "parked": by_status.get("parked", 0),
        "lost": max(want_placed - placed, 0) + max(want_refunds - refunded, 0),
        "duplicated": max(placed - want_placed, 0) + max(refunded - want_refunds, 0),
        "post_seconds": round(load_seconds, 1), "drain_seconds": round(seconds, 1),
        "deliveries_per_s": round(stored / seconds) if seconds else None,
        "peak_queued_tasks": peak, "batches_at_least": -(-stored // 100),
        "queued_tasks_by_function": _tasks_by_function(OrmQ),
        "timed_retries": Schedule.objects.filter(func="integrations.tasks.process_delivery").count(),
        "lifetime_value_ok": value == expected_value,
    }
    print(json.dumps(result), flush=True)
    return result


def _tasks_by_function(OrmQ) -> dict[str, int]:
    """What the queued tasks are (the drain queues follow-up work once per batch, not per delivery)."""
    out: dict[str, int] = {}
    for row in OrmQ.objects.all():
        func = row.task.get("func", "?")
        name = func if isinstance(func, str) else getattr(func, "__qualname__", repr(func))
        out[name] = out.get(name, 0) + 1
    return out


# --- send --------------------------------------------------------------------------------------------

def send_run(emails: int, kills: int) -> dict:
    from django.db.models import Count
    from django.utils import timezone

    from campaigns.models import EmailProvider, EmailTemplate, Message
    from campaigns.outbox import enqueue
    from shopconnect.timeline.canonical import CanonicalEvent
    from shopconnect.timeline.models import Customer, Event, Store
    from shopconnect.timeline.record import record_events
    from tests.campaigns.smtp_sink import Sink

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log
    store = Store.objects.create(platform="woocommerce", domain="mail.example", name="Mail bench",
                                 url="https://mail.example")
    sink = Sink()
    port = sink.start()
    EmailProvider.objects.create(store=store, kind=EmailProvider.Kind.SMTP, from_email="news@mail.example",
                                 credentials=json.dumps({"host": "127.0.0.1", "port": port}),
                                 smart_sending_hours=0, rate_limit_per_minute=0)
    template = EmailTemplate.objects.create(store=store, name="News", subject="News for {{ customer.first_name }}",
                                            html="<p>Hi {{ customer.first_name }}, <a href='https://mail.example/s'>"
                                                 "see the sale</a></p>")
    now = timezone.now()
    for start in range(0, emails, 1000):
        record_events(store, [CanonicalEvent(
            type="consent.changed", occurred_at=now, dedupe_key=f"sub:{i}", source="api", email=f"c{i}@example.com",
            properties={"channel": "email", "state": "subscribed", "source": "bench"}, profile={"first_name": f"C{i}"})
            for i in range(start, min(start + 1000, emails))])
    customers = Customer.objects.filter(store=store).values_list("id", flat=True)
    enqueue([Message(store=store, customer_id=cid, template=template, idempotency_key=f"bench:{cid}",
                     message_class="campaign") for cid in customers])
    rng = random.Random(3)
    points = sorted(rng.sample(range(emails // 10, emails * 9 // 10), kills))
    started = time.monotonic()
    for point in points:
        worker = child(SENDER)
        while len(sink.accepted) < point and worker.poll() is None:
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        time.sleep(int(os.environ["SENDER_STALE_SECONDS"]) + 0.5)  # the next worker sees a dead claim
    worker = child(SENDER)
    worker.wait()
    again = child(SENDER)  # a last run: anything queued again by the recovery above goes now
    again.wait()
    seconds = time.monotonic() - started
    received = sink.recipients()
    sink.stop()
    states = dict(Message.objects.filter(store=store).values_list("state").annotate(n=Count("id")))
    email_of = dict(Customer.objects.filter(store=store).values_list("id", "email"))
    rows = list(Message.objects.filter(store=store).values_list("customer_id", "state"))
    failed_delivered = sum(1 for cid, state in rows if state == "failed" and received[email_of[cid]])
    doubt = [cid for cid, state in rows if state == "unknown"]
    result = {
        "emails": emails, "kills": kills, "sent": states.get("sent", 0), "failed": states.get("failed", 0),
        "failed_but_delivered": failed_delivered, "in_doubt": len(doubt),
        "in_doubt_received_by_server": sum(1 for cid in doubt if received[email_of[cid]]),
        "left_sending": states.get("sending", 0), "queued": states.get("queued", 0),
        "duplicates_on_server": sum(n - 1 for n in received.values() if n > 1),
        "never_delivered": sum(1 for cid, _ in rows if not received[email_of[cid]]),
        "email_sent_events": Event.objects.filter(store=store, type="email.sent").count(),
        "seconds": round(seconds, 1),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--emails", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--drainers", type=int, default=2)
    parser.add_argument("--only", choices=["drain", "send"])
    parser.add_argument("--database", default="bench_faults")
    args = parser.parse_args()
    fresh_database(args.database)
    if args.only != "send":
        in_order = drain_run(args.orders, 0.0, args.drainers, "in order")
        mixed = drain_run(args.orders, 0.02, args.drainers, "2% refunds before their order")
        print(f"mixed / in-order drain time: {mixed['drain_seconds'] / max(in_order['drain_seconds'], 0.1):.2f}x")
    if args.only != "drain":
        send_run(args.emails, args.kills)


if __name__ == "__main__":
    main()
