"""Data subject requests: export everything held about a customer, or erase it.

Used by the platforms' compliance topics (Shopify ``customers/data_request``, ``customers/redact``,
``shop/redact``) and available to the admin.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from .models import Customer, Event, Store, Visitor

PROFILE_EXPORT_FIELDS = (
    "id", "email", "external_id", "first_name", "last_name", "phone", "country", "timezone", "device",
    "properties", "email_consent", "consent_updated_at", "created_at", "deleted_at", "orders_count",
    "total_spent", "average_order_value", "first_order_at", "last_order_at", "last_seen_at",
    "last_opened_at", "last_clicked_at", "emails_received",
)


def export_customer(customer: Customer) -> dict[str, Any]:
    """Everything held about one customer, as JSON-ready data."""
    profile = {name: getattr(customer, name) for name in PROFILE_EXPORT_FIELDS}
    events = list(
        Event.objects.filter(customer=customer)
        .order_by("occurred_at", "id")
        .values("type", "occurred_at", "source", "properties")
    )
    data = {
        "store": customer.store.domain,
        "profile": profile,
        "tags": list(customer.tags.values_list("tag", flat=True)),
        "visitors": list(customer.visitors.values_list("client_id", flat=True)),
        "events": events,
    }
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


@transaction.atomic
def erase_customer(customer: Customer) -> None:
    """Delete the customer's personal data and events.

    The Customer row and its events go (cascade), so the store's other aggregates are untouched and
    store-level totals simply no longer include this person.
    """
    Visitor.objects.filter(customer=customer).delete()
    customer.delete()


@transaction.atomic
def erase_store(store: Store) -> None:
    """Delete everything of a store (Shopify ``shop/redact``)."""
    store.delete()
