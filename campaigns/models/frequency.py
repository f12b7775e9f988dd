"""Frequency caps by engagement tier: how many flow and campaign emails a store sends each tier.

A customer's tier is their membership in the store's engagement segments (the built-in templates
``highly_engaged``, ``moderately_engaged``, ``low_engaged`` and ``re_engagement``; a customer in several
belongs to the most engaged of them). Saving a cap creates the tier's segment from its template when the
store does not have it yet. The caps are applied at send time by ``campaigns.policy``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from shopconnect.timeline.models import Store


class Tier(models.TextChoices):
    """Most engaged first: a customer in several tiers is in the first."""

    HIGHLY_ENGAGED = "highly_engaged", "Highly engaged (clicked, or opened 3+, in 30 days)"
    MODERATELY_ENGAGED = "moderately_engaged", "Moderately engaged (opened 1-2 in 30 days, no clicks)"
    LOW_ENGAGED = "low_engaged", "Low engaged (opened in 90 days, not in the last 30)"
    RE_ENGAGEMENT = "re_engagement", "Re-engagement needed (no open in 30 days, or never)"


#: the short name used in skip reasons ("over the weekly cap for low engaged")
TIER_NAMES = {Tier.HIGHLY_ENGAGED: "highly engaged", Tier.MODERATELY_ENGAGED: "moderately engaged",
              Tier.LOW_ENGAGED: "low engaged", Tier.RE_ENGAGEMENT: "re-engagement needed"}


class FrequencyCap(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="frequency_caps")
    tier = models.CharField(max_length=32, choices=Tier.choices)
    per_week = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name="at most per week",
        help_text="Flow and campaign emails in any 7 days (empty: no weekly cap; 0: none, only re-engagement "
                  "and sunset flows and order follow-ups).")
    per_month = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name="at most per month",
        help_text="Flow and campaign emails in any 30 days (empty: no monthly cap).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store", "tier"]
        verbose_name = "frequency cap by engagement"
        verbose_name_plural = "frequency caps by engagement"
        constraints = [models.UniqueConstraint(fields=["store", "tier"], name="frequencycap_store_tier_uniq")]

    def __str__(self) -> str:
        parts = [f"{n} per {unit}" for n, unit in ((self.per_week, "week"), (self.per_month, "month"))
                 if n is not None]
        return f"{TIER_NAMES.get(self.tier, self.tier)}: {', '.join(parts) or 'no cap'}"

    def clean(self) -> None:
        if self.per_week is None and self.per_month is None:
            raise ValidationError("set a weekly cap, a monthly cap, or both")
