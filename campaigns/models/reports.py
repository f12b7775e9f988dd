"""Report model: one row per sent message with when each engagement first happened.

``MessageOutcome`` is the rollup the reports aggregate, so that KPIs over a million messages are one
``GROUP BY`` over a narrow table instead of a scan of the JSON properties of every ``email.*`` event.
It is kept by ``campaigns.reports.outcomes`` from the ``email.*`` events as they are recorded (and can
be rebuilt from the timeline). The message's campaign, flow, step and variant are copied onto it.
"""

from __future__ import annotations

from django.db import models

from shopconnect.timeline.models import Customer, Store


class MessageOutcome(models.Model):
    message = models.OneToOneField("campaigns.Message", primary_key=True, on_delete=models.CASCADE,
                                   related_name="outcome")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    flow = models.ForeignKey("campaigns.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    step = models.ForeignKey("campaigns.FlowStep", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    variant = models.CharField(max_length=32, blank=True, default="")
    ab_test = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True, help_text="First open, machine opens included.")
    human_opened_at = models.DateTimeField(null=True, blank=True, help_text="First open not from a proxy.")
    clicked_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "sent_at"], name="outcome_store_sent_idx"),
            models.Index(fields=["campaign", "sent_at"], name="outcome_campaign_idx"),
            models.Index(fields=["flow", "sent_at"], name="outcome_flow_idx"),
            models.Index(fields=["customer"], name="outcome_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"outcome of message {self.message_id}"
