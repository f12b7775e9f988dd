"""Send-time optimization: each recipient's best hour from their own opens and clicks, in their zone."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

from campaigns.campaign.launch import launch
from campaigns.campaign.sendtime import best_hours, store_best_hour
from campaigns.models import Message
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer
from shopconnect.timeline.record import record_events

from . import campaign_factory as f
from .conftest import T0

NY = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")
_n = itertools.count(1)


def engaged(store, customer, local_hours, zone, kind="email.opened", machine=False):
    """Engagement at these local hours on past days (January: winter time)."""
    events = []
    for day, hour in enumerate(local_hours, start=1):
        at = datetime(2026, 1, day, hour, 20, tzinfo=zone).astimezone(UTC)
        events.append(CanonicalEvent(type=kind, occurred_at=at, dedupe_key=f"st:{next(_n)}", source="email",
                                     customer_id=customer.pk,
                                     properties={"message_id": "1", **({"machine": machine} if kind == "email.opened"
                                                                        else {})}))
    record_events(store, events)


def test_best_hours_and_store_fallback_set_each_recipients_send_time(shop, template):
    # shop's zone is America/New_York
    paris, ny, machine_only, unknown = f.customers(shop, 4)
    Customer.objects.filter(pk=paris.pk).update(timezone="Europe/Paris")
    outsider = f.customers(shop, 1)[0]  # not in the audience, but part of the store's habits
    engaged(shop, paris, [19, 19], PARIS)
    engaged(shop, paris, [8], PARIS, kind="email.clicked")  # one click (x3) beats two opens
    engaged(shop, ny, [8, 8, 9], NY)
    engaged(shop, machine_only, [3, 3, 3, 3, 3, 3, 3, 3], NY, machine=True)  # proxy prefetches: ignored
    engaged(shop, outsider, [15] * 6, NY)
    audience = Customer.objects.filter(pk__in=[paris.pk, ny.pk, machine_only.pk, unknown.pk])
    hours, store_hour = best_hours(shop, audience)
    assert hours == {paris.pk: 8, ny.pk: 8}
    assert store_hour == 15  # outsider 6 at 15; paris's 8:00 click 3 + ny's two 8:00 opens = 5 at 8

    c = f.campaign(shop, template, [f.segment(shop, [paris, ny, machine_only, unknown])], send_mode="best_hour",
                   send_at=T0)  # Monday 2 March, 10:00 in New York, 16:00 in Paris
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        launch(c.pk)
    due = dict(Message.objects.filter(campaign=c).values_list("customer_id", "next_attempt_at"))
    assert due[paris.pk] == datetime(2026, 3, 3, 8, tzinfo=PARIS)  # 8:00 already passed in Paris: next day
    assert due[ny.pk] == datetime(2026, 3, 3, 8, tzinfo=NY)
    assert due[machine_only.pk] == due[unknown.pk] == datetime(2026, 3, 2, 15, tzinfo=NY)  # the store's hour


def test_send_time_distribution_follows_histories(shop, template):
    people = f.customers(shop, 24)
    for i, person in enumerate(people[:18]):
        engaged(shop, person, [6 + i % 6] * 2, NY)  # 3 customers at each of 6:00..11:00
    engaged(shop, people[0], [6] * 4, NY)  # makes 6:00 the store's best hour
    c = f.campaign(shop, template, [f.segment(shop, people)], send_mode="best_hour")
    with time_machine.travel(datetime(2026, 3, 2, 5, tzinfo=NY), tick=False):
        launch(c.pk)
    local = Counter(m.astimezone(NY).hour for m in Message.objects.filter(campaign=c)
                    .values_list("next_attempt_at", flat=True))
    assert local == {6: 3 + 6, 7: 3, 8: 3, 9: 3, 10: 3, 11: 3}  # 6 unknown customers get the store's 6:00


def test_a_store_without_history_sends_at_ten(make_store):
    assert store_best_hour(make_store()) == 10


def test_send_time_variants_go_out_at_their_hour_in_each_zone(shop, template):
    people = f.customers(shop, 40)
    Customer.objects.filter(pk__in=[p.pk for p in people[:20]]).update(timezone="Europe/Paris")
    c = f.campaign(shop, template, [f.segment(shop, people)], test_percent=100,
                   variants=[{"label": "morning", "send_hour": 8}, {"label": "evening", "send_hour": 19}])
    with time_machine.travel(T0, tick=False):  # 10:00 in New York, 16:00 in Paris
        launch(c.pk)
    due = {(m.variant, m.next_attempt_at.astimezone(PARIS if m.customer.timezone else NY).strftime("%d %H:%M"))
           for m in Message.objects.filter(campaign=c).select_related("customer")}
    assert due == {("morning", "03 08:00"), ("evening", "02 19:00")}
