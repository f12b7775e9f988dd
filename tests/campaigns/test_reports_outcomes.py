"""Message outcomes (the report rollup) from email events; flow holdout lift."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.models import Flow, FlowStep, MessageOutcome
from campaigns.reports.lift import holdout_lift
from campaigns.reports.outcomes import rebuild_outcomes

from .conftest import T0
from .reporting import customer, email, message, order

H = timedelta(hours=1)


def snapshot() -> list[tuple]:
    return list(MessageOutcome.objects.order_by("message_id").values_list(
        "message_id", "campaign_id", "variant", "sent_at", "bounced_at", "opened_at", "human_opened_at", "clicked_at",
        "complained_at", "unsubscribed_at"))


def test_outcomes_keep_the_first_time_whatever_the_order_of_arrival(shop):
    ana = customer(shop, "ana@example.com")
    msg = message(shop, ana, T0, variant="A")
    email(msg, "email.opened", T0 + 3 * H, machine=False)
    email(msg, "email.opened", T0 + H, machine=True)  # arrives later, happened earlier: a proxy prefetch
    email(msg, "email.opened", T0 + 2 * H, machine=False)
    email(msg, "email.clicked", T0 + 4 * H)
    email(msg, "email.clicked", T0 + 5 * H)
    outcome = MessageOutcome.objects.get(message=msg)
    assert (outcome.sent_at, outcome.opened_at, outcome.human_opened_at, outcome.clicked_at) == (
        T0, T0 + H, T0 + 2 * H, T0 + 4 * H)
    assert outcome.variant == "A" and outcome.bounced_at is None


def test_events_naming_no_or_another_stores_message_are_ignored(shop, make_store):
    from shopconnect.timeline.canonical import CanonicalEvent
    from shopconnect.timeline.record import record_events

    ana = customer(shop, "ana@example.com")
    other = make_store()
    foreign = message(other, customer(other, "bob@example.com"), T0)
    record_events(shop, [CanonicalEvent(type="email.opened", occurred_at=T0, dedupe_key=f"x{i}", source="email",
                                        customer_id=ana.pk, properties={"message_id": mid})
                         for i, mid in enumerate([str(foreign.pk), "12abc", "", "99999999999999999999"])])
    assert MessageOutcome.objects.filter(store=shop).count() == 0
    assert MessageOutcome.objects.get(message=foreign).opened_at is None


def test_rebuild_gives_the_same_rows_as_the_incremental_path(shop):
    people = [customer(shop, f"p{i}@example.com") for i in range(3)]
    msgs = [message(shop, who, T0 + i * H) for i, who in enumerate(people)]
    email(msgs[0], "email.bounced", T0 + H, bounce_type="hard")
    email(msgs[1], "email.opened", T0 + 2 * H, machine=False)
    email(msgs[1], "email.complained", T0 + 3 * H)
    email(msgs[2], "email.unsubscribed", T0 + 4 * H)
    incremental = snapshot()
    MessageOutcome.objects.all().delete()
    rebuild_outcomes(shop.pk)
    assert snapshot() == incremental and len(incremental) == 3


@pytest.mark.parametrize("holdout_buys", [True, False])
def test_flow_holdout_lift(shop, holdout_buys):
    flow = Flow.objects.create(store=shop, name="Cart", trigger="event", trigger_event_type="checkout.started",
                               holdout_percent=50)
    step = FlowStep.objects.create(flow=flow, position=0, kind="send_email")
    sent = [customer(shop, f"s{i}@example.com") for i in range(4)]
    held = [customer(shop, f"h{i}@example.com") for i in range(2)]
    for who in sent:
        message(shop, who, T0, flow=flow, step=step)
    for who in held:
        hold = message(shop, who, None, flow=flow, step=step, holdout=True)
        type(hold).objects.filter(pk=hold.pk).update(created_at=T0)
    order(shop, sent[0], "1", "30.00", T0 + H)
    order(shop, sent[1], "2", "10.00", T0 + 5 * 24 * H)  # the window's last second counts
    order(shop, sent[2], "3", "10.00", T0 + 5 * 24 * H + timedelta(seconds=1))  # one second late
    if holdout_buys:
        order(shop, held[0], "4", "20.00", T0 + 2 * H)
    lift = holdout_lift(shop.pk, flow_id=flow.pk)
    assert (lift.recipients.trials, lift.recipients_converted, lift.recipients.total) == (4, 2, 40.0)
    assert (lift.holdout.trials, lift.holdout_converted) == (2, 1 if holdout_buys else 0)
    assert lift.conversion.difference == pytest.approx(2 / 4 - (1 / 2 if holdout_buys else 0))
    assert lift.revenue_per_recipient.difference == pytest.approx(10 - (10 if holdout_buys else 0))


def test_flow_report_splits_ab_variants_per_step(shop):
    from campaigns.reports.dashboard import flow_report

    flow = Flow.objects.create(store=shop, name="Welcome", trigger="event", trigger_event_type="customer.created")
    step = FlowStep.objects.create(flow=flow, position=1, kind="send_email", name="First email")
    for i, variant in enumerate(["A", "A", "B"]):
        msg = message(shop, customer(shop, f"v{i}@example.com"), T0, flow=flow, step=step, variant=variant)
        if variant == "B":
            email(msg, "email.clicked", T0 + H)
    report = flow_report(flow)
    assert [(v["step_name"], v["variant"], v["sent"], v["clicked"]) for v in report["variants"]] == [
        ("First email", "A", 2, 0), ("First email", "B", 1, 1)]
