"""The marketer's workspace, below the screens: pausing keeps every email's planned time, every sent email's
copy is kept, the revenue split adds up with an explicit "other", report days follow the store's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import time_machine

from campaigns.campaign.launch import launch
from campaigns.campaign.pause import pause, resume
from campaigns.models import AttributedOrder, Campaign, Message, SentCopy
from campaigns.reports.dashboard import dashboard, revenue_over_time
from campaigns.reports.kpis import DateRange
from campaigns.sender import send_due_messages

from . import campaign_factory as f
from .conftest import T0


def test_a_paused_campaign_sends_nothing_and_resumes_at_the_planned_times(shop, template):
    people = f.customers(shop, 6)
    c = f.campaign(shop, template, [f.segment(shop, people)], send_mode=Campaign.SendMode.AT,
                   send_at=T0 + timedelta(hours=5))
    launch(c.pk, now=T0)
    planned = dict(Message.objects.filter(campaign=c).values_list("id", "next_attempt_at"))
    assert pause(c.pk) == 6
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        assert send_due_messages().get("sent", 0) == 0  # the planned time passed while paused: still nothing
    assert Campaign.objects.get(pk=c.pk).status == Campaign.Status.PAUSED
    assert pause(c.pk) is None  # twice is no-op
    assert resume(c.pk) == 6
    assert dict(Message.objects.filter(campaign=c).values_list("id", "next_attempt_at")) == planned
    assert Campaign.objects.get(pk=c.pk).status == Campaign.Status.SCHEDULED
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        assert send_due_messages()["sent"] == 6


def test_every_sent_email_keeps_the_copy_that_was_sent(shop, template):
    people = f.customers(shop, 3)
    c = f.campaign(shop, template, [f.segment(shop, people)])
    launch(c.pk)
    send_due_messages()
    template.html = "<p>changed later</p>"
    template.save()
    for message in Message.objects.filter(campaign=c).select_related("customer"):
        copy = SentCopy.objects.get(message=message)
        parts = copy.parts()
        assert copy.subject == f"Hello {message.customer.first_name}" == message.subject
        assert f"Hi {message.customer.first_name}" in parts["html"] and "changed later" not in parts["html"]
        assert "/t/c/" not in parts["html"]  # before tracking: reading the copy never counts as a click
        assert parts["text"].startswith(f"Hi {message.customer.first_name}")


def _credit(shop, customer, order_id: str, amount: str, at: datetime, **source) -> None:
    from shopconnect.timeline.models import Event

    event = Event.objects.create(store=shop, customer=customer, type="order.placed", occurred_at=at, received_at=at,
                                 source="test", dedupe_key=f"o:{order_id}", order_ref=order_id, amount=amount)
    AttributedOrder.objects.create(store=shop, order_event=event, customer=customer, order_id=order_id,
                                   ordered_at=at, revenue=Decimal(amount), touch="click", touched_at=at, **source)


def test_rankings_add_up_to_the_headline_with_an_other_row(shop, template):
    from campaigns.flows.prebuilt import install_prebuilt_flows

    person = f.customers(shop, 1)[0]
    c = f.campaign(shop, template, [f.segment(shop, [person])], name="Sale")
    flow = install_prebuilt_flows(shop, ["abandoned_cart"])[0]
    _credit(shop, person, "1", "100.00", T0, campaign=c)
    _credit(shop, person, "2", "40.00", T0, flow=flow)
    _credit(shop, person, "3", "15.50", T0)  # an email outside campaigns and flows (or deleted)
    data = dashboard(shop.pk, DateRange(T0.date() - timedelta(days=1), T0.date() + timedelta(days=1)))
    split = data["revenue_split"]
    assert (split["campaigns"], split["flows"], split["other"]) == (Decimal("100.00"), Decimal("40.00"),
                                                                   Decimal("15.50"))
    assert data["attributed_revenue"] == Decimal("155.50")
    rows = data["earned"]
    assert [r["name"] for r in rows] == ["Sale", flow.name, "Other email (not a campaign or flow)",
                                         "Total (the headline)"]
    assert sum(r["revenue"] for r in rows[:-1]) == rows[-1]["revenue"] == data["attributed_revenue"]
    assert data["best_campaign"]["name"] == "Sale" and data["best_flow"]["name"] == flow.name


def test_report_days_are_the_stores_days(shop, template):
    person = f.customers(shop, 1)[0]
    # 03:00 UTC on Jan 2 is still Jan 1 in New York (the shop's zone)
    _credit(shop, person, "9", "20.00", datetime(2026, 1, 2, 3, 0, tzinfo=UTC))
    days = {d["day"]: d["revenue"] for d in revenue_over_time(
        shop.pk, DateRange(date(2026, 1, 1), date(2026, 1, 2), "America/New_York"))}
    assert days == {date(2026, 1, 1): Decimal("20.00"), date(2026, 1, 2): Decimal("0.00")}
    utc = {d["day"]: d["revenue"] for d in revenue_over_time(shop.pk, DateRange(date(2026, 1, 1), date(2026, 1, 2)))}
    assert utc[date(2026, 1, 2)] == Decimal("20.00")
