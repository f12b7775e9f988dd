"""Signup forms: what a marketer designs, what visitors submit, and how the forms perform.

- ``SignupSettings`` (one per store): single or double opt-in, the confirmation email's template, and the
  WooCommerce checkout opt-in checkbox the storefront script adds.
- ``SignupForm``: an embedded form or a popup (fields, wording, colours, when the popup appears).
- ``Submission``: one visitor's signup as received, with the evidence the consent ledger records (page,
  time, IP address, the wording shown), until it is processed and, with double opt-in, confirmed.
- ``FormDay``: views, submissions and confirmations per form and day (conversion rate = submissions / views).
- ``StockRequest``: "email me when it is back" for one sold-out product variant (``stock``), kept with its
  submission (the consent evidence) until the product webhook says it can be bought again.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models

from shopconnect.timeline.models import Customer, Store

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def validate_colour(value: str) -> None:
    if not COLOUR.match(value or ""):
        raise ValidationError("a colour such as #1f6feb")


class SignupSettings(models.Model):
    class OptIn(models.TextChoices):
        SINGLE = "single", "Single opt-in: subscribed when the form is sent"
        DOUBLE = "double", "Double opt-in: subscribed when the link in a confirmation email is followed"

    store = models.OneToOneField(Store, on_delete=models.CASCADE, related_name="signup_settings")
    opt_in = models.CharField(
        max_length=8, choices=OptIn.choices, default=OptIn.DOUBLE,
        help_text="Someone the store already knows always confirms by email, whatever this says.")
    confirmation_template = models.ForeignKey(
        "campaigns.EmailTemplate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The confirmation email (its {{ confirm_url }} is the link); created when first needed.")
    checkout_optin = models.BooleanField(
        default=False, help_text="WooCommerce: the storefront script adds an opt-in checkbox to the checkout.")
    checkout_optin_label = models.CharField(
        max_length=300, default="Email me news and offers. I can unsubscribe at any time.",
        help_text="The checkbox's wording (recorded as the evidence of consent).")

    class Meta:
        verbose_name = "signup settings"
        verbose_name_plural = "signup settings"

    def __str__(self) -> str:
        return f"signup settings of {self.store}"

    def clean(self) -> None:
        template = self.confirmation_template
        if template is not None and self.store_id and template.store_id != self.store_id:
            raise ValidationError({"confirmation_template": "Choose one of this store's templates."})


class SignupForm(models.Model):
    class Kind(models.TextChoices):
        POPUP = "popup", "Popup"
        EMBEDDED = "embedded", "Embedded (placed in the page)"

    FIELD_CHOICES = (("first_name", "First name"), ("last_name", "Last name"))

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="signup_forms")
    name = models.CharField(max_length=120, help_text="For you; visitors never see it.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.POPUP)
    enabled = models.BooleanField(default=False, help_text="Shown on the storefront.")
    headline = models.CharField(max_length=120, default="Get 10% off your first order")
    body = models.CharField(max_length=400, blank=True, default="Join our list for new arrivals and offers.")
    fields = models.JSONField(default=list, blank=True, help_text="Extra fields besides email.")
    email_placeholder = models.CharField(max_length=80, default="Your email address")
    button_label = models.CharField(max_length=60, default="Subscribe")
    consent_text = models.CharField(
        max_length=400, default="I agree to receive marketing emails. I can unsubscribe at any time.",
        help_text="Shown under the button; recorded with every signup as the wording the visitor agreed to.")
    success_text = models.CharField(max_length=300, default="Thanks! Check your inbox to confirm.")
    background_colour = models.CharField(max_length=7, default="#ffffff", validators=[validate_colour])
    text_colour = models.CharField(max_length=7, default="#1f2328", validators=[validate_colour])
    button_colour = models.CharField(max_length=7, default="#1f6feb", validators=[validate_colour])
    button_text_colour = models.CharField(max_length=7, default="#ffffff", validators=[validate_colour])
    delay_seconds = models.PositiveIntegerField(
        null=True, blank=True, default=5,
        help_text="Popup: show after this many seconds on a page (empty: not by time).")
    scroll_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Popup: show once the visitor scrolled this far down the page (1-100).")
    exit_intent = models.BooleanField(
        default=False, help_text="Popup: show when the pointer leaves the page towards the tabs or address bar.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        allowed = {key for key, _ in self.FIELD_CHOICES}
        if not isinstance(self.fields, list) or not set(self.fields) <= allowed:
            raise ValidationError({"fields": f"choose among {', '.join(sorted(allowed))}"})
        if self.scroll_percent is not None and not 1 <= self.scroll_percent <= 100:
            raise ValidationError({"scroll_percent": "a percentage from 1 to 100"})
        if self.kind == self.Kind.POPUP and self.delay_seconds is None and not self.scroll_percent \
                and not self.exit_intent:
            raise ValidationError("A popup needs at least one of: a delay, a scroll depth, exit intent.")

    def storefront_config(self) -> dict:
        """What the storefront script renders (texts are shown as text, never as HTML)."""
        return {
            "id": self.pk, "kind": self.kind, "headline": self.headline, "body": self.body,
            "fields": [key for key, _ in self.FIELD_CHOICES if key in (self.fields or [])],
            "labels": dict(self.FIELD_CHOICES), "email_placeholder": self.email_placeholder,
            "button": self.button_label, "consent": self.consent_text, "success": self.success_text,
            "colours": {"background": self.background_colour, "text": self.text_colour,
                        "button": self.button_colour, "button_text": self.button_text_colour},
            "trigger": {"delay": self.delay_seconds, "scroll": self.scroll_percent, "exit": self.exit_intent},
        }


class Submission(models.Model):
    class Kind(models.TextChoices):
        FORM = "form", "Signup form"
        CHECKOUT = "checkout", "Checkout checkbox"
        BACK_IN_STOCK = "back_in_stock", "Back-in-stock request"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        AWAITING = "awaiting", "Confirmation email sent"
        THROTTLED = "throttled", "Not sent again (a confirmation went to this address recently)"
        SUBSCRIBED = "subscribed", "Subscribed"
        ALREADY = "already", "Already subscribed"
        FAILED = "failed", "Failed"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="signup_submissions")
    form = models.ForeignKey(SignupForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FORM)
    email = models.CharField(max_length=254)
    fields = models.JSONField(default=dict, blank=True, help_text="The other fields, as typed (checked).")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="signup_submissions")
    new_profile = models.BooleanField(default=False, help_text="The signup created the customer's profile.")
    client_id = models.CharField(max_length=64, blank=True, default="")
    page_url = models.CharField(max_length=2048, blank=True, default="")
    ip = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=512, blank=True, default="")
    wording = models.CharField(max_length=800, blank=True, default="", help_text="What the visitor was shown.")
    opt_in = models.CharField(max_length=8, blank=True, default="")
    submitted_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirm_ip = models.CharField(max_length=64, blank=True, default="")
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["store", "email", "submitted_at"], name="signup_sub_email_idx")]

    def __str__(self) -> str:
        return f"signup {self.pk} ({self.get_status_display()})"


class FormDay(models.Model):
    form = models.ForeignKey(SignupForm, on_delete=models.CASCADE, related_name="days")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)
    submissions = models.PositiveIntegerField(default=0)
    confirmations = models.PositiveIntegerField(default=0)
    blocked = models.PositiveIntegerField(default=0, help_text="Submissions refused as bots (honeypot, too fast).")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["form", "day"], name="signup_formday_uniq")]

    def __str__(self) -> str:
        return f"{self.form_id} on {self.day}"


class StockRequest(models.Model):
    """One person's request to hear when a sold-out variant (``variant_id`` "" for the product itself) can be
    bought again. One open request per address and variant; ``notified_at`` is set when the product webhook
    said it is back and a ``product.back_in_stock`` event went on their timeline."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="stock_requests")
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="stock_request")
    email = models.CharField(max_length=254)
    product_id = models.CharField(max_length=64, help_text="The platform's product id (the catalog's).")
    variant_id = models.CharField(max_length=64, blank=True, default="")
    variant_title = models.CharField(max_length=255, blank=True, default="")
    requested_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "back-in-stock request"
        constraints = [models.UniqueConstraint(
            fields=["store", "email", "product_id", "variant_id"], condition=models.Q(notified_at__isnull=True),
            name="stockrequest_open_uniq")]
        indexes = [models.Index(fields=["store", "product_id"], name="stockrequest_product_idx",
                                condition=models.Q(notified_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.email} waits for {self.product_id}/{self.variant_id or '-'}"
