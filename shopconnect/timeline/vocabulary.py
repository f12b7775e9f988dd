"""The canonical event vocabulary: the only event types the timeline accepts.

Every adapter maps platform topics onto these. Properties listed per type are the conventional keys;
adapters may add more. Money is a decimal string in ``properties`` and, for order events, also the typed
``amount`` column of the Event (with ``order_ref`` holding the order id) so aggregates stay in SQL.
"""

from __future__ import annotations

import re

EVENT_TYPES: dict[str, str] = {
    # customers and consent
    "customer.created": "profile fields in the event's profile",
    "customer.updated": "profile fields in the event's profile",
    "customer.deleted": "the platform deleted the customer",
    "consent.changed": "channel ('email'), state (subscribed|not_subscribed|unsubscribed|pending), source",
    # storefront behaviour
    "page.viewed": "url, title, referrer, duration_seconds",
    "product.viewed": "product_id, variant_id, title, price, category, url, image_url",
    "collection.viewed": "collection_id, title, url",
    "search.submitted": "query",
    "cart.updated": "cart_token, action (added|removed|viewed), product_id, variant_id, title, quantity, price, "
    "line_items, total",
    "checkout.started": "checkout_id, cart_token, total, currency, line_items, recovery_url",
    "checkout.updated": "checkout_id, step (contact|shipping|payment), total, line_items, recovery_url",
    # orders (order_ref = order id; amount = total / refunded amount)
    "order.placed": "order_id, order_number, total, subtotal, currency, line_items [{product_id, variant_id, "
    "title, quantity, price, category}], discount_codes, checkout_id, cart_token",
    "order.paid": "order_id, total",
    "order.fulfilled": "order_id",
    "order.cancelled": "order_id, reason",
    "order.refunded": "order_id, refund_id, amount, line_items",
    # email (written by the sending pipeline and provider tracking). Every email.* event carries
    # message_id (the outbox row id, as a string) and, where they apply, campaign_id, flow_id, step_id
    # (integers) and variant (the A/B variant label), so reports and attribution stay in SQL.
    "email.sent": "message_id, campaign_id | flow_id, step_id, subject",
    "email.delivered": "message_id",
    "email.opened": "message_id, machine (true when it looks like a privacy-proxy prefetch)",
    "email.clicked": "message_id, url",
    "email.bounced": "message_id, bounce_type (hard|soft), reason",
    "email.complained": "message_id",
    "email.unsubscribed": "message_id, source",
}

CUSTOM_TYPE = re.compile(r"^custom\.[a-z0-9][a-z0-9_]{0,50}$")

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
CONSENT_CHANGED = "consent.changed"
ORDER_PLACED = "order.placed"
ORDER_CANCELLED = "order.cancelled"
ORDER_REFUNDED = "order.refunded"
EMAIL_SENT = "email.sent"
EMAIL_OPENED = "email.opened"
EMAIL_CLICKED = "email.clicked"

# Types whose events change lifetime value and order counts.
ORDER_MONEY_TYPES = frozenset({ORDER_PLACED, ORDER_CANCELLED, ORDER_REFUNDED})
# Things the customer did (for "last seen"); custom.* events count too.
ACTIVITY_TYPES = frozenset(
    {
        "page.viewed",
        "product.viewed",
        "collection.viewed",
        "search.submitted",
        "cart.updated",
        "checkout.started",
        "checkout.updated",
        ORDER_PLACED,
        EMAIL_OPENED,
        EMAIL_CLICKED,
    }
)

# Sources: where an event came from.
SOURCES = frozenset({"shopify", "woocommerce", "storefront", "api", "email", "demo", "backfill"})


def is_valid_type(event_type: str) -> bool:
    return event_type in EVENT_TYPES or bool(CUSTOM_TYPE.match(event_type))


def is_activity(event_type: str) -> bool:
    return event_type in ACTIVITY_TYPES or event_type.startswith("custom.")
