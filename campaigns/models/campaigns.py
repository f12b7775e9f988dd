"""Campaign models: a one-off send to segments, its A/B variants, and the attribution of orders to email.

Who got what is recorded in the outbox (``Message``), one row per audience member:

- a recipient of the A/B test share: ``variant`` = its label, ``ab_test`` = True;
- a recipient of the winner (or of a campaign without a test): ``variant`` = the label sent, ``ab_test`` False;
- a holdout member: ``variant`` = ``HOLDOUT``, state ``skipped`` with reason ``holdout`` (never sent).

So reports read campaign, variant and holdout numbers from one table, the same way for flows.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from shopconnect.timeline.models import Customer, Event, Store

from .sending import EmailTemplate

HOLDOUT = "holdout"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        TESTING = "testing", "A/B test running"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"

    class SendMode(models.TextChoices):
        NOW = "now", "Now"
        AT = "at", "At a time"
        BEST_HOUR = "best_hour", "At each recipient's best hour"

    class Metric(models.TextChoices):
        OPEN_RATE = "open_rate", "Unique open rate"
        CLICK_RATE = "click_rate", "Click rate"
        ORDER_RATE = "order_rate", "Placed order rate"
        REVENUE_PER_RECIPIENT = "revenue_per_recipient", "Revenue per recipient"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    template = models.ForeignKey(EmailTemplate, on_delete=models.PROTECT, related_name="campaigns",
                                 help_text="The email; A/B variants may override subject, content or sender.")
    include_segments = models.ManyToManyField("segments.Segment", related_name="included_in_campaigns",
                                              help_text="Members of any of these segments.")
    exclude_segments = models.ManyToManyField("segments.Segment", related_name="excluded_from_campaigns",
                                              blank=True, help_text="Minus members of any of these.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    send_mode = models.CharField(max_length=16, choices=SendMode.choices, default=SendMode.NOW)
    send_at = models.DateTimeField(null=True, blank=True, help_text="For 'at a time' (and the day of best hour).")
    holdout_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0,
                                          help_text="Share of the audience never sent to, for measuring lift.")
    test_percent = models.DecimalField(max_digits=5, decimal_places=2, default=20,
                                       help_text="Share of the audience in the A/B test (with 2+ variants).")
    winning_metric = models.CharField(max_length=32, choices=Metric.choices, default=Metric.OPEN_RATE)
    test_hours = models.PositiveIntegerField(default=4, help_text="The longest the test runs before a winner.")
    win_probability = models.DecimalField(max_digits=4, decimal_places=3, default=0.9,
                                          help_text="Pick a winner early when its win probability reaches this.")
    min_sample = models.PositiveIntegerField(default=100, help_text="Recipients per variant before an early win.")
    paused_from = models.CharField(max_length=16, blank=True, default="",
                                   help_text="While paused: the status to resume to.")
    winner = models.CharField(max_length=32, blank=True, default="")
    winner_reason = models.CharField(max_length=300, blank=True, default="")
    audience_size = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    test_ends_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.send_mode == self.SendMode.AT and not self.send_at:
            raise ValidationError({"send_at": "a scheduled campaign needs a time"})
        for name in ("holdout_percent", "test_percent"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 90:
                raise ValidationError({name: "a percentage from 0 to 90"})
        if self.win_probability is not None and not 0.5 <= self.win_probability < 1:
            raise ValidationError({"win_probability": "a probability from 0.5 to just under 1"})


class CampaignVariant(models.Model):
    """One arm of an A/B test. Empty fields fall back to the campaign's template and sender."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=32, help_text="A, B, C...")
    subject = models.CharField(max_length=300, blank=True, default="")
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    from_name = models.CharField(max_length=120, blank=True, default="")
    send_hour = models.PositiveSmallIntegerField(null=True, blank=True,
                                                 help_text="Send-time test: hour (0-23) in the recipient's zone.")
    is_default = models.BooleanField(
        default=False, verbose_name="default",
        help_text="Sent to the rest when the test cannot tell the variants apart (else the first variant).")

    class Meta:
        ordering = ["campaign", "label"]
        constraints = [models.UniqueConstraint(fields=["campaign", "label"], name="campaignvariant_label_uniq")]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.label}"

    def clean(self) -> None:
        if self.label == HOLDOUT:
            raise ValidationError({"label": f"'{HOLDOUT}' is reserved"})
        if self.send_hour is not None and not 0 <= self.send_hour <= 23:
            raise ValidationError({"send_hour": "an hour from 0 to 23"})


class AttributedOrder(models.Model):
    """An order credited to the email that earned it: the last click within the store's click window
    before the order, else the last open within the open window. ``refunded`` nets out refunds."""

    class Touch(models.TextChoices):
        CLICK = "click", "Click"
        OPEN = "open", "Open"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    order_event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="attribution")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    order_id = models.CharField(max_length=64)
    ordered_at = models.DateTimeField()
    revenue = models.DecimalField(max_digits=14, decimal_places=2)
    refunded = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    message = models.ForeignKey("campaigns.Message", null=True, on_delete=models.SET_NULL, related_name="+")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flow = models.ForeignKey("campaigns.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    step = models.ForeignKey("campaigns.FlowStep", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    variant = models.CharField(max_length=32, blank=True, default="")
    touch = models.CharField(max_length=8, choices=Touch.choices)
    touched_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["store", "ordered_at"], name="attributed_store_time_idx"),
            models.Index(fields=["campaign", "variant"], name="attributed_campaign_idx"),
            models.Index(fields=["flow", "step"], name="attributed_flow_idx"),
            models.Index(fields=["store", "order_id"], name="attributed_order_idx"),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} <- message {self.message_id} ({self.touch})"
