"""The canonical event vocabulary, defined once: every event type the timeline accepts, its readable name,
and its properties with their types.

Everything that names an event type or an event property reads it from here:

- the recorder (``record_events`` accepts these types and ``custom.<name>``; ``is_activity`` feeds
  "last seen");
- the rule language (``segments.rules.vocab``: which properties a rule may filter on, with which
  operators, follows from each property's type);
- the builder's vocabulary document (``segments.rules.publish``, served to the admin's segment builder),
  which shows ``label`` and ``Prop.label`` and offers ``Prop.values``;
- the describers (``segments.describe`` for rules, ``shopconnect.timeline.describe`` for timelines);
- the storefront mapping (``integrations.storefront.mapping``: the types it maps to and the properties it
  keeps, checked with ``declared``).

**Adding an event type or a property is one edit**: an ``EventType(...)`` entry in ``EVENTS`` (or a key
in its ``properties``), for example::

    EventType("product.reviewed", "Reviewed a product", STOREFRONT, activity=True,
              properties={**ITEM, "rating": Prop(NUMBER, "Rating (1-5)")}),

A property's type decides what a rule may do with it: ``STRING`` (equals, one of, contains...) and
``NUMBER`` (compared as a number; a value that is not a number never matches) are rule conditions;
``BOOLEAN``, ``LIST`` and ``OBJECT`` are kept on the event but are not filterable. ``values`` lists the
known values of a string (the builder offers them; other values are still accepted, platforms vary).
Adapters may add keys not listed here: they are stored, but rules cannot use them until they are listed.

Money is a decimal string in ``properties`` and, for order events, also the typed ``amount`` column of the
Event (with ``order_ref`` holding the order id) so aggregates stay in SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STRING, NUMBER, BOOLEAN, LIST, OBJECT = "string", "number", "boolean", "list", "object"
FILTERABLE = frozenset({STRING, NUMBER})

# Groups, in the order the builder lists them.
BROWSING, CART, ORDERS, EMAIL, CUSTOMER, CUSTOM = (
    "Browsing", "Cart and checkout", "Orders", "Email", "Customer", "Custom",
)
GROUPS = (BROWSING, CART, ORDERS, EMAIL, CUSTOMER, CUSTOM)


@dataclass(frozen=True)
class Prop:
    type: str
    label: str
    values: tuple[str, ...] = ()

    @property
    def filterable(self) -> bool:
        return self.type in FILTERABLE


@dataclass(frozen=True)
class EventType:
    name: str
    label: str  # what the customer did, as a marketer reads it: "Viewed product"
    group: str
    properties: dict[str, Prop] = field(default_factory=dict)
    activity: bool = False  # something the customer did (counts for "last seen")
    description: str = ""


def _s(label: str, *values: str) -> Prop:
    return Prop(STRING, label, values)


def _n(label: str) -> Prop:
    return Prop(NUMBER, label)


LINE_ITEMS = Prop(LIST, "Line items")  # [{product_id, variant_id, title, quantity, price, category}]
ITEM = {
    "product_id": _s("Product id"),
    "variant_id": _s("Variant id"),
    "title": _s("Product title"),
    "category": _s("Category"),
    "price": _n("Price"),
    "url": _s("Page URL"),
    "image_url": _s("Image URL"),
    "currency": _s("Currency"),
}
CHECKOUT = {
    "checkout_id": _s("Checkout id"),
    "checkout_token": _s("Checkout token"),
    "cart_token": _s("Cart token"),
    "total": _n("Checkout total"),
    "currency": _s("Currency"),
    "line_items": LINE_ITEMS,
    "recovery_url": _s("Recovery link"),
    "url": _s("Page URL"),
}
ORDER_ID = {"order_id": _s("Order id")}
ORDER = {**ORDER_ID, "order_number": _s("Order number"), "currency": _s("Currency")}
# Every email.* event carries message_id (the outbox row id, as a string) and, where they apply,
# campaign_id, flow_id, step_id (integers) and variant (the A/B variant label), so reports and
# attribution stay in SQL.
MESSAGE = {
    "message_id": _s("Message id"),
    "campaign_id": _s("Campaign id"),
    "flow_id": _s("Flow id"),
    "step_id": _s("Flow step id"),
    "subject": _s("Subject"),
    "variant": _s("A/B variant"),
}
CONSENT_STATES = ("subscribed", "not_subscribed", "unsubscribed", "pending")

EVENTS: tuple[EventType, ...] = (
    # storefront behaviour
    EventType("page.viewed", "Viewed a page", BROWSING, activity=True, properties={
        "url": _s("Page URL"), "title": _s("Page title"), "referrer": _s("Referrer"),
        "duration_seconds": _n("Seconds on the page"),
    }),
    EventType("product.viewed", "Viewed product", BROWSING, ITEM, activity=True),
    # told by the platform's product webhooks (campaigns.catalog_triggers): the product is the catalog's
    EventType("product.back_in_stock", "Product they asked about is back in stock", BROWSING, properties={
        **ITEM, "variant_title": _s("Variant"),
    }, description="a back-in-stock request of theirs, when the product webhook says it can be bought again"),
    EventType("product.price_dropped", "Price dropped on a product they looked at", BROWSING, properties={
        **ITEM, "previous_price": _n("Price before"), "drop_percent": _n("Price drop (%)"),
        "days_since_interest": _n("Days since they viewed or carted it"),
        "interest": _s("What they did", "viewed", "carted"),
    }, description="a product they viewed or added to their cart recently got cheaper"),
    EventType("collection.viewed", "Viewed collection", BROWSING, activity=True, properties={
        "collection_id": _s("Collection id"), "title": _s("Collection title"), "url": _s("Page URL"),
    }),
    EventType("search.submitted", "Searched the store", BROWSING, activity=True, properties={
        "query": _s("Search words"), "url": _s("Page URL"),
    }),
    EventType("custom.time_on_page", "Spent time on a page", BROWSING, properties={
        "url": _s("Page URL"), "duration_seconds": _n("Seconds on the page"),
        "page_type": _s("Kind of page", "product", "collection", "search", "cart", "checkout", "page"),
        "product_id": _s("Product id"), "title": _s("Product title"),
    }, activity=True, description="sent by the storefront script and the Shopify pixel when the visitor leaves "
       "a page; tied to the product on product pages (add it up with a rule's sum)"),
    EventType("cart.updated", "Changed their cart", CART, activity=True, properties={
        **ITEM,
        "action": _s("What changed", "added", "removed", "viewed", "updated"),
        "cart_token": _s("Cart token"),
        "quantity": _n("Quantity"),
        "total": _n("Cart total"),
        "line_items": LINE_ITEMS,
    }),
    EventType("checkout.started", "Started checkout", CART, CHECKOUT, activity=True),
    EventType("checkout.updated", "Reached a checkout step", CART, activity=True, properties={
        **CHECKOUT,
        "step": _s("Checkout step", "contact", "shipping", "payment", "completed"),
        "completed": Prop(BOOLEAN, "Completed"),
    }),
    # orders (order_ref = order id; amount = total / refunded amount)
    # Every platform's order events carry the same properties (integrations.orders builds them all).
    EventType("order.placed", "Placed order", ORDERS, activity=True, properties={
        **ORDER,
        "total": _n("Order total"),
        "subtotal": _n("Subtotal (after discounts)"),
        "current_total": _n("Total after refunds and edits"),
        "total_discounts": _n("Discounts"),
        "total_tax": _n("Tax"),
        "total_shipping": _n("Shipping"),
        "line_items": LINE_ITEMS,
        "discount_codes": Prop(LIST, "Discount codes"),
        "discount_applications": Prop(LIST, "Discounts applied (codes and automatic)"),
        "shipping_lines": Prop(LIST, "Shipping methods"),
        "checkout_id": _s("Checkout id"),
        "checkout_token": _s("Checkout token"),
        "cart_token": _s("Cart token"),
        "tags": Prop(LIST, "Order tags"),
        "source_name": _s("Sales channel", "web", "pos", "shopify_draft_order", "checkout", "admin", "rest-api"),
        "landing_site": _s("Landing page"),
        "referring_site": _s("Referring site"),
        "customer_locale": _s("Customer language"),
        "buyer_accepts_marketing": Prop(BOOLEAN, "Accepted marketing at checkout"),
        "payment_method": _s("Payment method"),
        "note": _s("Order note"),
        "city": _s("City"),
        "province": _s("Province or state"),
        "country": _s("Country (two-letter code)"),
        "attributes": Prop(OBJECT, "Order attributes (Shopify note attributes, WooCommerce meta data)"),
    }),
    EventType("order.paid", "Paid for an order", ORDERS, {**ORDER, "total": _n("Order total")}),
    EventType("order.fulfilled", "Order was fulfilled", ORDERS, {
        **ORDER, "tracking_numbers": Prop(LIST, "Tracking numbers"), "tracking_urls": Prop(LIST, "Tracking links"),
        "tracking_company": _s("Carrier"),
    }),
    EventType("order.cancelled", "Order was cancelled", ORDERS, {
        **ORDER, "total": _n("Order total"), "reason": _s("Reason"),
    }),
    EventType("order.refunded", "Order was refunded", ORDERS, {
        **ORDER_ID, "currency": _s("Currency"), "refund_id": _s("Refund id"), "amount": _n("Refunded amount"),
        "reason": _s("Reason"), "line_items": LINE_ITEMS,
    }),
    # email (written by the sending pipeline and provider tracking)
    EventType("email.sent", "Was sent an email", EMAIL, dict(MESSAGE)),
    EventType("email.delivered", "Email was delivered", EMAIL, dict(MESSAGE)),
    EventType("email.opened", "Opened email", EMAIL, {
        **MESSAGE, "machine": Prop(BOOLEAN, "Looks like a privacy-proxy prefetch"),
    }, activity=True),
    EventType("email.clicked", "Clicked email", EMAIL, {**MESSAGE, "url": _s("Link clicked")}, activity=True),
    EventType("email.bounced", "Email bounced", EMAIL, {
        **MESSAGE, "bounce_type": _s("Bounce type", "hard", "soft"), "reason": _s("Reason"),
    }),
    EventType("email.complained", "Marked email as spam", EMAIL, dict(MESSAGE)),
    EventType("email.unsubscribed", "Unsubscribed from email", EMAIL, {**MESSAGE, "source": _s("Where")}),
    # customers and consent
    EventType("customer.created", "Became a customer", CUSTOMER, description="profile fields in the profile"),
    EventType("customer.updated", "Profile was updated", CUSTOMER, properties={
        "change": _s("What changed", "tags_added", "tags_removed", "purchasing_summary"),
        "tags": Prop(LIST, "Tags added or removed"),
        "state": _s("Account state", "enabled", "disabled", "invited", "declined"),
        "shopify_orders_count": _n("Orders (Shopify's count)"),
        "shopify_amount_spent": _n("Amount spent (Shopify's figure)"),
    }, description="profile fields in the profile; Shopify tag changes and purchase summaries"),
    EventType("customer.deleted", "Was deleted on the platform", CUSTOMER),
    # the consent ledger (shopconnect.timeline.consent): every change, with where it came from and its proof
    EventType("consent.changed", "Changed email consent", CUSTOMER, {
        "channel": _s("Channel", "email", "sms"),
        "state": _s("New consent", *CONSENT_STATES),
        "source": _s("Where", "shopify", "woocommerce", "signup_form", "checkout", "double_opt_in",
                     "unsubscribe_link", "preferences", "complaint", "provider", "admin", "api"),
        "opt_in_level": _s("Opt-in level", "single_opt_in", "confirmed_opt_in", "unknown"),
        "signup_source": _s("Signed up through", "signup_form", "checkout"),
        "frequency": _s("Email frequency", "normal", "fewer"),
        "evidence": Prop(OBJECT, "Evidence (form, page, time, IP address, wording; staff user and reason)"),
    }),
)
BY_NAME: dict[str, EventType] = {e.name: e for e in EVENTS}
#: name -> readable name (the list of canonical types)
EVENT_TYPES: dict[str, str] = {e.name: e.label for e in EVENTS}

CUSTOM_TYPE = re.compile(r"^custom\.[a-z0-9][a-z0-9_]{0,50}$")
#: properties of an undeclared custom.* event a rule may name (compared as strings)
CUSTOM_PROPERTY = re.compile(r"^[a-z][a-z0-9_]{0,40}$")

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

CART_UPDATED = "cart.updated"
# Events that tie a cart token to a known customer (the owner of an anonymous cart update).
CART_OWNER_TYPES = ("checkout.started", "checkout.updated", ORDER_PLACED)

# Types whose events change lifetime value and order counts.
ORDER_MONEY_TYPES = frozenset({ORDER_PLACED, ORDER_CANCELLED, ORDER_REFUNDED})
# Things the customer did (for "last seen"); every other custom.* event counts too.
ACTIVITY_TYPES = frozenset(e.name for e in EVENTS if e.activity)

# Sources: where an event came from.
SOURCES = frozenset({"shopify", "woocommerce", "storefront", "api", "email", "demo", "backfill", "admin"})


def is_valid_type(event_type: str) -> bool:
    return event_type in BY_NAME or bool(CUSTOM_TYPE.match(event_type))


def is_activity(event_type: str) -> bool:
    if event_type in BY_NAME:
        return BY_NAME[event_type].activity
    return event_type.startswith("custom.")


def label(event_type: str) -> str:
    """The readable name of a type: "Viewed product", or "custom: sms_reply" for an undeclared one."""
    known = BY_NAME.get(event_type)
    if known is not None:
        return known.label
    return f"custom: {event_type.split('.', 1)[1]}" if event_type.startswith("custom.") else event_type


def prop(event_type: str, name: str) -> Prop | None:
    """A property of a type as the vocabulary declares it (an undeclared custom.* event's properties are
    strings), or None."""
    known = BY_NAME.get(event_type)
    if known is not None:
        return known.properties.get(name)
    if CUSTOM_TYPE.match(event_type) and CUSTOM_PROPERTY.match(name):
        return Prop(STRING, name.replace("_", " "))
    return None


def declared(event_type: str, *keys: str) -> tuple[str, ...]:
    """``keys``, checked to be declared properties of ``event_type`` (a mapping names what it keeps with
    this, so a property it keeps that the vocabulary does not know fails at import, not in production)."""
    missing = [k for k in keys if k not in BY_NAME[event_type].properties]
    if missing:
        raise KeyError(f"{event_type} declares no {', '.join(missing)} (shopconnect.timeline.vocabulary)")
    return keys
