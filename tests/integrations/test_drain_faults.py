"""The drain under faults: refunds before their orders, a bad delivery in a batch, two drainers over the
same customers. Shopify's real payload shapes (tests/integrations/shopify/payloads)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule

from integrations import tasks
from integrations.models import WebhookDelivery
from segments.models import Segment
from shopconnect.timeline.models import Customer, Event

from .shopify.helpers import SHOP
from .shopify.load import mixed_load, refund_body, store_deliveries


@pytest.fixture
def shop(make_store):
    return make_store(platform="shopify", domain=SHOP, url=f"https://{SHOP}", currency="EUR")


@pytest.fixture
def queued(monkeypatch):
    """Follow-up tasks are queued (ORM broker), not run: counts them."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")
    return lambda: OrmQ.objects.count()


@pytest.fixture
def writes(monkeypatch):
    calls: list[int] = []
    real = tasks.record_events

    def counting(store, events):
        calls.append(len(events))
        return real(store, events)

    monkeypatch.setattr(tasks, "record_events", counting)
    return calls


def statuses(store) -> dict[str, int]:
    out: dict[str, int] = {}
    for status in WebhookDelivery.objects.filter(store=store).values_list("status", flat=True):
        out[status] = out.get(status, 0) + 1
    return out


def test_refunds_before_their_orders_in_one_batch_are_applied_in_one_pass(shop, queued, writes):
    Segment.objects.create(store=shop, name="Buyers", definition={"type": "performed", "event": "order.placed"})
    load = mixed_load(40, refunds_first=0.1)
    position = {key: i for i, (_, key, _) in enumerate(load)}
    assert sum(position["r" + k[1:]] < i for k, i in position.items() if k.startswith("o") and "r" + k[1:]
               in position) >= 4  # the load has refunds that arrive before their order
    store_deliveries(shop, load)
    assert tasks.drain_pending() == 60
    assert statuses(shop) == {"processed": 60}
    # two writes: the batch together, then the 20 refunds whose orders it brought (before or after them)
    assert len(writes) == 2 and writes[1] == 20
    assert OrmQ.objects.count() == 1  # one segment re-evaluation for the whole batch (no flows, no email)
    assert not Schedule.objects.filter(func="integrations.tasks.process_delivery").exists()  # no timed retry
    assert Event.objects.filter(store=shop, type="order.refunded").count() == 20
    # refunds net out of lifetime value: buyer0 has orders 0 and 20, both refunded 19.50 (as the payload says)
    buyer = Customer.objects.get(store=shop, email="buyer0@example.com")
    assert buyer.total_spent == (Decimal("132.90") - Decimal("19.50")) * 2


def test_a_batch_reads_the_owners_of_its_refunds_orders_in_one_query_not_one_per_refund(shop):
    from django.test.utils import CaptureQueriesContext

    store_deliveries(shop, mixed_load(60, refunds_first=0))  # orders 0-59, refunds of the even ones
    tasks.drain_pending()
    more = [("refunds/create", f"late-r{i}", {**refund_body(i), "id": 8_000_000 + i}) for i in range(0, 60, 2)]
    store_deliveries(shop, more)  # 30 refunds of stored orders, one batch
    with CaptureQueriesContext(connection) as seen:
        assert tasks.drain_pending() == 30
    lookups = [q["sql"] for q in seen.captured_queries  # who placed an order, by its reference
               if q["sql"].startswith("SELECT") and 'FROM "timeline_event"' in q["sql"]
               and ('WHERE ("timeline_event"."order_ref"' in q["sql"] or "'order.placed'" in q["sql"])]
    assert len(lookups) == 1, lookups  # one query for the 30 orders (it was 30, each walking the store's orders)
    assert Event.objects.filter(store=shop, type="order.refunded").count() == 60
    buyer = Customer.objects.get(store=shop, email="buyer0@example.com")  # orders 0 and 30, each refunded twice
    assert buyer.total_spent == (Decimal("132.90") - 2 * Decimal("19.50")) * 2


def test_a_batch_reads_the_owners_of_its_anonymous_carts_in_one_query(shop):
    from django.test.utils import CaptureQueriesContext

    from .shopify.helpers import payload

    def checkout(n: int, token: str) -> tuple[str, str, dict]:
        body = payload("checkouts_create")
        body.update(id=5_000 + n, token=f"chk{n}", cart_token=token, email=f"shopper{n}@example.com")
        body["customer"] = {**body["customer"], "id": 8_000 + n, "email": f"shopper{n}@example.com"}
        return "checkouts/create", f"c{n}", body

    def cart(n: int, token: str) -> tuple[str, str, dict]:
        body = payload("carts_update")
        body.update(id=token, token=token)
        return "carts/update", f"cart{n}", body

    store_deliveries(shop, [checkout(n, f"tok{n}") for n in range(5)])
    tasks.drain_pending()
    carts = [cart(n, f"tok{n % 5}") for n in range(10)] + [cart(10 + n, f"unknown{n}") for n in range(5)]
    store_deliveries(shop, carts)
    with CaptureQueriesContext(connection) as seen:
        assert tasks.drain_pending() == 15
    lookups = [q["sql"] for q in seen.captured_queries if q["sql"].startswith("SELECT") and "cart_token" in q["sql"]]
    assert len(lookups) == 1, lookups  # one query for the batch's 15 carts (it was one per cart)
    owners = dict(Event.objects.filter(store=shop, type="cart.updated").values_list(
        "properties__cart_token", "customer__email"))
    assert owners == {**{f"tok{n}": f"shopper{n}@example.com" for n in range(5)},
                      **{f"unknown{n}": None for n in range(5)}}  # a token nobody checked out with stays anonymous


