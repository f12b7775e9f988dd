"""Flow triggers, re-entry, steps and the decision log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.steps import pick_variant
from campaigns.flows.triggers import enrol_date_triggers
from campaigns.models import EmailTemplate, Enrollment, Flow, FlowStep, Message
from campaigns.sender import send_due_messages
from segments.signals import segment_entered
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import CustomerTag, Event
from shopconnect.timeline.record import record_events

from .conftest import T0, checkout_payload, order_payload


def make_flow(store, steps, **fields) -> Flow:
    fields.setdefault("trigger_event_type", "custom.signed_up")
    flow = Flow.objects.create(store=store, name="Test flow", enabled=True, **fields)
    for position, (kind, config, template) in enumerate(steps):
        FlowStep.objects.create(flow=flow, position=position, kind=kind, config=config, template=template)
    return flow


def fire(store, customer, type="custom.signed_up", key=None, at=T0, **props):
    dedupe_key = f"{customer.pk}:{key or type}:{at.isoformat()}:{props}"
    record_events(store, [CanonicalEvent(type=type, occurred_at=at, dedupe_key=dedupe_key,
                                         source="api", customer_id=customer.pk, properties=props)])


@pytest.fixture
def ana(shop, subscribe):
    return subscribe(shop, "ana@example.com", first_name="Ana")


def test_trigger_filters_and_once_ever_reentry(shop, ana, template):
    flow = make_flow(shop, [("send_email", {}, template)],
                     trigger_filters=[{"property": "plan", "op": "eq", "value": "pro"}])
    with time_machine.travel(T0, tick=False):
        fire(shop, ana, plan="free")
        assert not Enrollment.objects.exists()  # filtered out
        fire(shop, ana, plan="pro")
        fire(shop, ana, plan="pro", key="again")
    assert Enrollment.objects.filter(flow=flow).count() == 1
    assert Message.objects.filter(flow=flow).count() == 1 and len(mail.outbox) == 1


def test_reentry_once_per_n_days(shop, ana, template):
    flow = make_flow(shop, [("send_email", {"skip_smart_sending": True}, template)], reentry="per_days",
                     reentry_days=7)
    for day, key in ((0, "a"), (3, "b"), (8, "c")):
        with time_machine.travel(T0 + timedelta(days=day), tick=False):
            fire(shop, ana, key=key, at=T0 + timedelta(days=day))
    assert Enrollment.objects.filter(flow=flow).count() == 2 and len(mail.outbox) == 2


def test_every_time_reentry_sends_per_trigger(shop, ana, template):
    flow = make_flow(shop, [("send_email", {"skip_smart_sending": True}, template)], reentry="every_time")
    with time_machine.travel(T0, tick=False):
        fire(shop, ana, key="a")
        fire(shop, ana, key="b")
    assert Enrollment.objects.filter(flow=flow).count() == 2 and len(mail.outbox) == 2


def test_segment_entered_trigger(shop, ana, template):
    flow = make_flow(shop, [("send_email", {}, template)], trigger="segment_entered", trigger_segment_id=99)

    class FakeSegment:  # the signal's documented shape: .pk and .store_id
        pk, store_id = 99, shop.pk

    with time_machine.travel(T0, tick=False):
        segment_entered.send(sender=None, segment=FakeSegment, customer_ids=[ana.pk])
    assert Enrollment.objects.get(flow=flow).customer == ana and len(mail.outbox) == 1


def test_a_segment_no_flow_starts_from_queues_no_task(shop, ana, template):
    from unittest import mock

    make_flow(shop, [("send_email", {}, template)], trigger="segment_entered", trigger_segment_id=99)

    class Other:  # a segment no flow listens to (a big first build must not pickle its members)
        pk, store_id = 98, shop.pk

    with mock.patch("campaigns.tasks.async_task") as queued:
        segment_entered.send(sender=None, segment=Other, customer_ids=[ana.pk])
    assert queued.call_count == 0


def test_birthday_date_trigger(shop, subscribe, template):
    born = subscribe(shop, "bday@example.com", properties={"birthday": "1990-03-02"})
    subscribe(shop, "other@example.com", properties={"birthday": "1990-07-14"})
    flow = make_flow(shop, [("send_email", {}, template)], trigger="date_property", date_property="birthday")
    with time_machine.travel(T0, tick=False):
        assert enrol_date_triggers() == 1
        assert enrol_date_triggers() == 0  # once a year
    assert Enrollment.objects.get(flow=flow).customer == born


def test_delay_until_hour_in_customer_time_zone(shop, subscribe, template):
    tokyo = subscribe(shop, "tokyo@example.com", timezone="Asia/Tokyo")
    flow = make_flow(shop, [("delay", {"until_hour": 9}, None), ("send_email", {}, template)])
    with time_machine.travel(T0, tick=False):  # 00:00 in Tokyo
        fire(shop, tokyo)
    enrollment = Enrollment.objects.get(flow=flow)
    assert enrollment.due_at == T0 + timedelta(hours=9)


def test_wait_for_event_branches_on_event_or_timeout(shop, ana, subscribe, template):
    other = EmailTemplate.objects.create(store=shop, name="Nudge", subject="Nudge", html="<p>nudge</p>")
    thanks = EmailTemplate.objects.create(store=shop, name="Thanks", subject="Thanks", html="<p>thanks</p>")
    flow = make_flow(shop, [
        ("wait_for_event", {"event_types": ["custom.reviewed"], "timeout_hours": 48, "on_event": 2,
                            "on_timeout": 1}, None),
        ("send_email", {"next": None}, other),
        ("send_email", {}, thanks),
    ])
    ben = subscribe(shop, "ben@example.com")
    with time_machine.travel(T0, tick=False):
        fire(shop, ana)
        fire(shop, ben)
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        fire(shop, ana, type="custom.reviewed", at=T0 + timedelta(hours=5))  # wakes Ana's enrollment
    with time_machine.travel(T0 + timedelta(hours=49), tick=False):
        advance_due_enrollments()
    got = {m.to[0]: m.subject for m in mail.outbox}
    assert got == {"ana@example.com": "Thanks", "ben@example.com": "Nudge"}
    assert all(e.status == "completed" for e in Enrollment.objects.filter(flow=flow))


def test_ab_split_is_sticky_and_recorded_on_messages(shop, ana, template):
    variants = [{"label": "A", "weight": 50}, {"label": "B", "weight": 50}]
    assert len({pick_variant(variants, 1, 2, 3)["label"] for _ in range(20)}) == 1
    assert {pick_variant(variants, 1, 2, c)["label"] for c in range(200)} == {"A", "B"}
    flow = make_flow(shop, [("ab_split", {"variants": variants}, None), ("send_email", {}, template)])
    with time_machine.travel(T0, tick=False):
        fire(shop, ana)
    message = Message.objects.get(flow=flow)
    expected = pick_variant(variants, flow.pk, flow.steps.get(position=0).pk, ana.pk)["label"]
    assert message.variant == expected
    assert Event.objects.get(type="email.sent").properties["variant"] == expected


def test_update_customer_tags(shop, ana):
    make_flow(shop, [("update_customer", {"add_tags": ["vip"]}, None)])
    with time_machine.travel(T0, tick=False):
        fire(shop, ana)
    assert list(CustomerTag.objects.filter(customer=ana).values_list("tag", flat=True)) == ["vip"]


def test_exit_goal_for_trigger_ignores_other_checkouts(shop, post_webhook, ana, template):
    flow = make_flow(shop, [("delay", {"hours": 1}, None), ("send_email", {}, template)],
                     trigger_event_type="checkout.started", exit_goal="order_for_trigger")
    with time_machine.travel(T0, tick=False):
        post_webhook(shop, "checkouts/create", checkout_payload("ana@example.com", 501))
        post_webhook(shop, "orders/create", order_payload("ana@example.com", 1, 999, T0 + timedelta(minutes=5)))
    assert Enrollment.objects.get(flow=flow).status == "active"  # another checkout's order
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        post_webhook(shop, "orders/create", order_payload("ana@example.com", 2, 501, T0 + timedelta(minutes=10)))
    assert Enrollment.objects.get(flow=flow).status == "exited"
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        advance_due_enrollments()
    assert mail.outbox == []


def test_disabled_flow_does_not_enrol(shop, ana, template):
    flow = make_flow(shop, [("send_email", {}, template)])
    flow.enabled = False
    flow.save()
    fire(shop, ana)
    assert not Enrollment.objects.exists()


def test_step_validation_refuses_bad_config(shop, template):
    flow = make_flow(shop, [])
    with pytest.raises(ValidationError):
        FlowStep(flow=flow, position=0, kind="delay", config={}).full_clean()
    with pytest.raises(ValidationError):
        FlowStep(flow=flow, position=0, kind="wait_for_event", config={"event_types": ["nope"],
                                                                       "timeout_hours": 1}).full_clean()
    with pytest.raises(ValidationError):
        FlowStep(flow=flow, position=0, kind="send_email", config={}).full_clean()
    FlowStep(flow=flow, position=0, kind="send_email", template=template).full_clean()


def _rule(op: str, value: int) -> dict:
    return {"version": 1, "type": "and", "rules": [{"type": "attribute", "field": "orders_count", "op": op,
                                                     "value": value}]}


def test_condition_split(shop, ana, subscribe, template):
    pytest.importorskip("segments.evaluate", reason="needs segments engine")
    yes = EmailTemplate.objects.create(store=shop, name="Y", subject="No orders yet", html="<p>y</p>")
    flow = make_flow(shop, [("condition", {"rule": _rule("eq", 0), "yes": 1, "no": 2}, None),
                            ("send_email", {"next": None}, yes), ("send_email", {}, template)])
    with time_machine.travel(T0, tick=False):
        fire(shop, ana)
    assert [m.subject for m in mail.outbox] == ["No orders yet"]
    assert Message.objects.get(flow=flow).step.position == 1


def test_flow_filters_checked_on_entry_and_before_every_send(shop, ana, template):
    pytest.importorskip("segments.evaluate", reason="needs segments engine")
    strict = make_flow(shop, [("send_email", {}, template)], flow_filters=_rule("gte", 1))
    with time_machine.travel(T0, tick=False):
        fire(shop, ana)
    assert not Enrollment.objects.filter(flow=strict).exists()  # no orders: never entered
    strict.delete()
    flow = make_flow(shop, [("delay", {"hours": 1}, None), ("send_email", {}, template)],
                     flow_filters=_rule("eq", 0), trigger_event_type="custom.other")
    with time_machine.travel(T0, tick=False):
        fire(shop, ana, type="custom.other")
    assert Enrollment.objects.get(flow=flow).status == "active"
    record_events(shop, [CanonicalEvent(type="order.placed", occurred_at=T0 + timedelta(minutes=5), dedupe_key="o1",
                                        source="api", customer_id=ana.pk, order_ref="o1", amount=Decimal("5"))])
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        advance_due_enrollments()
    enrollment = Enrollment.objects.get(flow=flow)
    assert enrollment.status == "exited" and "flow filters" in enrollment.exit_reason and mail.outbox == []


def test_sender_runs_after_engine_without_doubles(shop, ana, template):
    make_flow(shop, [("send_email", {}, template)])
    with time_machine.travel(T0, tick=False):
        fire(shop, ana)
        advance_due_enrollments()
        send_due_messages()
    assert len(mail.outbox) == 1


def test_first_order_anniversary_and_segment_exited(shop, subscribe, template):
    buyer = subscribe(shop, "buyer@example.com")
    record_events(shop, [CanonicalEvent(type="order.placed", occurred_at=T0 - timedelta(days=365), dedupe_key="old",
                                        source="api", customer_id=buyer.pk, order_ref="old", amount=Decimal("9"))])
    anniversary = make_flow(shop, [("send_email", {}, template)], trigger="date_property",
                            date_property="first_order_at")
    with time_machine.travel(T0, tick=False):
        assert enrol_date_triggers() == 1
    assert Enrollment.objects.get(flow=anniversary).customer == buyer

    left = make_flow(shop, [("update_customer", {"add_tags": ["left-vip"]}, None)], trigger="segment_exited",
                     trigger_segment_id=5)

    class FakeSegment:
        pk, store_id = 5, shop.pk

    from segments.signals import segment_exited

    segment_exited.send(sender=None, segment=FakeSegment, customer_ids=[buyer.pk])
    assert Enrollment.objects.get(flow=left).status == "completed"
    assert CustomerTag.objects.filter(customer=buyer, tag="left-vip").exists()
