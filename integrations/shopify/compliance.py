"""Shopify's mandatory compliance topics and app uninstall, applied to our data.

- ``customers/data_request``: export everything held about the customer into a ``DataRequest`` row,
  kept for the store owner and shown in the admin.
- ``customers/redact``: erase the customer (profile, events, visitors, tags) and their exports; store
  aggregates stay consistent because they are sums over the remaining customers.
- ``shop/redact``: delete everything of the store, after the delivery's own transaction has committed
  (the delivery row belongs to the store).
- ``app/uninstalled``: mark the store uninstalled and drop its access token.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

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


def redact_customer(store: Store, data: dict[str, Any]) -> bool:
    customer = find_customer(store, data)
    email = normalize_email(data.get("email"))
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
