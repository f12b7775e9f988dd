"""A campaign's audience, as one SQL query.

Customers of the campaign's store who are current members (``exited_at IS NULL``) of any included
segment, minus current members of any excluded segment, not deleted, with an email address. Consent
and suppression are not applied here: the sender applies them at send time (``campaigns.policy``) and
records each skip with its reason on the outbox row, so "why didn't this customer get it?" has an
answer. ``reachable`` counts the part of the audience that would pass those checks today, for the
admin's preview.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from segments.models import SegmentMembership
from shopconnect.timeline.models import Consent, Customer

from ..models import Campaign, CampaignVariant, Suppression
from . import assign


def _members(campaign: Campaign, through) -> QuerySet:
    segment_ids = through.objects.filter(campaign_id=campaign.pk).values("segment_id")
    return SegmentMembership.objects.filter(
        customer_id=OuterRef("pk"), exited_at__isnull=True, segment_id__in=segment_ids,
        segment__store_id=campaign.store_id,
    )


def audience(campaign: Campaign) -> QuerySet[Customer]:
    """The audience as a lazy queryset (one SELECT with EXISTS subqueries when evaluated)."""
    return (
        Customer.objects.filter(store_id=campaign.store_id, deleted_at__isnull=True, email__isnull=False)
        .exclude(email="")
        .filter(Exists(_members(campaign, Campaign.include_segments.through)))
        .exclude(Exists(_members(campaign, Campaign.exclude_segments.through)))
    )


def reachable(campaign: Campaign) -> QuerySet[Customer]:
    """The part of the audience that consents and is not suppressed (as the sender would decide now)."""
    suppressed = Suppression.objects.filter(store_id=campaign.store_id, email=OuterRef("email"))
    return audience(campaign).filter(email_consent=Consent.SUBSCRIBED).exclude(Exists(suppressed))


@dataclass(frozen=True, slots=True)
class Preview:
    size: int
    reachable: int
    holdout: int  # expected holdout size (the exact members are decided by hash at launch)
    test: int  # expected A/B test share (0 without a test)
    rest: int

    def as_dict(self) -> dict[str, int]:
        return {"size": self.size, "reachable": self.reachable, "holdout": self.holdout, "test": self.test,
                "rest": self.rest}


def preview(campaign: Campaign) -> Preview:
    """Audience size, reachable, and the expected holdout and test shares (two COUNT queries)."""
    size = audience(campaign).count()
    n_reachable = reachable(campaign).count()
    holdout = round(size * float(campaign.holdout_percent) / 100)
    variants = CampaignVariant.objects.filter(campaign=campaign).count() if campaign.pk else 0
    test = round((size - holdout) * float(campaign.test_percent) / 100) if variants >= 2 else 0
    return Preview(size, n_reachable, holdout, test, size - holdout - test)


def salt(campaign: Campaign) -> str:
    return f"campaign:{campaign.pk}"


def is_holdout(campaign: Campaign, customer_id: int) -> bool:
    return assign.in_holdout(salt(campaign), customer_id, campaign.holdout_percent)
