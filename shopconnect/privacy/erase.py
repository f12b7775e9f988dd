"""Erasing one customer (the admin's "Erase", ``POST /api/v1/customers/<id>/erase/``, Shopify's
``customers/redact``): the same effect whichever asked.

In one transaction: the customer row and everything hanging off it (events, messages, enrollments,
memberships, predictions, tags, visitors, signup submissions), the raw webhook bodies and storefront
batches that mention them, Shopify data-request exports and the admin's change history of the row.
Suppression entries and soft-bounce streaks of the address are kept with the address replaced by its
hash (``campaigns.consent.address_hash``): an erased person who unsubscribed or bounced must still never
be mailed if their address comes back (a re-import, a later order), and the sender compares hashes too.
A ``PrivacyRequest`` records who, when, why and how much, without the person's data.

Store aggregates stay consistent: they are sums over the remaining customers.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from shopconnect.timeline.models import Customer, Event, Store, Visitor

from .models import PrivacyRequest

REDACTED_BODY = b'{"redacted": "customers/redact"}'
#: platform ids shorter than this are not searched for in raw bodies (a short number matches anything)
MIN_ID_NEEDLE = 6


def _bodies_mentioning(model, store: Store, column: str, needle: str):
    """Rows of ``model`` whose raw ``column`` contains ``needle`` (in SQL: bodies are never loaded)."""
    table = connection.ops.quote_name(model._meta.db_table)
    col = f"{table}.{connection.ops.quote_name(column)}"
    if connection.vendor == "postgresql":
        where = f"position(%s::bytea in {col}) > 0" if column == "body" else f"strpos({col}::text, %s) > 0"
    else:
        where = f"instr({col}, CAST(%s AS BLOB)) > 0" if column == "body" else f"instr({col}, %s) > 0"
    param = needle.encode() if column == "body" and connection.vendor == "postgresql" else needle
    return model.objects.filter(store=store).extra(where=[where], params=[param])


def needles(email: str | None, external_id: str | None, extra: tuple[str, ...] = ()) -> set[str]:
    found = {n for n in (email, *extra) if n}
    if external_id and len(external_id) >= MIN_ID_NEEDLE:
        found.add(external_id)
    return found


def scrub_raw_data(store: Store, search: set[str]) -> dict[str, int]:
    """Raw inbound data that mentions the person: webhook bodies are replaced by a marker (the row stays,
    so a redelivery is still recognised as a duplicate); storefront batches are deleted."""
    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    CollectBatch = apps.get_model("storefront", "CollectBatch")
    counts = {"webhook_bodies": 0, "collect_batches": 0}
    for needle in search:
        counts["webhook_bodies"] += _bodies_mentioning(WebhookDelivery, store, "body", needle).update(
            body=REDACTED_BODY, headers={})
        counts["collect_batches"] += _bodies_mentioning(CollectBatch, store, "events", needle).delete()[0]
    return counts


def hash_address_records(store: Store, email: str | None) -> int:
    """Suppressions and soft-bounce streaks of the address keep only its hash (see the module doc)."""
    if not email:
        return 0
    from campaigns.consent import address_hash

    hashed = address_hash(store.pk, email)
    changed = 0
    for name in ("Suppression", "SoftBounceStreak"):
        model = apps.get_model("campaigns", name)
        rows = model.objects.filter(store=store, email=email)
        try:
            with transaction.atomic():
                fields = {"email": hashed, "detail": ""} if name == "Suppression" else {"email": hashed}
                changed += rows.update(**fields)
        except IntegrityError:  # the hash is already there (erased before): the plain row just goes
            changed += rows.delete()[0]
    return changed


@transaction.atomic
def erase_customer(
    customer: Customer, *, via: str, user=None, reason: str = "", search_extra: tuple[str, ...] = ()
) -> PrivacyRequest:
    """Erase one customer; returns the record of it (see the module doc)."""
    store = customer.store
    email, external_id, customer_id = customer.email, customer.external_id, customer.pk
    summary: dict[str, Any] = {
        "events": Event.objects.filter(customer=customer).count(),
        "messages": customer.messages.count(),
    }
    summary.update(scrub_raw_data(store, needles(email, external_id, search_extra)))
    summary["address_records_hashed"] = hash_address_records(store, email)
    if apps.is_installed("integrations.shopify"):
        DataRequest = apps.get_model("shopify", "DataRequest")
        match = Q(customer_external_id=external_id or "-") | Q(email=email or "-")
        summary["shopify_exports"] = DataRequest.objects.filter(store=store).filter(match).delete()[0]
    if apps.is_installed("integrations.storefront.signup"):
        Submission = apps.get_model("signup", "Submission")
        summary["signups"] = Submission.objects.filter(store=store).filter(
            Q(customer=customer) | Q(email=email or "-")).delete()[0]
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Customer),
                            object_id=str(customer_id)).delete()
    Visitor.objects.filter(customer=customer).delete()
    customer.delete()
    return record_request(store, PrivacyRequest.Kind.ERASE, via, customer_id, user=user, reason=reason,
                          summary=summary)


def record_request(store: Store, kind: str, via: str, customer_id: int, *, user=None, reason: str = "",
                   summary: dict | None = None) -> PrivacyRequest:
    name = user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""
    return PrivacyRequest.objects.create(
        store=store, kind=kind, via=via, customer_ref=customer_id,
        requested_by=user if name else None, requested_by_name=name, reason=(reason or "")[:500],
        summary=summary or {},
    )
