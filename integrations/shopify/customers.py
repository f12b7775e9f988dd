"""Shopify customers and marketing consent -> canonical events (pure).

Topics: ``customers/create``, ``customers/update``, ``customers/delete``,
``customers_email_marketing_consent/update``, ``customers_marketing_consent/update`` (SMS).

Customer updates are keyed by ``updated_at`` (``shopify:customer:<id>:updated:<stamp>``) so every
version stays on the timeline while ``record_events`` applies profiles newest-wins: a late, older update
never rolls the profile back. Consent is keyed by its own ``consent_updated_at``, so the same consent
change seen through a customer topic and a consent topic is recorded once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shopconnect.timeline.canonical import CanonicalEvent

from .parse import email_of, required_when, sid, stamp, tags, when

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
    address = customer.get("default_address") or {}
    profile: dict[str, Any] = {
        "first_name": customer.get("first_name") or "",
        "last_name": customer.get("last_name") or "",
        "phone": customer.get("phone") or address.get("phone") or "",
        "country": (address.get("country_code") or "")[:2].upper(),
        "tags": tags(customer.get("tags")),
    }
    created = when(customer.get("created_at"))
    if created:
        profile["created_at"] = created
    return profile


def consent_event(
    customer_id: str | None,
    email: str | None,
    consent: dict | None,
    fallback: datetime,
    channel: str = "email",
) -> CanonicalEvent | None:
    """A ``consent.changed`` from Shopify's ``{state, opt_in_level, consent_updated_at}``, if any."""
    if not consent or not consent.get("state"):
        return None
    state = CONSENT_STATES.get(str(consent["state"]).lower())
    if state is None:
        return None
    at = when(consent.get("consent_updated_at")) or fallback
    owner = customer_id or email
    return CanonicalEvent(
        type="consent.changed",
        occurred_at=at,
        dedupe_key=f"shopify:customer:{owner}:{channel}-consent:{state}:{stamp(at)}",
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
    customer_id = sid(customer["id"])
    email = email_of(customer.get("email"))
    updated_at = required_when(customer, "updated_at", "created_at")
    if created:
        event_type, key, at = (
            "customer.created",
            f"shopify:customer:{customer_id}:created",
            required_when(customer, "created_at", "updated_at"),
        )
    else:
        event_type, key, at = (
            "customer.updated",
            f"shopify:customer:{customer_id}:updated:{stamp(updated_at)}",
            updated_at,
        )
    events = [
        CanonicalEvent(
            type=event_type,
            occurred_at=at,
            dedupe_key=key,
            source=SOURCE,
            external_id=customer_id,
            email=email,
            profile=profile_of(customer),
            properties={
                "state": customer.get("state") or "",
                "verified_email": bool(customer.get("verified_email")),
            },
        )
    ]
    consent = consent_event(customer_id, email, customer.get("email_marketing_consent"), updated_at)
    if consent:
        events.append(consent)
    return events


def customer_deleted(payload: dict, fallback: datetime) -> list[CanonicalEvent]:
    """``customers/delete`` carries only the id: the time is the delivery's (``fallback``)."""
    customer_id = sid(payload["id"])
    return [
        CanonicalEvent(
            type="customer.deleted",
            occurred_at=when(payload.get("updated_at")) or fallback,
            dedupe_key=f"shopify:customer:{customer_id}:deleted",
            source=SOURCE,
            external_id=customer_id,
        )
    ]


def email_consent_update(payload: dict, fallback: datetime) -> list[CanonicalEvent]:
    """``customers_email_marketing_consent/update``:
    ``{customer_id, email_address, email_marketing_consent}``."""
    event = consent_event(
        sid(payload.get("customer_id")),
        email_of(payload.get("email_address")),
        payload.get("email_marketing_consent"),
        fallback,
    )
    return [event] if event else []


def sms_consent_update(payload: dict, fallback: datetime) -> list[CanonicalEvent]:
    """``customers_marketing_consent/update``: SMS consent; kept on the timeline, not applied to email."""
    event = consent_event(
        sid(payload.get("id") or payload.get("customer_id")),
        None,
        payload.get("sms_marketing_consent"),
        fallback,
        channel="sms",
    )
    if event:
        event.properties["phone"] = payload.get("phone") or ""
    return [event] if event else []
