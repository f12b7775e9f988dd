"""Shopify's mandatory compliance topics and app uninstall, applied to our data.

- ``customers/data_request``: export everything held about the customer into a ``DataRequest`` row,
  kept for the store owner and shown in the admin.
- ``customers/redact``: erase the customer exactly as the admin's and the API's erase do
  (``shopconnect.privacy.erase``: profile, events, messages, exports, the raw bodies that mention them;
  suppressions keep only a hash of the address); store aggregates stay consistent because they are sums
  over the remaining customers.
- ``shop/redact``: erase everything of the store (``shopconnect.privacy.shop``: in foreign-key order, in
  chunks, retried until done). The delivery waits (``ActionPending``) rather than being marked processed
  until then; it is deleted with the store.
- ``app/uninstalled``: mark the store uninstalled and drop its access token.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from integrations.base import ActionPending
from shopconnect.privacy.erase import erase_customer, needles, scrub_raw_data
from shopconnect.privacy.export import export_customer
from shopconnect.privacy.models import PrivacyRequest
from shopconnect.privacy.shop import request_store_erasure
from shopconnect.timeline.canonical import normalize_email
from shopconnect.timeline.models import Customer, Store

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
    """Erase the customer (if known) and the raw webhook bodies that mention them."""
    customer = find_customer(store, data)
    email = normalize_email(data.get("email"))
    extra = tuple({str(data.get("email") or ""), email or ""} - {""})
    if customer is None:
        scrub_raw_data(store, needles(None, str(data.get("customer_id") or ""), extra))
        DataRequest.objects.filter(store=store).filter(
            Q(customer_external_id=data.get("customer_id") or "-") | Q(email=email or "-")).delete()
        return False
    erase_customer(customer, via=PrivacyRequest.Via.SHOPIFY, reason="Shopify customers/redact",
                   search_extra=extra)
    return True


def redact_shop(store: Store) -> None:
    erasure = request_store_erasure(store, via="shop/redact")
    raise ActionPending(f"shop erasure #{erasure.pk} is running; this delivery is deleted with the store "
                        f"(Privacy > Store erasures shows its progress)")


def uninstall(store: Store) -> None:
    Store.objects.filter(pk=store.pk).update(
        status=Store.Status.UNINSTALLED, uninstalled_at=timezone.now(), access_token=""
    )
