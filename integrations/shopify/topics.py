"""The Shopify topic table: which pure function turns each webhook topic into canonical data.

Every topic the Admin API (``SHOPIFY_API_VERSION``, 2025-10) sends for orders, customers, checkouts,
carts and products that a marketer's timeline needs:

- ``orders/create``, ``orders/paid``, ``orders/updated``, ``orders/cancelled``, ``orders/fulfilled``,
  ``orders/partially_fulfilled``: ``order.placed`` + the transitions the snapshot shows (``order.paid``,
  ``order.fulfilled``, ``order.cancelled``, ``order.refunded``);
- ``refunds/create``: ``order.refunded`` (amount, order id);
- ``checkouts/create``, ``checkouts/update``: ``checkout.started`` / ``checkout.updated``;
- ``carts/create``, ``carts/update``: ``cart.updated``;
- ``customers/create``, ``customers/update``, ``customers/enable``, ``customers/disable``:
  ``customer.created`` / ``customer.updated`` with the profile fields the payload carries;
  ``customers/delete``: ``customer.deleted``;
- ``customer.tags_added``, ``customer.tags_removed``: ``customer.updated`` with a tag delta;
- ``customers/purchasing_summary``: ``customer.updated`` with Shopify's order count and amount spent;
- ``customers_email_marketing_consent/update``: ``consent.changed`` (channel email);
  ``customers_marketing_consent/update``: ``consent.changed`` (channel sms);
- ``products/create``, ``products/update``: catalog records;
- ``app/uninstalled``: action ``uninstall``;
- ``customers/data_request``, ``customers/redact``, ``shop/redact``: actions ``export_customer``,
  ``redact_customer``, ``redact_shop``.

Anything else is ``None``: stored, marked ignored. Every function is pure (payload in, data out: no clock,
no database); an event whose payload carries no time has ``occurred_at`` None and is dated by its delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.base import Normalized

from . import checkouts, customers, orders, products
from .parse import sid

Handler = Callable[[dict], Normalized]


def _events(fn: Callable[..., list], *args: Any) -> Handler:
    return lambda payload: Normalized(events=fn(payload, *args))


def _product(payload: dict) -> Normalized:
    return Normalized(products=[products.product_record(payload)])


def _compliance_customer(payload: dict) -> dict[str, Any]:
    customer = payload.get("customer") or {}
    return {
        "customer_id": sid(customer.get("id")),
        "email": customer.get("email"),
        "orders": [sid(o) for o in payload.get("orders_requested") or payload.get("orders_to_redact") or []],
    }


def _data_request(payload: dict) -> Normalized:
    request_id = sid((payload.get("data_request") or {}).get("id")) or ""
    return Normalized(
        actions=[("export_customer", {**_compliance_customer(payload), "request_id": request_id})]
    )


def _redact_customer(payload: dict) -> Normalized:
    return Normalized(actions=[("redact_customer", _compliance_customer(payload))])


def _redact_shop(payload: dict) -> Normalized:
    return Normalized(actions=[("redact_shop", {"shop_domain": payload.get("shop_domain")})])


def _uninstalled(payload: dict) -> Normalized:
    return Normalized(actions=[("uninstall", {})])


TOPICS: dict[str, Handler] = {
    "orders/create": _events(orders.order_events),
    "orders/paid": _events(orders.order_events),
    "orders/updated": _events(orders.order_events),
    "orders/cancelled": _events(orders.order_events),
    "orders/fulfilled": _events(orders.order_events),
    "orders/partially_fulfilled": _events(orders.order_events),
    "refunds/create": _events(orders.refund_events),
    "checkouts/create": _events(checkouts.checkout_events, True),
    "checkouts/update": _events(checkouts.checkout_events, False),
    "carts/create": _events(checkouts.cart_events),
    "carts/update": _events(checkouts.cart_events),
    "customers/create": _events(customers.customer_events, True),
    "customers/update": _events(customers.customer_events, False),
    "customers/enable": _events(customers.customer_events, False),
    "customers/disable": _events(customers.customer_events, False),
    "customers/delete": _events(customers.customer_deleted),
    "customer.tags_added": _events(customers.tags_changed, True),
    "customer.tags_removed": _events(customers.tags_changed, False),
    "customers/purchasing_summary": _events(customers.purchasing_summary),
    "customers_email_marketing_consent/update": _events(customers.email_consent_update),
    "customers_marketing_consent/update": _events(customers.sms_consent_update),
    "products/create": _product,
    "products/update": _product,
    "app/uninstalled": _uninstalled,
    "customers/data_request": _data_request,
    "customers/redact": _redact_customer,
    "shop/redact": _redact_shop,
}

#: Compliance topics: accepted for uninstalled stores too.
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
#: What ShopConnect subscribes to on install (compliance topics are set in the app's configuration).
SUBSCRIBED_TOPICS = tuple(t for t in TOPICS if t not in COMPLIANCE_TOPICS)


def normalize(topic: str, payload: Any) -> Normalized | None:
    """The canonical meaning of one payload (None: a topic we do not handle)."""
    handler = TOPICS.get(topic)
    if handler is None:
        return None
    if not isinstance(payload, dict):
        raise ValueError(f"{topic}: expected a JSON object, got {type(payload).__name__}")
    return handler(payload)
