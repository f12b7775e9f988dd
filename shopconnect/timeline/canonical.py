"""What adapters hand to the timeline: canonical events and product records, plain data, no ORM."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

PROFILE_FIELDS = frozenset(
    {"first_name", "last_name", "phone", "country", "timezone", "tags", "created_at", "properties",
     "add_tags", "remove_tags"}
)


def normalize_email(email: str | None) -> str | None:
    if not email:
        return None
    email = email.strip().lower()
    return email if "@" in email else None


@dataclass(slots=True)
class CanonicalEvent:
    """One event for ``record_events``.

    Identity: any of ``customer_id`` (ours), ``external_id`` (the platform's customer id), ``email``,
    ``visitor_id`` (storefront client id). An event with an email or external id creates the customer
    when unknown; one with only a visitor id stays anonymous until the visitor is identified.
    ``profile`` (keys from PROFILE_FIELDS) updates the customer unless a newer profile was applied; it
    holds only what the platform said (a key left out is unknown and leaves the stored value alone).
    ``tags`` replaces the tag set, ``add_tags`` / ``remove_tags`` change it.
    ``occurred_at`` None: the payload carried no time; the delivery's time is used (``date_by_delivery``).
    """

    type: str
    occurred_at: datetime | None
    dedupe_key: str
    source: str
    properties: dict[str, Any] = field(default_factory=dict)
    email: str | None = None
    external_id: str | None = None
    visitor_id: str | None = None
    customer_id: int | None = None
    profile: dict[str, Any] | None = None
    order_ref: str = ""
    amount: Decimal | None = None
    device: str = ""


@dataclass(slots=True)
class ProductRecord:
    """One catalog entry for ``upsert_products``; ``platform_updated_at`` guards against stale updates."""

    external_id: str
    title: str
    handle: str = ""
    url: str = ""
    image_url: str = ""
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    inventory: int | None = None
    category: str = ""
    collections: list[str] = field(default_factory=list)
    status: str = "active"
    vendor: str = ""
    tags: list[str] = field(default_factory=list)
    description: str = ""
    published_at: datetime | None = None
    #: [{variant_id, title, sku, price}]
    variants: list[dict[str, Any]] = field(default_factory=list)
    platform_updated_at: datetime | None = None


def date_by_delivery(events: list[CanonicalEvent], at: datetime) -> list[CanonicalEvent]:
    """Date the events whose payload carried no time with their delivery's time (``at``)."""
    for event in events:
        if event.occurred_at is None:
            event.occurred_at = at
    return events