def test_a_refund_whose_order_comes_in_a_later_batch_waits_without_a_timed_retry(shop, monkeypatch, writes):
    monkeypatch.setattr(tasks, "DRAIN_BATCH", 4)
    load = mixed_load(12, refunds_first=0)
    load.insert(0, load.pop(next(i for i, x in enumerate(load) if x[1] == "r10")))  # its order is last
    store_deliveries(shop, load)
    tasks.drain_pending()  # one drain: the refund is parked in its first batch, applied after its order's
    assert statuses(shop) == {"processed": 18}
    assert not Schedule.objects.filter(func="integrations.tasks.process_delivery").exists()
    assert Event.objects.filter(store=shop, type="order.refunded").count() == 6


def test_a_refund_whose_order_never_comes_fails_with_the_reason_after_the_wait(shop, settings):
    settings.WEBHOOK_PARK_SECONDS = 3600
    store_deliveries(shop, [("refunds/create", "r2", refund_body(2))])
    tasks.drain_pending()
    assert statuses(shop) == {"parked": 1}
    with time_machine.travel(timezone.now() + timedelta(minutes=59)):
        tasks.drain_pending()
    assert statuses(shop) == {"parked": 1}
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        tasks.drain_pending()
    delivery = WebhookDelivery.objects.get(store=shop)
    assert delivery.status == "failed"
    assert "did not arrive within 1 hour" in delivery.last_error and str(6_000_000_000_002) in delivery.last_error


def test_one_bad_delivery_costs_a_few_savepoints_not_single_writes(shop, monkeypatch, writes):
    real = tasks._write_group

    def refusing(items):  # one delivery's write is refused by the database (say, a value out of range)
        if any(d.delivery_key == "o17" for d, _ in items):
            raise ValueError("numeric field overflow")
        return real(items)

    monkeypatch.setattr(tasks, "_write_group", refusing)
    store_deliveries(shop, mixed_load(40, refunds_first=0))
    tasks.drain_pending()
    assert statuses(shop) == {"processed": 59, "failed": 1}
    assert len(writes) <= 12  # halving: about 2 log2(60), not 60
    assert "numeric field overflow" in WebhookDelivery.objects.get(delivery_key="o17").last_error


@pytest.mark.django_db(transaction=True)
def test_two_drainers_over_the_same_customers_do_not_deadlock(shop, make_store, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers: two drainers cannot run at once, so they cannot deadlock")
    # Each batch holds new customers of two stores, in opposite store orders: without one global lock
    # order, each drainer writes its first store's customers, then waits for the other's second store's
    # (a deadlock PostgreSQL breaks by aborting one of them).
    other = make_store(platform="shopify", domain="other-shop.myshopify.com", currency="EUR")
    orders = [x for x in mixed_load(20, refunds_first=0) if x[0] == "orders/paid"]
    a = store_deliveries(shop, orders[:5]) + store_deliveries(other, orders[5:10])  # buyers 0-4, then 5-9
    b = store_deliveries(other, orders[15:]) + store_deliveries(shop, orders[10:15])  # buyers 5-9, then 0-4
    b = [pk for pk in b if pk not in a]
    assert WebhookDelivery.objects.get(pk=b[0]).store == other  # b starts with the other store
    together = threading.Barrier(2)
    real = tasks.record_events

    def meet_first(store, events):  # both drainers inside their transactions at the same moment
        try:
            together.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other one waits for our locks: it cannot come
        return real(store, events)

    monkeypatch.setattr(tasks, "record_events", meet_first)
    deadlocks = []
    real_is_deadlock = tasks._is_deadlock
    monkeypatch.setattr(tasks, "_is_deadlock", lambda exc: real_is_deadlock(exc) and not deadlocks.append(exc))
    results: dict[str, dict] = {}

    def drain(name, ids):
        try:
            results[name] = tasks._process_batch(ids, retrying=False, manual=True)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=drain, args=("a", a)), threading.Thread(target=drain, args=("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert set(results["a"].values()) == set(results["b"].values()) == {"processed"}
    assert deadlocks == []  # not even one victim: the second drainer waited for the first one's customers
    assert Customer.objects.filter(store=shop).count() == Customer.objects.filter(store=other).count() == 5
    assert Event.objects.filter(type="order.placed").count() == 20


def test_drain_tasks_go_to_their_own_queue_ahead_of_follow_up_tasks(shop, queued, settings):
    settings.WEBHOOK_QUEUE = "webhooks"
    Segment.objects.create(store=shop, name="Buyers", definition={"type": "performed", "event": "order.placed"})
    tasks.enqueue_delivery(1)
    store_deliveries(shop, mixed_load(4, refunds_first=0))
    tasks.drain_pending()
    # the drain's task waits on its own queue (its own qcluster); the segment re-evaluation on the default one
    assert sorted(OrmQ.objects.values_list("key", flat=True)) == ["shopconnect", "webhooks"]
