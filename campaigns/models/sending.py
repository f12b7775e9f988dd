"""Sending models: the store's email provider, templates, the outbox and the suppression list.

The outbox (``Message``) is shared by flows and campaigns: every email is first a row with a unique
idempotency key, and only ``campaigns.sender`` moves rows from ``queued`` to ``sent``.
"""

from __future__ import annotations

import json
import re
import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from shopconnect.crypto import EncryptedTextField
from shopconnect.timeline.models import Customer, Event, Store


class EmailProvider(models.Model):
    """How one store sends: a Django email backend, its credentials (encrypted) and sending policy."""

    class Kind(models.TextChoices):
        CONSOLE = "console", "Console (development)"
        FILE = "file", "Files (development)"
        LOCMEM = "locmem", "In memory (tests)"
        SMTP = "smtp", "SMTP"
        SENDGRID = "sendgrid", "SendGrid"
        POSTMARK = "postmark", "Postmark"
        MAILGUN = "mailgun", "Mailgun"
        AMAZON_SES = "amazon_ses", "Amazon SES"
        BREVO = "brevo", "Brevo"
        RESEND = "resend", "Resend"
        MAILJET = "mailjet", "Mailjet"
        SPARKPOST = "sparkpost", "SparkPost"

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="email_provider")
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.CONSOLE)
    from_email = models.EmailField(help_text="The sender address; its domain must be verified at the provider.")
    from_name = models.CharField(max_length=120, blank=True, default="")
    reply_to = models.EmailField(blank=True, default="")
    # JSON object of backend keyword arguments (api_key, host, port, username, password, use_tls, ...).
    credentials = EncryptedTextField(blank=True, default="", help_text="JSON object, encrypted at rest.")
    rate_limit_per_minute = models.PositiveIntegerField(default=600, help_text="0 means unlimited.")
    smart_sending_hours = models.PositiveIntegerField(
        default=16, help_text="Skip marketing mail to a customer who got one in the last N hours (0: off)."
    )
    quiet_hours_start = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Hour (0-23, customer's time zone) when quiet hours start."
    )
    quiet_hours_end = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Hour when they end.")
    click_window_days = models.PositiveSmallIntegerField(
        default=5, help_text="Attribution: an order is credited to the last email clicked within this many days.")
    open_window_days = models.PositiveSmallIntegerField(
        default=5, help_text="Attribution: else to the last email opened within this many days (0: opens never).")
    exclude_machine_opens = models.BooleanField(
        default=True, help_text="Ignore opens that look like privacy-proxy prefetches in attribution and reports.")

    class InDoubt(models.TextChoices):
        """What to do with a message whose worker stopped while the provider had it (``campaigns.sender``)."""

        KEEP = "keep", "Do not resend: wait for someone to decide (no one gets it twice)"
        NON_MARKETING = "non_marketing", "Resend non-marketing mail only (signup confirmations)"
        RESEND = "resend", "Resend everything (a customer may get it twice)"

    in_doubt = models.CharField(
        "messages in doubt", max_length=16, choices=InDoubt.choices, default=InDoubt.NON_MARKETING,
        help_text="A sending worker stopped while the provider had the message, and the provider cannot tell "
                  "us whether it went out. Providers that take our idempotency key (Resend, Brevo) are always "
                  "asked again safely; for the others this decides.")
    # The provider's last failure that was not about one message (down, refused the credentials, library
    # missing): shown to the store's owner until a send goes through again.
    problem = models.CharField(max_length=300, blank=True, default="", editable=False)
    problem_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.store}"

    def credential_dict(self) -> dict:
        if not self.credentials:
            return {}
        data = json.loads(self.credentials)
        if not isinstance(data, dict):
            raise ValidationError({"credentials": "must be a JSON object"})
        return data

    def clean(self) -> None:
        from campaigns.providers import ProviderNotConfigured, check_credentials  # (providers imports models)

        try:
            credentials = self.credential_dict()
        except ValueError as exc:
            raise ValidationError({"credentials": f"not valid JSON: {exc}"}) from exc
        try:  # the hosts the credentials name are public addresses; the file kind only with DEBUG
            check_credentials(self.kind, credentials)
        except ProviderNotConfigured as exc:
            raise ValidationError({"kind" if self.kind == self.Kind.FILE else "credentials": str(exc)}) from None
        for name in ("quiet_hours_start", "quiet_hours_end"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 23:
                raise ValidationError({name: "an hour from 0 to 23"})
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValidationError("set both quiet hours or neither")

    @property
    def from_header(self) -> str:
        from email.utils import formataddr

        return formataddr((self.from_name, self.from_email)) if self.from_name else self.from_email


class EmailTemplate(models.Model):
    """Subject, HTML and text in Django's template language (autoescaped HTML)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="email_templates")
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=300)
    html = models.TextField(help_text="Django template language; variables are escaped.")
    text = models.TextField(blank=True, default="", help_text="Generated from the HTML when empty.")
    discount_code = models.CharField(
        max_length=64, blank=True, default="", verbose_name="shared discount code",
        help_text="One code for everyone ({{ discount_code }}), for example COMEBACK10. Ignored when each "
                  "recipient gets a unique code.")
    # A unique code per recipient and message, created on the store's platform at send time (campaigns.coupons).
    unique_code = models.BooleanField(
        default=False, verbose_name="give each recipient a unique code",
        help_text="Created on your Shopify or WooCommerce store when the email is sent, one per recipient; "
                  "{{ discount_code }} shows it. A code that cannot be created holds the email back (retried).")
    code_discount_type = models.CharField(
        max_length=16, choices=[("percentage", "Percentage off"), ("fixed_amount", "Fixed amount off")],
        default="percentage", blank=True, verbose_name="discount type")
    code_value = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, verbose_name="discount value",
        help_text="10 means 10 % off, or 10.00 off in the store's currency.")
    code_valid_days = models.PositiveSmallIntegerField(
        default=14, null=True, blank=True, verbose_name="code valid for (days)",
        help_text="From the moment the email is sent; empty: no expiry.")
    code_minimum_order = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, verbose_name="minimum order",
        help_text="The order subtotal the code needs; empty: none.")
    code_once_per_customer = models.BooleanField(
        default=True, verbose_name="one use per customer", help_text="The code works for one order only.")
    code_prefix = models.CharField(
        max_length=20, blank=True, default="", verbose_name="code prefix",
        help_text="Letters and digits the code starts with, for example THANKS (THANKS-7KQ2M9XD).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from campaigns.rendering import TemplateProblem, check_template

        try:
            check_template(self.subject, self.html, self.text)
        except TemplateProblem as exc:
            raise ValidationError({exc.part: str(exc)}) from exc
        self.code_discount_type = self.code_discount_type or "percentage"
        self.code_prefix = (self.code_prefix or "").strip().upper()
        if self.code_prefix and not re.fullmatch(r"[A-Z0-9]{1,20}", self.code_prefix):
            raise ValidationError({"code_prefix": "only letters A-Z and digits"})
        if self.unique_code:
            if self.code_value is None or self.code_value <= 0:
                raise ValidationError({"code_value": "a unique code needs a discount value above 0"})
            if self.code_discount_type == "percentage" and self.code_value > 100:
                raise ValidationError({"code_value": "a percentage is at most 100"})
            if self.code_minimum_order is not None and self.code_minimum_order < 0:
                raise ValidationError({"code_minimum_order": "a minimum order cannot be negative"})


class MessageClass(models.TextChoices):
    """What kind of email a message is; decides its precedence at send time (``campaigns.policy``)."""

    ORDER_FOLLOWUP = "order_followup", "Order follow-up (thank-you, shipping, review request)"
    FLOW = "flow", "Flow email (triggered by behaviour)"
    RE_ENGAGEMENT = "re_engagement", "Re-engagement or sunset"
    CAMPAIGN = "campaign", "Campaign (broadcast)"


def new_reference() -> str:
    """The unguessable reference a message carries to its provider (anymail metadata ``sc_ref``), by
    which a provider's tracking event finds it; never the row's sequential id."""
    return secrets.token_urlsafe(18)


class Message(models.Model):
    """One email in the outbox. ``idempotency_key`` is unique: a retry or a crashed worker cannot
    create or send a second copy. States: queued -> sending -> sent | failed | unknown (the worker stopped
    while the provider had it: in doubt, see ``campaigns.sender``); or skipped (with reason)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        UNKNOWN = "unknown", "In doubt"  # the worker stopped while the provider had it (see the note)

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="messages")
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    flow = models.ForeignKey("campaigns.Flow", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="messages")
    step = models.ForeignKey("campaigns.FlowStep", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="messages")
    enrollment = models.ForeignKey("campaigns.Enrollment", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="messages")
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="messages")
    trigger_event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    variant = models.CharField(max_length=32, blank=True, default="",
                               help_text='A/B label, or "holdout" for a holdout member (skipped, never sent).')
    ab_test = models.BooleanField(default=False, help_text="Sent to the A/B test share (not the winner's rest).")
    marketing = models.BooleanField(default=True, help_text="Marketing mail needs consent and unsubscribe headers.")
    idempotency_key = models.CharField(max_length=255, unique=True)
    message_class = models.CharField(max_length=16, choices=MessageClass.choices, default=MessageClass.FLOW)
    # "cart:<cart token>:reminder-1": what the message is about and for what; unique per store, so two
    # flows never send the same kind of message about the same checkout, cart or product.
    intent_key = models.CharField(max_length=255, blank=True, default="")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    skip_reason = models.CharField(max_length=200, blank=True, default="")
    note = models.CharField(max_length=300, blank=True, default="", help_text="Last deferral or error.")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claim_token = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set (committed) just before the row is handed to the provider: a row of a dead worker without it
    # was never handed over, so it can be sent again; with it, it is in doubt.
    send_started_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    reference = models.CharField(max_length=32, default=new_reference, editable=False, db_index=True,
                                 help_text="Random token sent with the email; provider events find it by this.")
    sent_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True, default="")
    links = models.JSONField(default=list, blank=True, help_text="Tracked link targets, by index.")
    context = models.JSONField(default=dict, blank=True, help_text="Extra template context (discount code...).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="message_due_idx"),
            models.Index(fields=["customer", "state", "sent_at"], name="message_customer_sent_idx"),
            models.Index(fields=["claim_token"], name="message_claim_idx", condition=~Q(claim_token="")),
        ]
        constraints = [models.UniqueConstraint(fields=["store", "intent_key"], condition=~Q(intent_key=""),
                                               name="message_intent_uniq")]
        ordering = ["-id"]

    def __str__(self) -> str:
        what = f"“{self.subject}”" if self.subject else "message"
        return f"{what} (message {self.pk}, {self.state})"


class Suppression(models.Model):
    """Addresses that never get marketing mail from this store, and why."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
        COMPLAINT = "complaint", "Spam complaint"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        MANUAL = "manual", "Added by hand"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="suppressions")
    email = models.CharField(max_length=254, help_text="Normalized (lowercase).")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "email"], name="suppression_store_email_uniq")]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class SoftBounceStreak(models.Model):
    """Soft bounces in a row for one address; reset by a delivery. Over 7 suppresses."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "email"], name="softbounce_store_email_uniq")]

    def __str__(self) -> str:
        return f"{self.email}: {self.count} soft bounces in a row"


class EmailPreference(models.Model):
    """A customer's frequency choice from the preference page ("fewer emails")."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="email_preference")
    fewer_emails = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    # Customers who asked for fewer emails get at most one marketing email per this many hours.
    FEWER_HOURS = 24 * 7

    def __str__(self) -> str:
        return f"{self.customer_id}: {'fewer emails' if self.fewer_emails else 'normal'}"
