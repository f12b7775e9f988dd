"""Builders for campaign tests: customers in segments (membership rows written directly), campaigns
with variants, and engagement recorded through ``record_events`` like the tracking views do."""

from __future__ import annotations

import itertools
from datetime import datetime

from campaigns.models import Campaign, CampaignVariant, Message
from segments.models import Segment, SegmentMembership
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer
from shopconnect.timeline.record import record_events

from .conftest import T0

_n = itertools.count(1)
# Membership is written directly; the rule matches every customer so that the real-time
# re-evaluation that recorded events trigger keeps the members in.
EVERYONE = {"version": 1, "type": "and", "rules": [{"type": "attribute", "field": "created_at", "op": "is_set"}]}


def customers(store, count: int, consent: str = "subscribed", **fields) -> list[Customer]:
    batch = next(_n)
    Customer.objects.bulk_create([
        Customer(store=store, email=f"b{batch}-c{i}@example.com", first_name=f"C{i}", email_consent=consent,
                 created_at=T0, **fields) for i in range(count)])
    return list(Customer.objects.filter(store=store, email__startswith=f"b{batch}-").order_by("id"))


def segment(store, members: list[Customer], name: str | None = None, exited: list[Customer] = ()) -> Segment:
    seg = Segment.objects.create(store=store, name=name or f"Segment {next(_n)}",
                                 definition=EVERYONE)
    SegmentMembership.objects.bulk_create([SegmentMembership(segment=seg, customer=c, entered_at=T0)
                                           for c in members])
    SegmentMembership.objects.bulk_create([SegmentMembership(segment=seg, customer=c, entered_at=T0, exited_at=T0)
                                           for c in exited])
    return seg


def campaign(store, template, include, exclude=(), variants=(), **fields) -> Campaign:
    c = Campaign.objects.create(store=store, name=fields.pop("name", f"Campaign {next(_n)}"), template=template,
                                **fields)
    c.include_segments.set(include)
    c.exclude_segments.set(exclude)
    for v in variants:
        CampaignVariant.objects.create(campaign=c, **v)
    return c


def mark_sent(rows, at: datetime = T0) -> None:
    Message.objects.filter(pk__in=[r.pk for r in rows]).update(state="sent", sent_at=at)


def engage(store, rows, kind: str = "email.opened", at: datetime = T0, machine: bool = False) -> None:
    """Opens or clicks on these outbox rows, with the properties the tracking views record."""
    events = []
    for m in rows:
        props = {"message_id": str(m.pk), "variant": m.variant}
        if m.campaign_id:
            props["campaign_id"] = m.campaign_id
        if m.flow_id:
            props["flow_id"] = m.flow_id
        if kind == "email.opened":
            props["machine"] = machine
        events.append(CanonicalEvent(type=kind, occurred_at=at, dedupe_key=f"{kind}:{m.pk}:{next(_n)}",
                                     source="email", customer_id=m.customer_id, properties=props))
    record_events(store, events)
