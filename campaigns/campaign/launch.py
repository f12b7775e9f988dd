"""Launching a campaign: snapshot its audience into outbox rows, with the holdout and the A/B test share.

``launch(campaign_id)`` reads the audience once (``audience.audience``: one query, ids and time zones
only), decides everyone's place in Python from hashes (``assign``: no query per customer) and writes
the outbox rows through ``campaigns.outbox.enqueue`` in chunks of ``CHUNK`` (``INSERT ... ON CONFLICT DO
NOTHING`` on the key ``campaign:<id>:customer:<id>``, so launching twice or a crashed launch run again
never makes a second row). The queries do not depend on the audience size except one INSERT per
thousand rows.

- Holdout: ``holdout_percent`` of the audience, chosen by hash, gets a ``skipped`` row with variant
  ``holdout`` and reason ``holdout``: never sent, recorded so that lift can be measured.
- With 2-7 variants: ``test_percent`` of the rest (the lowest test hashes) is split evenly among the
  variants (``ab_test`` rows); the others get no row yet: ``send_rest`` sends them the winner when
  ``abtest`` decides. Status ``testing``, ``test_ends_at`` = start + ``test_hours``.
- Without variants (or with one): everyone else gets the email now; status ``sending``.
- Schedule: now, at ``send_at``, or at each recipient's best hour (``sendtime``) at or after the start;
  a variant's ``send_hour`` (a send-time test) overrides it. A start in the future is ``scheduled``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import HOLDOUT, Campaign, CampaignVariant, Message, MessageClass
from ..outbox import enqueue, message_key
from . import assign, sendtime
from .audience import audience, is_holdout, salt

CHUNK = 2000
MAX_VARIANTS = 7


class LaunchError(Exception):
    """A campaign that cannot be launched (the message says why)."""


def problems(campaign: Campaign, variants: list[CampaignVariant]) -> list[str]:
    out = []
    if campaign.status != Campaign.Status.DRAFT:
        out.append(f"only a draft can be launched (this one is {campaign.get_status_display().lower()})")
    if not campaign.include_segments.exists():
        out.append("choose at least one segment to send to")
    if len(variants) > MAX_VARIANTS:
        out.append(f"at most {MAX_VARIANTS} variants")
    if len(variants) >= 2 and not campaign.test_percent:
        out.append("an A/B test needs a test share above 0%")
    if campaign.send_mode == Campaign.SendMode.AT and not campaign.send_at:
        out.append("a scheduled campaign needs a time")
    return out


def _row(campaign: Campaign, customer_id: int, **fields) -> Message:
    return Message(store_id=campaign.store_id, customer_id=customer_id, campaign_id=campaign.pk,
                   message_class=MessageClass.CAMPAIGN,
                   idempotency_key=message_key("campaign", campaign.pk, "customer", customer_id), **fields)


class _Timing:
    """When each recipient's row becomes due."""

    def __init__(self, campaign: Campaign, start: datetime, customers) -> None:
        self.campaign, self.start = campaign, start
        self.best: dict[int, int] = {}
        self.store_hour = sendtime.DEFAULT_HOUR
        if campaign.send_mode == Campaign.SendMode.BEST_HOUR:
            self.best, self.store_hour = sendtime.best_hours(campaign.store, customers)

    def due(self, customer_id: int, zone_name: str, variant: CampaignVariant | None) -> datetime:
        zone = None
        if variant is not None and variant.send_hour is not None:
            hour = variant.send_hour
        elif self.campaign.send_mode == Campaign.SendMode.BEST_HOUR:
            hour = self.best.get(customer_id, self.store_hour)
        else:
            return self.start
        zone = sendtime.customer_zone(zone_name, self.campaign.store)
        return sendtime.next_local_hour(self.start, hour, zone)


def _write(rows: Iterable[Message]) -> int:
    chunk: list[Message] = []
    total = 0
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            total += enqueue(chunk)
            chunk = []
    if chunk:
        total += enqueue(chunk)
    return total


