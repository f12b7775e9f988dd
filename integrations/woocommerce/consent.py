"""Marketing consent that a WooCommerce store collects -> ``consent.changed`` (pure: payload in, events out).

WooCommerce itself has no marketing-consent field. What a store collects lives in the meta data that
marketing plugins write on the order (and on the WordPress user, which WooCommerce's REST API shows as
the customer's ``meta_data``), so each known key is a source, documented from the plugin's own code:

============================  ==========================================  ==================================
plugin                        meta key (where)                            values
============================  ==========================================  ==================================
Mailchimp for WooCommerce     ``mailchimp_woocommerce_is_subscribed``     ``1``/``true``: ticked the box;
                              (order and user; its ``order_processed``    ``0``/empty: did not tick it
                              stores the checkbox with update_order_meta)
MailerLite - WooCommerce      ``_woo_ml_subscribe`` (order; set from the  ``1``/``true``: ticked the box
                              checkout's ``woo_ml_subscribe`` checkbox)
============================  ==========================================  ==================================

Not importable, because they store nothing WooCommerce shows: MailPoet (keeps the checkout opt-in in its
own subscriber tables) and Klaviyo (sends its ``kl_newsletter_checkbox`` straight to Klaviyo). For those
stores, and any other, the storefront script's own checkout checkbox (``SignupSettings.checkout_optin``)
records the opt-in with the page, time, IP address and wording as evidence.

Only a ticked box is a change: an unticked one means "did not opt in at this order", never a withdrawal
of an earlier subscription. Each event is keyed by the order (or customer) and the meta key, so the same
order delivered again, backfilled or reconciled records the opt-in once; it happened when the order was
created (``date_created_gmt``), so a later unsubscribe is never rolled back by it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shopconnect.timeline.canonical import CanonicalEvent, normalize_email
from shopconnect.timeline.consent import consent_event

#: meta key -> the plugin that writes it
META_SOURCES: dict[str, str] = {
    "mailchimp_woocommerce_is_subscribed": "Mailchimp for WooCommerce",
    "_woo_ml_subscribe": "MailerLite - WooCommerce",
}
TICKED = frozenset({"1", "true", "yes", "on", "subscribed"})


def _ticked(value: Any) -> bool:
    return value is True or str(value).strip().lower() in TICKED


def _when(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _opt_ins(resource: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (item.get("key"), item.get("value"))
        for item in resource.get("meta_data") or []
        if isinstance(item, dict) and item.get("key") in META_SOURCES and _ticked(item.get("value"))
    ]


def order_consent(order: dict[str, Any]) -> list[CanonicalEvent]:
    """The opt-ins an order's meta data records, for its billing email (and customer id)."""
    email = normalize_email((order.get("billing") or {}).get("email"))
    at = _when(order.get("date_created_gmt")) or _when(order.get("date_modified_gmt"))
    if not email or at is None:
        return []
    external_id = str(order["customer_id"]) if order.get("customer_id") else None
    return [
        consent_event(
            "subscribed", "woocommerce", ref=f"order:{order['id']}:{key}", occurred_at=at, event_source="woocommerce",
            opt_in_level="single_opt_in", email=email, external_id=external_id,
            evidence={"order_id": str(order["id"]), "meta_key": key, "plugin": META_SOURCES[key]},
        )
        for key, _ in _opt_ins(order)
    ]


def customer_consent(customer: dict[str, Any]) -> list[CanonicalEvent]:
    """The opt-ins a customer's (WordPress user's) meta data records."""
    email = normalize_email(customer.get("email"))
    at = _when(customer.get("date_modified_gmt")) or _when(customer.get("date_created_gmt"))
    if at is None or not (email or customer.get("id")):
        return []
    return [
        consent_event(
            "subscribed", "woocommerce", ref=f"customer:{customer['id']}:{key}", occurred_at=at,
            event_source="woocommerce", opt_in_level="single_opt_in", email=email, external_id=str(customer["id"]),
            evidence={"customer_id": str(customer["id"]), "meta_key": key, "plugin": META_SOURCES[key]},
        )
        for key, _ in _opt_ins(customer)
    ]
