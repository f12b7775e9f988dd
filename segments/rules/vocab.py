"""Whitelists of the rule language: every field, operator, event type and event property a rule may name.

Event types and their properties come from the one canonical vocabulary
(``shopconnect.timeline.vocabulary``): a rule may filter on a type's string and number properties. This
module adds what is the rule language's own: customer attributes and prediction fields (mapped to model
fields chosen by us, so user text never becomes part of an ORM lookup string), operators per kind, units,
and readable labels. ``segments.rules.publish`` turns all of it into the document the admin's builder reads.
Event property names are passed to JSON key transforms as parameters.
"""

from __future__ import annotations

from datetime import timedelta

from segments.predictions.names import CHURN_BANDS, GROUPS
from shopconnect.timeline import vocabulary as v

STR, NUM, DATE, CHOICE, TAGS = "string", "number", "datetime", "choice", "tags"
assert (STR, NUM) == (v.STRING, v.NUMBER)  # property kinds are the vocabulary's types

NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
STRING_OPS = ("eq", "neq", "in", "not_in", "is_set", "not_set")
DATE_OPS = ("before", "after", "within_last", "more_than_ago", "within_next", "is_set", "not_set")
TAG_OPS = ("has", "has_not")
PROPERTY_STRING_OPS = ("eq", "neq", "in", "not_in", "contains")
PROPERTY_NUMBER_OPS = ("eq", "neq", "gt", "gte", "lt", "lte")
OPS_BY_KIND = {NUM: NUMBER_OPS, STR: STRING_OPS, CHOICE: STRING_OPS, DATE: DATE_OPS, TAGS: TAG_OPS}
PROPERTY_OPS = {NUM: PROPERTY_NUMBER_OPS, STR: PROPERTY_STRING_OPS}
COUNT_OPS = ("gte", "gt", "eq", "lte", "lt", "between")

#: rule field name -> (model field on Customer, kind, label)
ATTRIBUTES: dict[str, tuple[str, str, str]] = {
    "orders_count": ("orders_count", NUM, "Number of orders"),
    "total_spent": ("total_spent", NUM, "Total spent (net of refunds)"),
    "average_order_value": ("average_order_value", NUM, "Average order value"),
    "emails_received": ("emails_received", NUM, "Emails received"),
    "first_order_at": ("first_order_at", DATE, "First order"),
    "last_order_at": ("last_order_at", DATE, "Last order"),
    "last_seen_at": ("last_seen_at", DATE, "Last seen on the store"),
    "last_opened_at": ("last_opened_at", DATE, "Last opened an email"),
    "last_clicked_at": ("last_clicked_at", DATE, "Last clicked an email"),
    "created_at": ("created_at", DATE, "Became a customer"),
    "consent": ("email_consent", CHOICE, "Email consent"),
    "country": ("country", STR, "Country (two-letter code)"),
    "device": ("device", CHOICE, "Device"),
    "timezone": ("timezone", STR, "Time zone"),
    "tags": ("tags", TAGS, "Tags"),
}
CHOICES = {
    "consent": v.CONSENT_STATES,
    "device": ("", "desktop", "mobile", "tablet"),
    "churn_band": CHURN_BANDS,
    "rfm_group": GROUPS,
}

#: rule field name -> (model field on CustomerPrediction, kind, label)
PREDICTIONS: dict[str, tuple[str, str, str]] = {
    "churn_risk": ("churn_risk", NUM, "Churn risk (0 to 1)"),
    "churn_band": ("churn_band", CHOICE, "Churn risk band"),
    "probability_alive": ("probability_alive", NUM, "Probability still active (0 to 1)"),
    "predicted_clv": ("predicted_clv", NUM, "Predicted lifetime value"),
    "expected_next_order_at": ("expected_next_order_at", DATE, "Expected next order"),
    "rfm_group": ("rfm_group", CHOICE, "RFM group"),
    "rfm_recency": ("rfm_recency", NUM, "RFM recency score (1-5)"),
    "rfm_frequency": ("rfm_frequency", NUM, "RFM frequency score (1-5)"),
    "rfm_monetary": ("rfm_monetary", NUM, "RFM monetary score (1-5)"),
}

#: numeric customer fields a percentile may rank by
PERCENTILE_FIELDS = ("total_spent", "orders_count", "average_order_value", "emails_received")


def is_event_type(name: str) -> bool:
    return v.is_valid_type(name)


def property_kind(event_type: str, name: str) -> str | None:
    """The kind of a filterable property of an event type, or None when it is not allowed."""
    found = v.prop(event_type, name)
    return found.type if found is not None and found.filterable else None


def filterable_properties(event_type: str) -> list[str]:
    """The property names a rule may use for ``event_type`` (for error messages and the builder)."""
    known = v.BY_NAME.get(event_type)
    if known is None:
        return []
    return [name for name, p in known.properties.items() if p.filterable]


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
