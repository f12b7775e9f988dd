"""The customer timeline: the core every other app reads.

Store (the tenant) -> Customer (one per person per store, with aggregates) -> Event (the timeline).
Anonymous storefront visitors are Visitors until they identify themselves. Only
``shopconnect.timeline.record.record_events`` writes Event rows and aggregates.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KeyTransform

from shopconnect.crypto import EncryptedTextField
from shopconnect.timeline.vocabulary import CART_OWNER_TYPES


def new_collect_key() -> str:
    return secrets.token_urlsafe(18)


class Platform(models.TextChoices):
    """Names of the built-in platforms, for code that must name one. The choices a store offers come from
    the configured adapters (``platform_choices``), so adding a platform needs no migration here."""

    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    CUSTOM = "custom", "Custom (API only)"


def platform_choices() -> list[tuple[str, str]]:
    """Every platform of ``settings.PLATFORM_ADAPTERS`` (with its adapter's label), then "custom"."""
    from django.utils.module_loading import import_string

    choices = [(name, getattr(import_string(path), "label", "") or name)
               for name, path in settings.PLATFORM_ADAPTERS.items()]
    return [*choices, (Platform.CUSTOM.value, Platform.CUSTOM.label)]


class Store(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        UNINSTALLED = "uninstalled", "Uninstalled"

    platform = models.CharField(max_length=32, choices=platform_choices)
    domain = models.CharField(
        max_length=255, help_text="shop.myshopify.com for Shopify; the site host for WooCommerce."
    )
    url = models.URLField(blank=True, help_text="The storefront's base URL.")
    name = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    timezone = models.CharField(max_length=64, default="UTC")
    address = models.CharField(max_length=300, blank=True, default="",
                               help_text="Postal address for email footers (anti-spam laws require one).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    # Secrets: encrypted at rest, write-only in the admin, never logged.
    access_token = EncryptedTextField(blank=True, default="")
    webhook_secret = EncryptedTextField(blank=True, default="")
    consumer_key = EncryptedTextField(blank=True, default="")
    consumer_secret = EncryptedTextField(blank=True, default="")
    collect_key = models.CharField(max_length=64, unique=True, default=new_collect_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="StoreMembership", related_name="stores", blank=True
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "domain"], name="store_platform_domain_uniq")]
        ordering = ["name", "id"]
        # Operators (shopconnect.tenancy): connect stores and decide where they live. Superusers have it.
        permissions = [("connect_store", "Can connect stores (operators)")]

    def __str__(self) -> str:
        return self.name or self.domain

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class StoreMembership(models.Model):
    """Who may see which store. Superusers see every store."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MARKETER = "marketer", "Marketer"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="store_memberships")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MARKETER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "store"], name="membership_user_store_uniq")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.store} ({self.role})"


class Consent(models.TextChoices):
    SUBSCRIBED = "subscribed", "Subscribed"
    NOT_SUBSCRIBED = "not_subscribed", "Not subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    PENDING = "pending", "Pending confirmation"


class Device(models.TextChoices):
    UNKNOWN = "", "Unknown"
    DESKTOP = "desktop", "Desktop"
    MOBILE = "mobile", "Mobile"
    TABLET = "tablet", "Tablet"


class Customer(models.Model):
    """One person in one store. Aggregates are maintained by ``record_events`` in the same transaction
    as the events, and always equal ``recompute_aggregates`` over the timeline."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="customers")
    email = models.CharField(max_length=254, null=True, blank=True, help_text="Normalized: trimmed, lowercase.")
    external_id = models.CharField(
        max_length=64, null=True, blank=True, help_text="The platform's customer id (Shopify/WooCommerce)."
    )
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    phone = models.CharField(max_length=40, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2")
    timezone = models.CharField(max_length=64, blank=True, default="")
    device = models.CharField(max_length=16, choices=Device.choices, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True, help_text="Custom attributes (birthday, ...).")
    email_consent = models.CharField(max_length=16, choices=Consent.choices, default=Consent.NOT_SUBSCRIBED)
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    attributes_updated_at = models.DateTimeField(
        null=True, blank=True, help_text="occurred_at of the newest profile applied: older updates are ignored."
    )
    created_at = models.DateTimeField(help_text="When the customer first appeared (platform time when known).")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Deleted on the platform.")
    claimed_only = models.BooleanField(
        default=False,
        help_text="Built only from storefront claims (an email or platform id typed on the site), nothing signed "
        "yet: further claims may add to it; the first signed event makes it a known customer.",
    )

    # Aggregates (derived from the timeline; see shopconnect.timeline.aggregates).
    orders_count = models.PositiveIntegerField(default=0)
    total_spent = models.DecimalField(max_digits=14, decimal_places=2, default=0, help_text="Net of refunds.")
    average_order_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_opened_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)
    emails_received = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "email"], condition=Q(email__isnull=False), name="customer_store_email_uniq"
            ),
            models.UniqueConstraint(
                fields=["store", "external_id"],
                condition=Q(external_id__isnull=False),
                name="customer_store_external_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "total_spent"], name="customer_store_spent_idx"),
            models.Index(fields=["store", "last_order_at"], name="customer_store_lastorder_idx"),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"customer {self.external_id or self.pk}"

    @property
    def can_receive_marketing(self) -> bool:
        return bool(self.email) and self.email_consent == Consent.SUBSCRIBED and self.deleted_at is None


class CustomerTag(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "tag"], name="customertag_uniq")]
        indexes = [models.Index(fields=["tag"], name="customertag_tag_idx")]

    def __str__(self) -> str:
        return self.tag


