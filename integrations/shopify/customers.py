"""Shopify customers, their tags, purchase summaries and marketing consent -> canonical events (pure).

Topics (Admin API 2025-10): ``customers/create``, ``customers/update``, ``customers/enable``,
``customers/disable``, ``customers/delete``, ``customer.tags_added``, ``customer.tags_removed``,
``customers/purchasing_summary``, ``customers_email_marketing_consent/update``,
``customers_marketing_consent/update`` (SMS).

Since 2025-01 Shopify's customer payloads no longer carry ``tags``, ``email_marketing_consent``,
``sms_marketing_consent``, ``orders_count``, ``total_spent`` or ``last_order_id``: they arrive through
their own topics instead. So a profile holds only the fields the payload carries: **absent means unknown**
and leaves the stored value alone (an update never wipes tags); a field present as null is empty.

- Profiles are keyed by ``updated_at`` (``shopify:customer:<id>:updated:<stamp>``): every version stays
  on the timeline, ``record_events`` applies them newest-wins, and a profile's email is the customer's
  address (an email change moves the customer to the new address, see ``shopconnect.timeline.emails``).
- Tag changes are deltas (``profile["add_tags"]`` / ``["remove_tags"]``) keyed by the tags and
  ``occurredAt``; a full ``tags`` value (older API versions, the backfill) replaces the set.
- ``customers/purchasing_summary`` keeps Shopify's own order count and amount spent as profile
  properties (``shopify_orders_count``, ``shopify_amount_spent``, ``shopify_last_order_id``): they include
  orders from before ShopConnect was installed. Our aggregates still come from the timeline.
- Consent is keyed by its own ``consent_updated_at``, so the same change seen twice is recorded once.
- ``customers/delete`` carries no time: the event is dated by the delivery (``occurred_at`` None).
"""

from __future__ import annotations

import hashlib
from typing import Any

from integrations.values import (
    BadValue,
    first_timestamp,
    integer,
    missing,
    money,
    platform_id,
    stamp,
    tag_list,
    timestamp,
)
from shopconnect.timeline.canonical import CanonicalEvent

from .parse import email_of

SOURCE = "shopify"

# Shopify's email/SMS consent states -> ours (REST lowercase; GraphQL uppercase is lowered first).
CONSENT_STATES = {
    "subscribed": "subscribed",
    "not_subscribed": "not_subscribed",
    "unsubscribed": "unsubscribed",
    "pending": "pending",
    "redacted": "unsubscribed",
    "invalid": "not_subscribed",
}


def profile_of(customer: dict) -> dict[str, Any]:
    """The profile fields this payload carries (absent keys are unknown and left out)."""
    profile: dict[str, Any] = {}
    for key in ("first_name", "last_name"):
        if not missing(customer, key):
            profile[key] = customer.get(key) or ""
    address = customer.get("default_address")
    if not missing(customer, "phone") and customer.get("phone"):
        profile["phone"] = customer["phone"]
    elif isinstance(address, dict) and address.get("phone"):
        profile["phone"] = address["phone"]
    elif not missing(customer, "phone") and not missing(customer, "default_address"):
        profile["phone"] = ""
    if not missing(customer, "default_address"):
        profile["country"] = ((address or {}).get("country_code") or "")[:2].upper()
        profile["properties"] = {"city": (address or {}).get("city") or "",
                                 "province": (address or {}).get("province") or ""}
    if not missing(customer, "tags"):
        profile["tags"] = tag_list(customer.get("tags"))
    created = timestamp(customer.get("created_at"), "created_at")
    if created:
        profile["created_at"] = created
    return profile


def consent_event(
    customer_id: str | None,
    email: str | None,
    consent: dict | None,
    channel: str = "email",
) -> CanonicalEvent | None:
    """A ``consent.changed`` from Shopify's ``{state, opt_in_level, consent_updated_at}``, if any.

    Without ``consent_updated_at`` (Shopify sends it for every real change) the event is dated by the
    delivery and keyed by the consent itself, so the same payload twice is still one event.
    """
    if not consent or not consent.get("state"):
        return None
    state = CONSENT_STATES.get(str(consent["state"]).lower())
    if state is None:
        return None
    at = timestamp(consent.get("consent_updated_at"), f"{channel}_marketing_consent.consent_updated_at")
    owner = customer_id or email
    version = stamp(at) if at else "undated-" + hashlib.sha256(repr(sorted(consent.items())).encode()).hexdigest()[:16]
    return CanonicalEvent(
        type="consent.changed",
        occurred_at=at,
        dedupe_key=f"shopify:customer:{owner}:{channel}-consent:{state}:{version}",
        source=SOURCE,
        external_id=customer_id,
        email=email,
        properties={
            "channel": channel,
            "state": state,
            "source": SOURCE,
            "opt_in_level": (consent.get("opt_in_level") or "").lower(),
        },
    )


