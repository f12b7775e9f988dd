"""Flow models: a flow (trigger, filters, re-entry rule, exit goal), its ordered steps, the customers
enrolled in it and the decision log that answers "what happened to this customer in this flow?"."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from shopconnect.timeline.models import Customer, Event, Store

from .sending import EmailTemplate, MessageClass


class Flow(models.Model):
    class Trigger(models.TextChoices):
        EVENT = "event", "An event happens"
        SEGMENT_ENTERED = "segment_entered", "Customer enters a segment"
        SEGMENT_EXITED = "segment_exited", "Customer leaves a segment"
        DATE_PROPERTY = "date_property", "A date (birthday, first order anniversary)"

    class Reentry(models.TextChoices):
        ONCE = "once", "Once ever"
        PER_DAYS = "per_days", "Once per N days"
        EVERY_TIME = "every_time", "Every time"

    class Goal(models.TextChoices):
        NONE = "", "None"
        ORDER_FOR_TRIGGER = "order_for_trigger", "An order for the triggering checkout or cart"
        ANY_ORDER = "any_order", "Any order after the trigger"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=False)
    trigger = models.CharField(max_length=32, choices=Trigger.choices, default=Trigger.EVENT)
    trigger_event_type = models.CharField(max_length=64, blank=True, default="")
    trigger_filters = models.JSONField(
        default=list, blank=True,
        help_text='Property filters on the triggering event: [{"property": "source", "op": "eq", "value": "x"}]',
    )
    trigger_segment_id = models.BigIntegerField(null=True, blank=True)
    date_property = models.CharField(
        max_length=64, blank=True, default="",
        help_text='"first_order_at" (anniversary) or a customer property holding YYYY-MM-DD (birthday).',
    )
    flow_filters = models.JSONField(
        null=True, blank=True, help_text="A segment rule tree checked on entry and before every send."
    )
    reentry = models.CharField(max_length=16, choices=Reentry.choices, default=Reentry.ONCE)
    reentry_days = models.PositiveIntegerField(default=30)
    exit_goal = models.CharField(max_length=32, choices=Goal.choices, blank=True, default="")
    holdout_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0,
        help_text="Share of enrollments never sent to (recorded as holdout), for measuring the flow's lift.")
    relevance_hours = models.PositiveIntegerField(
        null=True, blank=True, verbose_name="relevance window (hours)",
        help_text="A triggering event older than this when it is recorded does not enrol (\"trigger too old\"), "
                  "so loading history never mails about the past. Empty: the default shown below. Raise it "
                  "before a backfill only if you want mail about older events.")
    prebuilt_key = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from campaigns.flows.triggers import validate_filters

        if self.trigger == self.Trigger.EVENT and not self.trigger_event_type:
            raise ValidationError({"trigger_event_type": "an event trigger needs an event type"})
        if self.trigger in (self.Trigger.SEGMENT_ENTERED, self.Trigger.SEGMENT_EXITED) and not self.trigger_segment_id:
            raise ValidationError({"trigger_segment_id": "a segment trigger needs a segment"})
        if self.trigger_segment_id:
            from segments.models import Segment

            # Only the flow's own store's segments; another store's id answers like a missing one.
            if not Segment.objects.filter(pk=self.trigger_segment_id, store_id=self.store_id).exists():
                raise ValidationError({"trigger_segment_id": f"no segment with id {self.trigger_segment_id}"})
        if self.trigger == self.Trigger.DATE_PROPERTY and not self.date_property:
            raise ValidationError({"date_property": "a date trigger needs a property"})
        validate_filters(self)
        if self.flow_filters:
            from segments.rules import validate

            validate(self.flow_filters, store=self.store)


class FlowStep(models.Model):
    """One step. Steps run in ``position`` order; splits and waits name the position to go to next
    in ``config`` (``"next"`` positions; a missing or ``null`` target ends the flow)."""

    class Kind(models.TextChoices):
        DELAY = "delay", "Delay"
        SEND_EMAIL = "send_email", "Send email"
        CONDITION = "condition", "Condition split"
        AB_SPLIT = "ab_split", "Random A/B split"
        WAIT_FOR_EVENT = "wait_for_event", "Wait for an event"
        UPDATE_CUSTOMER = "update_customer", "Update customer"
        EXIT = "exit", "Exit"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    name = models.CharField(max_length=200, blank=True, default="")
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    config = models.JSONField(default=dict, blank=True)
    message_class = models.CharField(
        max_length=16, choices=[c for c in MessageClass.choices if c[0] != MessageClass.CAMPAIGN],
        default=MessageClass.FLOW, verbose_name="email class",
        help_text="Send-email steps: order follow-ups are never held back by smart sending or frequency caps "
                  "(consent still applies); re-engagement and sunset emails are the only ones the "
                  "'re-engagement needed' tier gets when its cap is 0.")
    # An A/B split with a test period ("test_days"): the decision once the period is over.
    decided_variant = models.CharField(max_length=32, blank=True, default="")
    decision_reason = models.CharField(max_length=300, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["flow", "position"]
        constraints = [models.UniqueConstraint(fields=["flow", "position"], name="flowstep_position_uniq")]

    def __str__(self) -> str:
        return f"{self.position}. {self.name or self.get_kind_display()}"

    def clean(self) -> None:
        from campaigns.flows.steps import validate_step

        validate_step(self)


class Enrollment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        EXITED = "exited", "Exited"
        NOT_ENTERED = "not_entered", "Did not enter"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="enrollments")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="flow_enrollments")
    trigger_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # "once" for once-ever flows, else the trigger (event id, segment entry time...): unique per flow+customer.
    # A trigger that did not enter (too old, goal already reached) is kept as "skip:<trigger>".
    entry_key = models.CharField(max_length=100)
    checkout_ref = models.CharField(max_length=128, blank=True, default="", help_text="checkout_id / cart_token")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    position = models.PositiveIntegerField(default=0, help_text="The next step to run.")
    due_at = models.DateTimeField()
    waiting_since = models.DateTimeField(null=True, blank=True)
    variant = models.CharField(max_length=32, blank=True, default="")
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flow", "customer", "entry_key"], name="enrollment_entry_uniq"),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="enrollment_due_idx", condition=Q(status="active")),
            models.Index(fields=["customer", "status"], name="enrollment_customer_idx"),
        ]
        ordering = ["-entered_at", "-id"]

    def __str__(self) -> str:
        return f"{self.customer} in {self.flow}"


class FlowDecision(models.Model):
    """The log: one row per thing the engine decided for one enrollment."""

    class Kind(models.TextChoices):
        ENTERED = "entered", "Entered"
        NOT_ENTERED = "not_entered", "Did not enter"
        WAITED = "waited", "Waited"
        SENT = "sent", "Email queued"
        SKIPPED = "skipped", "Skipped"
        BRANCHED = "branched", "Branched"
        UPDATED = "updated", "Updated customer"
        EXITED = "exited", "Exited"
        COMPLETED = "completed", "Completed"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="decisions")
    step = models.ForeignKey(FlowStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    detail = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"