class Visitor(models.Model):
    """An anonymous storefront visitor (the script's client id), linked to a Customer once identified."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="visitors")
    client_id = models.CharField(max_length=64)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors")
    device = models.CharField(max_length=16, choices=Device.choices, blank=True, default="")
    first_seen_at = models.DateTimeField()
    identified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "client_id"], name="visitor_store_client_uniq")]

    def __str__(self) -> str:
        return f"visitor {self.client_id}"


class Event(models.Model):
    """One thing that happened, on one customer's (or visitor's) timeline. Append-only.

    ``type`` comes from ``shopconnect.timeline.vocabulary``. ``order_ref`` and ``amount`` are typed copies
    of the order id and money of order events, so that aggregates and reports stay in SQL.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="events", db_index=False)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    source = models.CharField(max_length=32)
    properties = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=255)
    order_ref = models.CharField(max_length=64, blank=True, default="")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # The customer's clock when it happened (their zone, else the store's): see timeline.localtime.
    local_hour = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0-23, local time")
    local_weekday = models.PositiveSmallIntegerField(null=True, blank=True, help_text="ISO: 1 Monday .. 7 Sunday")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "dedupe_key"], name="event_store_dedupe_uniq")]
        indexes = [
            # "this customer's events of type X since T" and the timeline (newest first)
            models.Index(fields=["customer", "type", "occurred_at"], name="event_customer_type_time_idx"),
            models.Index(fields=["customer", "occurred_at"], name="event_customer_time_idx"),
            # "all events of type X since T"
            models.Index(fields=["store", "type", "occurred_at"], name="event_store_type_time_idx"),
            # "events of type X on a weekend / between 12:00 and 14:00" (segments' time-of-day conditions)
            models.Index(fields=["store", "type", "local_weekday", "local_hour"], name="event_store_type_local_idx"),
            # partial indexes: most events are not order events and most have no anonymous visitor,
            # so these stay small and cheap to maintain on the hot insert path
            models.Index(fields=["store", "order_ref"], name="event_store_order_idx", condition=~Q(order_ref="")),
            models.Index(fields=["visitor"], name="event_visitor_idx", condition=Q(visitor__isnull=False)),
            # who owns an anonymous cart: the customer of a checkout or order with its token (the drain
            # asks for every cart update; without it each question walked the store's checkouts and orders)
            models.Index(F("store"), KeyTransform("cart_token", "properties"), name="event_cart_token_idx",
                         condition=Q(type__in=CART_OWNER_TYPES, customer__isnull=False)),
        ]
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Product(models.Model):
    """The store's catalog, for email content, recommendations, price-drop and back-in-stock."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=64)
    title = models.CharField(max_length=255)
    handle = models.CharField(max_length=255, blank=True, default="")
    url = models.URLField(max_length=500, blank=True, default="")
    image_url = models.URLField(max_length=500, blank=True, default="")
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    compare_at_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    inventory = models.IntegerField(null=True, blank=True)
    category = models.CharField(max_length=255, blank=True, default="", help_text="Product type or category.")
    collections = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, default="active")
    vendor = models.CharField(max_length=255, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, default="", help_text="The platform's HTML description, as sent.")
    published_at = models.DateTimeField(null=True, blank=True)
    variants = models.JSONField(default=list, blank=True, help_text="[{variant_id, title, sku, price}]")
    platform_updated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "external_id"], name="product_store_external_uniq")]
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
