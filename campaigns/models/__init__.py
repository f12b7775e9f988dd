"""Campaigns models: sending (provider, templates, outbox, suppression) and flows."""

from .campaigns import HOLDOUT, AttributedOrder, Campaign, CampaignVariant
from .copies import SentCopy
from .flows import Enrollment, Flow, FlowDecision, FlowStep
from .reports import MessageOutcome
from .sending import EmailPreference, EmailProvider, EmailTemplate, Message, SoftBounceStreak, Suppression

__all__ = [
    "HOLDOUT", "AttributedOrder", "Campaign", "CampaignVariant",
    "EmailPreference", "EmailProvider", "EmailTemplate", "Enrollment", "Flow", "FlowDecision", "FlowStep",
    "Message", "MessageOutcome", "SentCopy", "SoftBounceStreak", "Suppression",
]