def customer_events(customer: dict, created: bool) -> list[CanonicalEvent]:
    """``customers/create`` (``created``), ``customers/update``, ``customers/enable``, ``customers/disable``."""
    customer_id = platform_id(customer["id"])
    email = email_of(customer.get("email"))
    updated_at = first_timestamp(customer, "updated_at", "created_at")
    if created:
        event_type, key, at = (
            "customer.created",
            f"shopify:customer:{customer_id}:created",
            first_timestamp(customer, "created_at", "updated_at"),
        )
    else:
        event_type, key, at = (
            "customer.updated",
            f"shopify:customer:{customer_id}:updated:{stamp(updated_at)}",
            updated_at,
        )
    properties: dict[str, Any] = {}
    if not missing(customer, "state"):
        properties["state"] = customer.get("state") or ""
    if not missing(customer, "verified_email"):
        properties["verified_email"] = bool(customer.get("verified_email"))
    events = [
        CanonicalEvent(
            type=event_type,
            occurred_at=at,
            dedupe_key=key,
            source=SOURCE,
            external_id=customer_id,
            email=email,
            profile=profile_of(customer),
            properties=properties,
        )
    ]
    # Older API versions (and the backfill) still carry the consent inside the customer.
    consent = consent_event(customer_id, email, customer.get("email_marketing_consent"))
    if consent:
        events.append(consent if consent.occurred_at else _dated(consent, updated_at))
    return events


def _dated(event: CanonicalEvent, at) -> CanonicalEvent:
    event.occurred_at = at
    return event


def tags_changed(payload: dict, added: bool) -> list[CanonicalEvent]:
    """``customer.tags_added`` / ``customer.tags_removed``: ``{customerId, tags: [...], occurredAt}``."""
    customer_id = platform_id(payload.get("customerId"))
    if customer_id is None:
        raise BadValue("customerId", payload.get("customerId"), "a customer id")
    tags = tag_list(payload.get("tags"))
    at = first_timestamp(payload, "occurredAt")
    change = "tags_added" if added else "tags_removed"
    digest = hashlib.sha256("\n".join(sorted(tags)).encode()).hexdigest()[:16]
    return [
        CanonicalEvent(
            type="customer.updated",
            occurred_at=at,
            dedupe_key=f"shopify:customer:{customer_id}:{change}:{stamp(at)}:{digest}",
            source=SOURCE,
            external_id=customer_id,
            profile={"add_tags" if added else "remove_tags": tags},
            properties={"change": change, "tags": tags},
        )
    ] if tags else []


def purchasing_summary(payload: dict) -> list[CanonicalEvent]:
    """``customers/purchasing_summary``: ``{customerId, numberOfOrders, amountSpent, lastOrderId, occurredAt}``."""
    customer_id = platform_id(payload.get("customerId"))
    if customer_id is None:
        raise BadValue("customerId", payload.get("customerId"), "a customer id")
    at = first_timestamp(payload, "occurredAt")
    summary: dict[str, Any] = {}
    if not missing(payload, "numberOfOrders"):
        summary["shopify_orders_count"] = integer(payload.get("numberOfOrders"), "numberOfOrders")
    if not missing(payload, "amountSpent"):
        amount = money(payload.get("amountSpent"), "amountSpent")
        summary["shopify_amount_spent"] = None if amount is None else str(amount)
        summary["shopify_amount_currency"] = (payload.get("amountSpent") or {}).get("currencyCode") or ""
    if not missing(payload, "lastOrderId"):
        summary["shopify_last_order_id"] = platform_id(payload.get("lastOrderId")) or ""
    return [
        CanonicalEvent(
            type="customer.updated",
            occurred_at=at,
            dedupe_key=f"shopify:customer:{customer_id}:purchasing-summary:{stamp(at)}",
            source=SOURCE,
            external_id=customer_id,
            profile={"properties": summary},
            properties={"change": "purchasing_summary", **summary},
        )
    ]


def customer_deleted(payload: dict) -> list[CanonicalEvent]:
    """``customers/delete`` carries only the id: dated by the delivery (``occurred_at`` None)."""
    customer_id = platform_id(payload["id"])
    return [
        CanonicalEvent(
            type="customer.deleted",
            occurred_at=timestamp(payload.get("updated_at"), "updated_at"),
            dedupe_key=f"shopify:customer:{customer_id}:deleted",
            source=SOURCE,
            external_id=customer_id,
        )
    ]


def email_consent_update(payload: dict) -> list[CanonicalEvent]:
    """``customers_email_marketing_consent/update``:
    ``{customer_id, email_address, email_marketing_consent}``."""
    event = consent_event(
        platform_id(payload.get("customer_id")),
        email_of(payload.get("email_address")),
        payload.get("email_marketing_consent"),
    )
    return [event] if event else []


def sms_consent_update(payload: dict) -> list[CanonicalEvent]:
    """``customers_marketing_consent/update``: SMS consent; kept on the timeline, not applied to email."""
    event = consent_event(
        platform_id(payload.get("id") or payload.get("customer_id")),
        None,
        payload.get("sms_marketing_consent"),
        channel="sms",
    )
    if event:
        event.properties["phone"] = payload.get("phone") or ""
        event.properties["collected_from"] = (payload.get("sms_marketing_consent") or {}).get(
            "consent_collected_from") or ""
    return [event] if event else []
