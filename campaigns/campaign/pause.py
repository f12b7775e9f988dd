"""Pausing and resuming a scheduled or running campaign.

Pausing moves the campaign's queued rows ``PAUSE_SHIFT`` into the future (so the sender, which takes due
rows only, leaves them alone) and remembers the status to come back to; A/B decisions and the "sent" upkeep
skip a paused campaign (they look at other statuses only). Resuming moves the rows back by the same shift,
so every row keeps its planned time (best hour, scheduled time); rows whose time passed meanwhile are due
at once. Rows a sender had already claimed when the pause came finish sending. Cancelling a paused
campaign works as for any other (``launch.cancel``).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import F

from ..models import Campaign, Message

PAUSE_SHIFT = timedelta(days=36500)
PAUSABLE = (Campaign.Status.SCHEDULED, Campaign.Status.TESTING, Campaign.Status.SENDING)


def pause(campaign_id: int) -> int | None:
    """Pause; returns how many queued emails now wait, or None when the campaign cannot be paused."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id, status__in=PAUSABLE).first()
        if campaign is None:
            return None
        Campaign.objects.filter(pk=campaign_id).update(status=Campaign.Status.PAUSED, paused_from=campaign.status)
        return Message.objects.filter(campaign_id=campaign_id, state=Message.State.QUEUED).update(
            next_attempt_at=F("next_attempt_at") + PAUSE_SHIFT, note="campaign paused")


def resume(campaign_id: int) -> int | None:
    """Resume a paused campaign where it was; returns how many queued emails go on, or None."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id, status=Campaign.Status.PAUSED).first()
        if campaign is None:
            return None
        back = campaign.paused_from or Campaign.Status.SENDING
        Campaign.objects.filter(pk=campaign_id).update(status=back, paused_from="")
        return Message.objects.filter(campaign_id=campaign_id, state=Message.State.QUEUED).update(
            next_attempt_at=F("next_attempt_at") - PAUSE_SHIFT, note="")
