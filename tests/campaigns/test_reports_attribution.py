"""Attribution: last click within the store's window, else last open; refunds net out; idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import AttributedOrder
from campaigns.reports.attribution import attribute_orders, rebuild_attribution
from shopconnect.timeline.models import Event

from .conftest import T0
from .reporting import campaign, cancel, customer, email, message, order, refund

DAY = timedelta(days=1)


@pytest.fixture
def ana(shop):
    return customer(shop, "ana@example.com")


@pytest.fixture
def spring(shop):
    return campaign(shop, "Spring")


def credit(order_id: str) -> AttributedOrder | None:
    return AttributedOrder.objects.filter(order_id=order_id).first()


@pytest.mark.parametrize(("before", "credited"), [(5 * DAY, True), (5 * DAY + timedelta(seconds=1), False)])
def test_click_window_edge(shop, ana, spring, before, credited):
    msg = message(shop, ana, T0 - before - DAY, campaign=spring, variant="A")
    with time_machine.travel(T0 - before, tick=False):
        email(msg, "email.clicked", T0 - before, url="https://outdoor.example/sale")
    with time_machine.travel(T0, tick=False):
        order(shop, ana, "1001", "80.00", T0)
    got = credit("1001")
    if credited:
        assert (got.message_id, got.campaign_id, got.variant, got.touch) == (msg.pk, spring.pk, "A", "click")
        assert got.revenue == Decimal("80.00") and got.touched_at == T0 - before
    else:
        assert got is None


def test_open_fallback_and_its_own_window(shop, ana, spring):
    shop.email_provider.open_window_days = 2
    shop.email_provider.save()
    old = message(shop, ana, T0 - 4 * DAY, campaign=spring)
    email(old, "email.opened", T0 - 3 * DAY, machine=False)  # outside the 2-day open window
    order(shop, ana, "1", "10.00", T0)
    assert credit("1") is None
    recent = message(shop, ana, T0 - DAY, campaign=spring)
    email(recent, "email.opened", T0 - DAY + timedelta(hours=1), machine=False)
    order(shop, ana, "2", "20.00", T0 + timedelta(hours=1))
    assert (credit("2").message_id, credit("2").touch) == (recent.pk, "open")


def test_machine_open_excluded_unless_the_store_keeps_them(shop, ana, spring):
    msg = message(shop, ana, T0 - DAY, campaign=spring)
    email(msg, "email.opened", T0 - DAY + timedelta(seconds=5), machine=True)
    order(shop, ana, "1", "10.00", T0)
    assert credit("1") is None
    shop.email_provider.exclude_machine_opens = False
    shop.email_provider.save()
    order(shop, ana, "2", "10.00", T0 + timedelta(minutes=1))
    assert credit("2").touch == "open"


def test_a_later_click_wins_and_a_click_beats_a_later_open(shop, ana, spring):
    other = campaign(shop, "Other")
    first = message(shop, ana, T0 - 3 * DAY, campaign=spring)
    second = message(shop, ana, T0 - 2 * DAY, campaign=other)
    third = message(shop, ana, T0 - DAY, campaign=spring, variant="B")
    email(first, "email.clicked", T0 - 3 * DAY + timedelta(hours=1))
    email(second, "email.clicked", T0 - 2 * DAY + timedelta(hours=1))
    email(third, "email.opened", T0 - timedelta(hours=2), machine=False)  # later, but only an open
    order(shop, ana, "1", "50.00", T0)
    assert (credit("1").message_id, credit("1").campaign_id, credit("1").touch) == (second.pk, other.pk, "click")


def test_another_customers_click_never_counts(shop, ana, spring):
    bob = customer(shop, "bob@example.com")
    msg = message(shop, bob, T0 - DAY, campaign=spring)
    email(msg, "email.clicked", T0 - timedelta(hours=1))
    order(shop, ana, "1", "50.00", T0)
    assert credit("1") is None
    order(shop, bob, "2", "30.00", T0)
    assert credit("2").customer_id == bob.pk


def test_clicks_after_the_order_do_not_count(shop, ana, spring):
    msg = message(shop, ana, T0 - DAY, campaign=spring)
    order(shop, ana, "1", "50.00", T0)
    email(msg, "email.clicked", T0 + timedelta(seconds=1))
    assert credit("1") is None


def test_a_click_arriving_after_the_order_still_gets_the_credit(shop, ana, spring):
    bob = customer(shop, "bob@example.com")
    opened = message(shop, ana, T0 - DAY, campaign=spring, variant="A")
    email(opened, "email.opened", T0 - DAY + timedelta(hours=1), machine=False)
    order(shop, ana, "1", "60.00", T0)
    refund(shop, ana, "1", "10.00", T0 + DAY)
    assert (credit("1").message_id, credit("1").touch) == (opened.pk, "open")
    clicked = message(shop, ana, T0 - timedelta(hours=3), campaign=spring, variant="B")
    email(clicked, "email.clicked", T0 - timedelta(hours=2))  # the provider's webhook, late
    got = credit("1")
    assert (got.message_id, got.variant, got.touch, got.refunded) == (clicked.pk, "B", "click", Decimal("10.00"))
    email(message(shop, bob, T0 - DAY, campaign=spring), "email.clicked", T0 - timedelta(hours=1))
    assert credit("1").message_id == clicked.pk and AttributedOrder.objects.count() == 1  # bob's click: no change
    email(clicked, "email.clicked", T0 + timedelta(hours=1))  # after the order: no change either
    assert credit("1").touched_at == T0 - timedelta(hours=2)


def test_refunds_and_cancellation_net_out(shop, ana, spring):
    msg = message(shop, ana, T0 - DAY, campaign=spring)
    email(msg, "email.clicked", T0 - timedelta(hours=1))
    order(shop, ana, "1", "100.00", T0)
    refund(shop, ana, "1", "30.00", T0 + DAY, "r1")
    assert credit("1").refunded == Decimal("30.00")
    refund(shop, ana, "1", "30.00", T0 + DAY, "r1")  # redelivered refund: the same dedupe key
    refund(shop, ana, "1", "20.00", T0 + 2 * DAY, "r2")
    assert credit("1").refunded == Decimal("50.00")
    cancel(shop, ana, "1", T0 + 3 * DAY)
    assert credit("1").refunded == Decimal("100.00")


def test_refund_arriving_before_the_order_still_nets_out(shop, ana, spring):
    msg = message(shop, ana, T0 - DAY, campaign=spring)
    email(msg, "email.clicked", T0 - timedelta(hours=1))
    refund(shop, ana, "1", "25.00", T0 + DAY)
    order(shop, ana, "1", "100.00", T0)
    assert credit("1").refunded == Decimal("25.00")


def test_redelivered_order_is_credited_once(shop, ana, spring):
    msg = message(shop, ana, T0 - DAY, campaign=spring)
    email(msg, "email.clicked", T0 - timedelta(hours=1))
    order(shop, ana, "1", "100.00", T0)
    order(shop, ana, "1", "100.00", T0)  # the same delivery again
    order(shop, ana, "1", "100.00", T0, dedupe_key="backfill:order:1")  # the same order from a backfill
    assert AttributedOrder.objects.filter(order_id="1").count() == 1
    ids = list(Event.objects.filter(type="order.placed").values_list("id", flat=True))
    assert attribute_orders(shop.pk, ids) == 0  # a task run twice
    assert AttributedOrder.objects.count() == 1


def test_batch_uses_a_constant_number_of_queries(shop, spring):
    from shopconnect.timeline.canonical import CanonicalEvent
    from shopconnect.timeline.record import record_events

    def run(n: int, offset: int) -> int:
        people = [customer(shop, f"p{offset + i}@example.com") for i in range(n)]
        for who in people:
            email(message(shop, who, T0 - DAY, campaign=spring), "email.clicked", T0 - timedelta(hours=1))
        record_events(shop, [CanonicalEvent(type="order.placed", occurred_at=T0, dedupe_key=f"o{offset + i}",
                                            source="api", customer_id=who.pk, order_ref=f"o{offset + i}",
                                            amount=Decimal("5")) for i, who in enumerate(people)])
        AttributedOrder.objects.filter(order_id__startswith="o").delete()
        ids = list(Event.objects.filter(type="order.placed", order_ref__in=[f"o{offset + i}" for i in range(n)])
                   .values_list("id", flat=True))
        with CaptureQueriesContext(connection) as queries:
            assert attribute_orders(shop.pk, ids) == n
        return len(queries)

    assert run(2, 0) == run(20, 100)


def test_rebuild_command_recomputes_a_date_range(shop, ana, spring, capsys):
    msg = message(shop, ana, T0 - DAY, campaign=spring)
    email(msg, "email.clicked", T0 - timedelta(hours=1))
    order(shop, ana, "1", "100.00", T0)
    order(shop, ana, "2", "40.00", T0 + 10 * DAY)  # no touch in the window
    shop.email_provider.click_window_days = 15
    shop.email_provider.save()
    assert rebuild_attribution(shop, since=T0 + 5 * DAY) == 1  # only order 2 is redone
    assert credit("2").message_id == msg.pk and credit("1") is not None
    AttributedOrder.objects.all().delete()
    call_command("rebuild_attribution", str(shop.pk), "--since", "2026-02-01", "--until", "2026-04-01")
    assert '"attributed": 2' in capsys.readouterr().out
    assert set(AttributedOrder.objects.values_list("order_id", flat=True)) == {"1", "2"}
