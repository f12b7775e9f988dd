"""Whitelists of the rule language: every field, operator, event type and event property a rule may name.

Names in a rule are looked up here and mapped to model fields chosen by us, so user text never becomes
part of an ORM lookup string. Event property names are passed to JSON key transforms as parameters.
"""

from __future__ import annotations

import re
from datetime import timedelta

from shopconnect.timeline import vocabulary as v

STR, NUM, DATE, CHOICE, TAGS = "string", "number", "datetime", "choice", "tags"

NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
STRING_OPS = ("eq", "neq", "in", "not_in", "is_set", "not_set")
DATE_OPS = ("before", "after", "within_last", "more_than_ago", "within_next", "is_set", "not_set")
TAG_OPS = ("has", "has_not")
PROPERTY_STRING_OPS = ("eq", "neq", "in", "not_in", "contains")
PROPERTY_NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte")
OPS_BY_KIND = {NUM: NUMBER_OPS, STR: STRING_OPS, CHOICE: STRING_OPS, DATE: DATE_OPS, TAGS: TAG_OPS}

#: rule field name -> (model field on Customer, kind)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "orders_count": ("orders_count", NUM),
    "total_spent": ("total_spent", NUM),
    "average_order_value": ("average_order_value", NUM),
    "emails_received": ("emails_received", NUM),
    "first_order_at": ("first_order_at", DATE),
    "last_order_at": ("last_order_at", DATE),
    "last_seen_at": ("last_seen_at", DATE),
    "last_opened_at": ("last_opened_at", DATE),
    "last_clicked_at": ("last_clicked_at", DATE),
    "created_at": ("created_at", DATE),
    "consent": ("email_consent", CHOICE),
    "country": ("country", STR),
    "device": ("device", CHOICE),
    "timezone": ("timezone", STR),
    "tags": ("tags", TAGS),
}
CHOICES = {
    "consent": ("subscribed", "not_subscribed", "unsubscribed", "pending"),
    "device": ("", "desktop", "mobile", "tablet"),
    "churn_band": ("low", "medium", "high"),
}

#: rule field name -> (model field on CustomerPrediction, kind)
PREDICTIONS: dict[str, tuple[str, str]] = {
    "churn_risk": ("churn_risk", NUM),
    "probability_alive": ("probability_alive", NUM),
    "predicted_clv": ("predicted_clv", NUM),
    "expected_next_order_at": ("expected_next_order_at", DATE),
    "churn_band": ("churn_band", CHOICE),
    "rfm_group": ("rfm_group", STR),
    "rfm_recency": ("rfm_recency", NUM),
    "rfm_frequency": ("rfm_frequency", NUM),
    "rfm_monetary": ("rfm_monetary", NUM),
}

#: numeric customer fields a percentile may rank by
PERCENTILE_FIELDS = ("total_spent", "orders_count", "average_order_value", "emails_received")

_EMAIL = {
    "message_id": STR,
    "campaign_id": STR,
    "flow_id": STR,
    "step_id": STR,
    "subject": STR,
    "variant": STR,
}
_ITEM = {"product_id": STR, "variant_id": STR, "title": STR, "category": STR, "price": NUM}
EVENT_PROPERTIES: dict[str, dict[str, str]] = {
    "page.viewed": {"url": STR, "title": STR, "referrer": STR, "duration_seconds": NUM},
    "product.viewed": {**_ITEM, "url": STR},
    "collection.viewed": {"collection_id": STR, "title": STR, "url": STR},
    "search.submitted": {"query": STR},
    "cart.updated": {**_ITEM, "cart_token": STR, "action": STR, "quantity": NUM, "total": NUM},
    "checkout.started": {"checkout_id": STR, "cart_token": STR, "total": NUM, "currency": STR},
    "checkout.updated": {"checkout_id": STR, "step": STR, "total": NUM},
    "order.placed": {
        "order_id": STR,
        "order_number": STR,
        "total": NUM,
        "subtotal": NUM,
        "currency": STR,
        "checkout_id": STR,
        "cart_token": STR,
    },
    "order.paid": {"order_id": STR, "total": NUM},
    "order.fulfilled": {"order_id": STR},
    "order.cancelled": {"order_id": STR, "reason": STR},
    "order.refunded": {"order_id": STR, "refund_id": STR, "amount": NUM},
    "email.sent": _EMAIL,
    "email.delivered": _EMAIL,
    "email.opened": _EMAIL,
    "email.clicked": {**_EMAIL, "url": STR},
    "email.bounced": {**_EMAIL, "bounce_type": STR, "reason": STR},
    "email.complained": _EMAIL,
    "email.unsubscribed": {**_EMAIL, "source": STR},
    "consent.changed": {"channel": STR, "state": STR, "source": STR},
}
CUSTOM_PROPERTY = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def is_event_type(name: str) -> bool:
    return v.is_valid_type(name)


def property_kind(event_type: str, name: str) -> str | None:
    """The kind of a filterable property of an event type, or None when it is not allowed."""
    if event_type.startswith("custom."):
        return STR if CUSTOM_PROPERTY.match(name) else None
    return EVENT_PROPERTIES.get(event_type, {}).get(name)


UNITS = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1)}
MAX_UNITS = {"minutes": 60 * 24 * 366 * 5, "hours": 24 * 366 * 5, "days": 366 * 5}

# Which event types can change which customer attribute (for the real-time path). "*" means any event:
# profile fields arrive on any event that carries a profile.
ANY = "*"
ATTRIBUTE_DEPENDS: dict[str, frozenset[str]] = {
    **{
        f: frozenset(v.ORDER_MONEY_TYPES)
        for f in ("orders_count", "total_spent", "average_order_value", "first_order_at", "last_order_at")
    },
    "emails_received": frozenset({v.EMAIL_SENT}),
    "last_opened_at": frozenset({v.EMAIL_OPENED}),
    "last_clicked_at": frozenset({v.EMAIL_CLICKED}),
    "last_seen_at": frozenset({ANY}),
    "consent": frozenset({v.CONSENT_CHANGED}),
}
