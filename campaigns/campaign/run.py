"""The per-minute campaign upkeep (run by the ``send_messages`` schedule before the sender):
scheduled campaigns start, running tests are decided (``abtest.decide_tests``), and a sending campaign
with no queued or sending rows left becomes ``sent``."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import Campaign, Message
from .abtest import decide_tests


def start_scheduled(now: datetime) -> int:
    due = Campaign.objects.filter(status=Campaign.Status.SCHEDULED, started_at__lte=now)
    return (due.filter(test_ends_at__isnull=False).update(status=Campaign.Status.TESTING)
            + due.filter(test_ends_at__isnull=True).update(status=Campaign.Status.SENDING))


def finish_sent(now: datetime) -> int:
    pending = Message.objects.filter(campaign_id=OuterRef("pk"),
                                     state__in=[Message.State.QUEUED, Message.State.SENDING])
    return Campaign.objects.filter(status=Campaign.Status.SENDING).exclude(Exists(pending)).update(
        status=Campaign.Status.SENT, finished_at=now)


def run_campaigns(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    started = start_scheduled(now)
    decided = decide_tests(now)
    return {"started": started, **decided, "finished": finish_sent(now)}
