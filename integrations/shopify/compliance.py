"""Shopify's mandatory compliance topics and app uninstall, applied to our data.

- ``customers/data_request``: export everything held about the customer into a ``DataRequest`` row,
  kept for the store owner and shown in the admin.
- ``customers/redact``: erase the customer (profile, events, visitors, tags), their exports and the raw
  webhook bodies that mention them; store
  aggregates stay consistent because they are sums over the remaining customers.
- ``shop/redact``: delete everything of the store, after the delivery's own transaction has committed
  (the delivery row belongs to the store).
- ``app/uninstalled``: mark the store uninstalled and drop its access token.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from integrations.models import WebhookDelivery
from shopconnect.timeline.canonical import normalize_email
from shopconnect.timeline.models import Customer, Store
from shopconnect.timeline.privacy import erase_customer, export_customer

from .models import DataRequest


def find_customer(store: Store, data: dict[str, Any]) -> Customer | None:
    email = normalize_email(data.get("email"))
    match = Q()
    if data.get("customer_id"):
        match |= Q(external_id=str(data["customer_id"]))
    if email:
        match |= Q(email=email)
    if not match:
        return None
    return Customer.objects.filter(store=store).filter(match).order_by("id").first()


def export(store: Store, data: dict[str, Any]) -> DataRequest:
    customer = find_customer(store, data)
    request, _ = DataRequest.objects.update_or_create(
        store=store,
        request_id=data.get("request_id") or "",
        customer_external_id=data.get("customer_id") or "",
        email=normalize_email(data.get("email")) or "",
        defaults={"found": customer is not None, "export": export_customer(customer) if customer else {}},
    )
    return request


REDACTED_BODY = b'{"redacted": "customers/redact"}'


def _deliveries_mentioning(store: Store, needle: str):
    """The store's raw deliveries whose body contains ``needle`` (in SQL: bodies are never loaded)."""
    if connection.vendor == "postgresql":
        where = "position(%s::bytea in body) > 0"
    else:
        where = "instr(body, CAST(%s AS BLOB)) > 0"
    return WebhookDelivery.objects.filter(store=store).extra(where=[where], params=[needle.encode()])


def redact_customer(store: Store, data: dict[str, Any]) -> bool:
    """Erase the customer, their exports, and the raw webhook bodies that mention them.

    Raw bodies are matched on the Shopify customer id and the email as Shopify sent it; a matching
    body is replaced by a marker (the delivery row stays, so duplicates are still recognised).
    """
    customer = find_customer(store, data)
    email = normalize_email(data.get("email"))
    for needle in {str(data.get("customer_id") or ""), str(data.get("email") or ""), email or ""} - {""}:
        _deliveries_mentioning(store, needle).update(body=REDACTED_BODY, headers={})
    exports = DataRequest.objects.filter(store=store).filter(
        Q(customer_external_id=data.get("customer_id") or "-") | Q(email=email or "-")
    )
    exports.delete()
    if customer is None:
        return False
    erase_customer(customer)
    return True


def redact_shop(store: Store) -> None:
    store_id = store.pk
    transaction.on_commit(lambda: async_task("integrations.shopify.tasks.erase_shop", store_id))


def uninstall(store: Store) -> None:
    Store.objects.filter(pk=store.pk).update(
        status=Store.Status.UNINSTALLED, uninstalled_at=timezone.now(), access_token=""
    )
