"""A/B test decisions: win probability checked against Evan Miller's closed form, early and end-of-test
winners, the winner going to the rest of the audience, machine opens, attributed orders."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import time_machine
from django.core import mail
from scipy.special import betaln

from campaigns.campaign.abtest import campaign_numbers, decide_tests, probabilities
from campaigns.campaign.launch import launch
from campaigns.models import AttributedOrder, Campaign, EmailProvider, Message
from campaigns.tasks import send_messages
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Event
from shopconnect.timeline.record import record_events

from . import campaign_factory as f
from .conftest import T0


def p_b_beats_a(opens_a: int, n_a: int, opens_b: int, n_b: int) -> float:
    """Closed form for P(p_B > p_A) with Beta(1+s, 1+f) posteriors (Evan Miller, "Formulas for Bayesian
    A/B testing"), summed in log space."""
    a_a, b_a, a_b, b_b = 1 + opens_a, 1 + n_a - opens_a, 1 + opens_b, 1 + n_b - opens_b
    return sum(math.exp(betaln(a_a + i, b_a + b_b) - math.log(b_b + i) - betaln(1 + i, b_b) - betaln(a_a, b_a))
               for i in range(a_b))


def _tested_campaign(shop, template, n=400, **fields):
    people = f.customers(shop, n)
    defaults = {"test_percent": 100, "test_hours": 4, "win_probability": Decimal("0.95"), "min_sample": 100}
    c = f.campaign(shop, template, [f.segment(shop, people)], **{**defaults, **fields},
                   variants=[{"label": "A", "subject": "Sale A"}, {"label": "B", "subject": "Sale B"}])
    with time_machine.travel(T0, tick=False):
        launch(c.pk)
    rows = {label: list(Message.objects.filter(campaign=c, variant=label).order_by("id")) for label in "AB"}
    f.mark_sent(rows["A"] + rows["B"])
    return c, rows


def test_early_winner_when_probability_reaches_threshold(shop, template):
    c, rows = _tested_campaign(shop, template)
    assert len(rows["A"]) == len(rows["B"]) == 200
    f.engage(shop, rows["A"][:60], at=T0 + timedelta(minutes=30))
    f.engage(shop, rows["B"][:38], at=T0 + timedelta(minutes=30))
    f.engage(shop, rows["B"][100:160], at=T0 + timedelta(minutes=30), machine=True)  # proxies: not people
    expected = 1 - p_b_beats_a(60, 200, 38, 200)
    assert 0.95 < expected < 0.999  # the numbers are chosen to cross the threshold
    numbers = {n.label: n for n in campaign_numbers(c)}
    assert (numbers["A"].recipients, numbers["A"].opens, numbers["B"].opens) == (200, 60, 38)
    assert abs(probabilities(list(numbers.values()), "open_rate")["A"] - expected) < 1e-4
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert decide_tests() == {"decided": 1, "queued": 0}  # the test share was the whole audience
    c.refresh_from_db()
    assert c.winner == "A" and c.status == "sending"
    assert c.winner_reason.startswith(f"A reached {expected:.1%} win probability")


def test_machine_opens_count_when_the_store_keeps_them(shop, template):
    EmailProvider.objects.filter(store=shop).update(exclude_machine_opens=False)
    c, rows = _tested_campaign(shop, template, n=40)
    f.engage(shop, rows["A"][:3])
    f.engage(shop, rows["B"][:5], machine=True)
    f.engage(shop, rows["B"][:2], kind="email.clicked")
    numbers = {n.label: (n.recipients, n.opens, n.clicks) for n in campaign_numbers(c)}
    assert numbers == {"A": (20, 3, 0), "B": (20, 5, 2)}


def test_under_the_threshold_at_the_end_is_no_winner_and_the_default_goes_to_the_rest(shop, template):
    c, rows = _tested_campaign(shop, template)
    c.variants.filter(label="B").update(is_default=True)
    f.engage(shop, rows["A"][:52])
    f.engage(shop, rows["B"][:50])
    expected = 1 - p_b_beats_a(52, 200, 50, 200)
    assert 0.5 < expected < 0.95
    with time_machine.travel(T0 + timedelta(hours=3, minutes=59), tick=False):
        assert decide_tests()["decided"] == 0
    assert Campaign.objects.get(pk=c.pk).status == "testing"
    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        assert decide_tests()["decided"] == 1
    c.refresh_from_db()
    # A leads at {expected:.1%}, but that is not evidence: no winner is named, the default (B) is sent.
    assert c.winner == "" and c.status == "sending"
    assert c.winner_reason == (f"no winner: not enough data (best is A at {expected:.1%} win probability, under "
                               "the 95% threshold); the rest got the default variant B")


def test_min_sample_holds_back_an_early_winner(shop, template):
    c, rows = _tested_campaign(shop, template, n=100, min_sample=60)  # 50 per variant < 60
    f.engage(shop, rows["A"][:40])
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert decide_tests()["decided"] == 0


def test_the_rest_gets_exactly_the_winners_email(shop, template):
    people = f.customers(shop, 50)
    c = f.campaign(shop, template, [f.segment(shop, people)], holdout_percent=10, test_percent=40, min_sample=5,
                   win_probability=Decimal("0.9"),
                   variants=[{"label": "A", "subject": "Sale A"}, {"label": "B", "subject": "Last chance B"}])
    with time_machine.travel(T0, tick=False):
        counts = launch(c.pk)
        send_messages()
    assert len(mail.outbox) == counts["test"] > 0
    test_emails = {m.to[0] for m in mail.outbox}
    opened_b = list(Message.objects.filter(campaign=c, variant="B", state="sent"))
    f.engage(shop, opened_b, at=T0 + timedelta(minutes=20))
    mail.outbox = []
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        send_messages()  # decides B (all its recipients opened, none of A's), queues and sends the rest
    c.refresh_from_db()
    assert c.winner == "B" and "win probability" in c.winner_reason
    rest = Message.objects.filter(campaign=c, ab_test=False).exclude(variant="holdout")
    assert rest.count() == counts["audience"] - counts["holdout"] - counts["test"] == len(mail.outbox)
    assert {m.subject for m in mail.outbox} == {"Last chance B"}
    assert not test_emails & {m.to[0] for m in mail.outbox}  # nobody gets a second one
    assert set(rest.values_list("variant", "state")) == {("B", "sent")}
    assert c.status == "sent"


def test_orders_and_revenue_per_variant_come_from_attributed_orders(shop, template):
    c, rows = _tested_campaign(shop, template, n=20, winning_metric="revenue_per_recipient")
    rest_row = rows["A"][-1]
    Message.objects.filter(pk=rest_row.pk).update(ab_test=False)  # a winner/rest row: not part of the test

    def attribute(message, revenue, refunded="0", order_id=None):
        order_id = order_id or f"o{message.pk}-{revenue}"
        record_events(shop, [CanonicalEvent(type="order.placed", occurred_at=T0 + timedelta(hours=1),
                                            dedupe_key=f"order:{order_id}", source="api",
                                            customer_id=message.customer_id, order_ref=order_id,
                                            amount=Decimal(revenue), properties={"order_id": order_id})])
        AttributedOrder.objects.create(
            store=shop, order_event=Event.objects.get(store=shop, dedupe_key=f"order:{order_id}"),
            customer_id=message.customer_id, order_id=order_id, ordered_at=T0 + timedelta(hours=1),
            revenue=Decimal(revenue), refunded=Decimal(refunded), message=message, campaign=c,
            variant=message.variant, touch="click", touched_at=T0)

    a, b = rows["A"], rows["B"]
    attribute(a[0], "100.00")
    attribute(a[0], "50.00", refunded="50.00")  # the same buyer again, fully refunded
    attribute(a[1], "30.00")
    attribute(b[0], "20.00")
    attribute(rest_row, "500.00")  # not counted: not a test recipient
    numbers = {n.label: n for n in campaign_numbers(c)}
    assert (numbers["A"].buyers, numbers["A"].revenue, numbers["A"].revenue_sq) == (2, 130.0, 100.0**2 + 30.0**2)
    assert (numbers["B"].buyers, numbers["B"].revenue) == (1, 20.0)
    arm = numbers["A"].arm("revenue_per_recipient")
    assert arm.trials == 9 and arm.mean == 130.0 / 9  # 10 test recipients minus the row moved to the rest
