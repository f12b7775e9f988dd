"""Helpers for the report tests: campaigns, messages and email/order events recorded the way the
sending pipeline and the platforms record them (``campaigns.sender.event_ids`` properties)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone

from campaigns.models import HOLDOUT, Campaign, EmailTemplate, Message
from campaigns.sender import event_ids
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer
from shopconnect.timeline.record import record_events

_n = itertools.count(1)


def customer(store, email: str, consent: str = "subscribed", **fields) -> Customer:
    return Customer.objects.create(store=store, email=email, email_consent=consent,
                                   created_at=fields.pop("created_at", datetime(2025, 1, 1, tzinfo=UTC)), **fields)


def campaign(store, name: str = "Spring sale", **fields) -> Campaign:
    template = EmailTemplate.objects.filter(store=store).first() or EmailTemplate.objects.create(
        store=store, name="T", subject="Hi", html="<p>Hi</p>")
    return Campaign.objects.create(store=store, name=name, template=template, status=Campaign.Status.SENT, **fields)


def message(store, who: Customer, at: datetime | None, *, campaign=None, flow=None, step=None, variant: str = "",
            ab_test: bool = False, holdout: bool = False, record_sent: bool = True) -> Message:
    """A sent message (and its ``email.sent`` event), or a holdout row (skipped, never sent)."""
    n = next(_n)
    if holdout:
        return Message.objects.create(
            store=store, customer=who, campaign=campaign, flow=flow, step=step, variant=HOLDOUT,
            state=Message.State.SKIPPED, skip_reason="holdout", idempotency_key=f"test:{n}",
            next_attempt_at=at or timezone.now())
    msg = Message.objects.create(store=store, customer=who, campaign=campaign, flow=flow, step=step, variant=variant,
                                 ab_test=ab_test, state=Message.State.SENT, sent_at=at, idempotency_key=f"test:{n}",
                                 next_attempt_at=at)
    if record_sent:
        email(msg, "email.sent", at)
    return msg


def email(msg: Message, kind: str, at: datetime, **props) -> None:
    """An ``email.*`` event for a message (``kind`` is the full type: email.opened, email.clicked...)."""
    record_events(msg.store, [CanonicalEvent(
        type=kind, occurred_at=at, dedupe_key=f"{kind}:{msg.pk}:{next(_n)}", source="email",
        customer_id=msg.customer_id, properties={**event_ids(msg), **props})])


def order(store, who: Customer, order_id: str, total: str, at: datetime, dedupe_key: str | None = None) -> None:
    record_events(store, [CanonicalEvent(
        type="order.placed", occurred_at=at, dedupe_key=dedupe_key or f"order:{order_id}", source="api",
        customer_id=who.pk, order_ref=order_id, amount=Decimal(total),
        properties={"order_id": order_id, "total": total})])


def refund(store, who: Customer, order_id: str, amount: str, at: datetime, refund_id: str = "r1") -> None:
    record_events(store, [CanonicalEvent(
        type="order.refunded", occurred_at=at, dedupe_key=f"refund:{order_id}:{refund_id}", source="api",
        customer_id=who.pk, order_ref=order_id, amount=Decimal(amount),
        properties={"order_id": order_id, "refund_id": refund_id, "amount": amount})])


def cancel(store, who: Customer, order_id: str, at: datetime) -> None:
    record_events(store, [CanonicalEvent(
        type="order.cancelled", occurred_at=at, dedupe_key=f"cancel:{order_id}", source="api",
        customer_id=who.pk, order_ref=order_id, properties={"order_id": order_id})])
