"""Campaigns models: sending (provider, templates, outbox, suppression) and flows."""

from .campaigns import HOLDOUT, AttributedOrder, Campaign, CampaignVariant
from .copies import SentCopy
from .coupons import UniqueCode
from .flows import Enrollment, Flow, FlowDecision, FlowStep
from .frequency import TIER_NAMES, FrequencyCap, Tier
from .reports import MessageOutcome
from .sending import EmailPreference, EmailProvider, EmailTemplate, Message, MessageClass, SoftBounceStreak, Suppression

__all__ = [
    "HOLDOUT", "AttributedOrder", "Campaign", "CampaignVariant",
    "EmailPreference", "EmailProvider", "EmailTemplate", "Enrollment", "Flow", "FlowDecision", "FlowStep",
    "FrequencyCap", "Message", "MessageClass", "MessageOutcome", "SentCopy", "SoftBounceStreak", "Suppression",
    "TIER_NAMES", "Tier", "UniqueCode",
]
