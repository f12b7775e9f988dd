"""Decisions only on evidence (issue 20): an A/B test whose variants cannot be told apart at its end names
no winner, says "no winner: not enough data", and sends the marketer's default variant (or the first);
a tie is reported as a tie. The same rule for a flow's A/B split."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import time_machine
from django.core import mail

from campaigns.campaign.abtest import split_verdict
from campaigns.campaign.launch import launch
from campaigns.flows.engine import advance_due_enrollments
from campaigns.models import Campaign, Enrollment, Flow, FlowStep, Message
from campaigns.reports.abtest import ab_table
from campaigns.tasks import send_messages
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.record import record_events

from . import campaign_factory as f
from .conftest import T0


def _campaign(shop, template, default: str | None = None):
    people = f.customers(shop, 40)
    c = f.campaign(shop, template, [f.segment(shop, people)], test_percent=50, test_hours=4, min_sample=5,
                   win_probability=Decimal("0.9"),
                   variants=[{"label": "A", "subject": "Sale A", "is_default": default == "A"},
                             {"label": "B", "subject": "Sale B", "is_default": default == "B"}])
    with time_machine.travel(T0, tick=False):
        launch(c.pk)
        send_messages()  # the test share goes out
    return c


def test_no_opens_at_the_end_sends_the_default_and_says_no_winner(shop, template):
    c = _campaign(shop, template, default="B")
    assert len(mail.outbox) == 20
    mail.outbox = []
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        send_messages()
    assert Campaign.objects.get(pk=c.pk).status == "testing"  # not over yet: it waits
    with time_machine.travel(T0 + timedelta(hours=4, minutes=1), tick=False):
        send_messages()  # the test ended: decide, queue the rest, send it
    c.refresh_from_db()
    assert c.winner == "" and c.status == "sent"
    assert c.winner_reason == "no winner: not enough data (no opens in any variant); the rest got the default variant B"
    assert {m.subject for m in mail.outbox} == {"Sale B"} and len(mail.outbox) == 20
    assert not any(row["winner"] for row in ab_table(c))


def test_a_tie_is_reported_as_a_tie_and_the_first_variant_goes_without_a_default(shop, template, client,
                                                                                  make_user):
    c = _campaign(shop, template)
    tested = {label: list(Message.objects.filter(campaign=c, variant=label, ab_test=True)) for label in "AB"}
    for label in "AB":
        f.engage(shop, tested[label][:4], at=T0 + timedelta(minutes=30))
    mail.outbox = []
    with time_machine.travel(T0 + timedelta(hours=4, minutes=1), tick=False):
        send_messages()
    c.refresh_from_db()
    assert c.winner == "" and c.winner_reason == ("no winner: not enough data (a tie: every variant at 50.0% win "
                                                  "probability); the rest got the default variant A")
    assert {m.subject for m in mail.outbox} == {"Sale A"}
    # The report says so, in words, and names no winner.
    client.force_login(make_user(shop))
    page = client.get(f"/admin/reports/campaigns/{c.pk}/").content.decode()
    assert "no winner: not enough data (a tie" in page
    admin = client.get(f"/admin/campaigns/campaign/{c.pk}/change/").content.decode()
    assert "A (default: no winner, sent to the rest)" in admin and "(winner)" not in admin


def test_evidence_still_names_a_winner(shop, template):
    c = _campaign(shop, template, default="A")
    f.engage(shop, list(Message.objects.filter(campaign=c, variant="B", ab_test=True))[:15],
             at=T0 + timedelta(minutes=30))
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        send_messages()
    c.refresh_from_db()
    assert c.winner == "B" and "win probability" in c.winner_reason and "no winner" not in c.winner_reason


def _split_flow(shop, template, **config) -> Flow:
    flow = Flow.objects.create(store=shop, name="Split", enabled=True, trigger_event_type="custom.joined",
                               reentry="every_time")
    FlowStep.objects.create(flow=flow, position=0, kind="ab_split", config={
        "variants": [{"label": "A", "weight": 50, "next": 1}, {"label": "B", "weight": 50, "next": 2}], **config})
    FlowStep.objects.create(flow=flow, position=1, kind="send_email", template=template, config={"next": None})
    FlowStep.objects.create(flow=flow, position=2, kind="send_email", template=template)
    return flow


def _join(shop, people, at):
    with time_machine.travel(at, tick=False):
        record_events(shop, [CanonicalEvent(type="custom.joined", occurred_at=at, dedupe_key=f"j{p.pk}:{at}",
                                            source="api", customer_id=p.pk) for p in people])


def test_a_flow_split_names_no_winner_without_orders_and_then_sends_its_default(shop, template):
    flow = _split_flow(shop, template, test_days=7, default="B", metric="order_rate")
    first, later = f.customers(shop, 20), f.customers(shop, 6)
    _join(shop, first, T0)
    split = flow.steps.get(position=0)
    assert {e.variant for e in Enrollment.objects.filter(flow=flow)} == {"A", "B"}
    assert split_verdict(flow, split) == "no winner: not enough data (no orders in any variant)"
    _join(shop, later, T0 + timedelta(days=8))  # the test period is over
    split.refresh_from_db()
    assert split.decided_variant == "B" and split.decision_reason == (
        "no winner: not enough data (no orders in any variant); everyone now gets the default B")
    assert {e.variant for e in Enrollment.objects.filter(flow=flow, customer__in=later)} == {"B"}
    assert split_verdict(flow, split) == split.decision_reason
    with time_machine.travel(T0 + timedelta(days=8), tick=False):
        advance_due_enrollments()
    log = Enrollment.objects.filter(flow=flow, customer=later[0]).get().decisions.values_list("detail", flat=True)
    assert "variant B: no winner: not enough data (no orders in any variant); everyone now gets the default B" in log