def launch(campaign_id: int, now: datetime | None = None) -> dict[str, int]:
    """Launch a draft campaign; returns the counts of holdout, test and sent-now rows."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().select_related("store", "template").get(pk=campaign_id)
        variants = list(campaign.variants.select_related("template").order_by("label"))
        found = problems(campaign, variants)
        if found:
            raise LaunchError("; ".join(found))
        start = max(campaign.send_at, now) if campaign.send_at and campaign.send_mode != Campaign.SendMode.NOW \
            else now
        members = audience(campaign)
        people = list(members.order_by("id").values_list("id", "timezone"))
        timing = _Timing(campaign, start, members)
        holdout = [(cid, tz) for cid, tz in people if is_holdout(campaign, cid)]
        held = {cid for cid, _ in holdout}
        rest = [(cid, tz) for cid, tz in people if cid not in held]
        testing = len(variants) >= 2
        counts = {"audience": len(people), "holdout": len(holdout), "test": 0, "queued": 0}

        def rows():
            for cid, _tz in holdout:
                yield _row(campaign, cid, template_id=campaign.template_id, variant=HOLDOUT,
                           state=Message.State.SKIPPED, skip_reason="holdout", next_attempt_at=start)
            if testing:
                key = salt(campaign)
                ordered = sorted(rest, key=lambda p: (assign.test_order(key, p[0]), p[0]))
                share = ordered[:round(len(ordered) * float(campaign.test_percent) / 100)]
                counts["test"] = len(share)
                for i, (cid, tz) in enumerate(share):
                    variant = variants[i % len(variants)]
                    yield _row(campaign, cid, template_id=variant.template_id or campaign.template_id,
                               variant=variant.label, ab_test=True, next_attempt_at=timing.due(cid, tz, variant))
            else:
                variant = variants[0] if variants else None
                counts["queued"] = len(rest)
                for cid, tz in rest:
                    yield _row(campaign, cid, template_id=(variant and variant.template_id) or campaign.template_id,
                               variant=variant.label if variant else "", next_attempt_at=timing.due(cid, tz, variant))

        _write(rows())
        if start > now:
            status = Campaign.Status.SCHEDULED
        else:
            status = Campaign.Status.TESTING if testing else Campaign.Status.SENDING
        Campaign.objects.filter(pk=campaign.pk).update(
            status=status, audience_size=len(people), started_at=start,
            test_ends_at=start + timedelta(hours=campaign.test_hours) if testing else None)
    return counts


def send_rest(campaign: Campaign, label: str, now: datetime | None = None) -> int:
    """Queue the winner ``label`` for every audience member without a row yet (not tested, not held out).
    Members who joined the segments since launch get the same holdout hash as everyone else."""
    now = now or timezone.now()
    variant = CampaignVariant.objects.filter(campaign=campaign, label=label).first()
    has_row = Message.objects.filter(campaign_id=campaign.pk, customer_id=OuterRef("pk"))
    members = audience(campaign).exclude(Exists(has_row))
    people = list(members.order_by("id").values_list("id", "timezone"))
    start = max(now, campaign.started_at or now)
    timing = _Timing(campaign, start, members)

    def rows():
        for cid, tz in people:
            if is_holdout(campaign, cid):
                yield _row(campaign, cid, template_id=campaign.template_id, variant=HOLDOUT,
                           state=Message.State.SKIPPED, skip_reason="holdout", next_attempt_at=start)
            else:
                yield _row(campaign, cid, template_id=(variant and variant.template_id) or campaign.template_id,
                           variant=label, next_attempt_at=timing.due(cid, tz, variant))

    return _write(rows())


def cancel(campaign_id: int, now: datetime | None = None) -> int:
    """Stop a campaign: queued rows become skipped ("campaign cancelled"); returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Campaign.objects.filter(pk=campaign_id).exclude(
            status__in=[Campaign.Status.SENT, Campaign.Status.CANCELLED]).update(
            status=Campaign.Status.CANCELLED, finished_at=now)
        if not updated:
            return 0
        return Message.objects.filter(campaign_id=campaign_id, state=Message.State.QUEUED).update(
            state=Message.State.SKIPPED, skip_reason="campaign cancelled")
