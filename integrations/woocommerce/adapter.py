"""The WooCommerce adapter: ``POST /webhooks/woocommerce/<store_id>/``.

HTTP: the store comes from the URL; the signature is ``X-WC-Webhook-Signature`` (base64 HMAC-SHA256 of
the raw body, keyed with the secret as WooCommerce decodes it: ``signature.signing_key``); the topic is
``X-WC-Webhook-Topic``. The unsigned creation ping (form body ``webhook_id=N``, no ``X-WC-*`` headers) is
answered 200 and not stored. WooCommerce's delivery id changes on every send, so the inbox's duplicate key
is the webhook id plus a hash of the body: the same state delivered twice is stored once.

Meaning: ``topics.normalize`` (pure). ``apply`` adds the two actions that need the database: a deleted
order becomes a cancellation of that order on its customer's timeline, a deleted customer is marked
deleted (``{"id": N}`` bodies carry nothing else).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.management.base import CommandError
from django.http import HttpRequest

from integrations.base import DiscountRequest, Normalized, PlatformAdapter, signature_matches
from integrations.models import WebhookDelivery
from integrations.orders import Order, order_events
from integrations.owners import Owners
from shopconnect.outbound import check_url
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Customer, Event, Platform, Store

from . import sync, topics
from .signature import signing_key

PING_BODY = re.compile(rb"^webhook_id=\d+$")


class WooCommerceAdapter(PlatformAdapter):
    platform = Platform.WOOCOMMERCE
    label = "WooCommerce"
    connect_options = {
        "webhook-secret": "the secret of webhooks created by hand",
        "consumer-key": "REST API key (creates the webhooks)",
        "consumer-secret": "REST API secret",
    }
    kept_headers = (
        "X-WC-Webhook-Topic",
        "X-WC-Webhook-Resource",
        "X-WC-Webhook-Event",
        "X-WC-Webhook-ID",
        "X-WC-Webhook-Delivery-ID",
        "X-WC-Webhook-Source",
    )

    def identify_store(self, request: HttpRequest, store_id: int | None) -> Store | None:
        return Store.objects.filter(pk=store_id, platform=Platform.WOOCOMMERCE).first()

    def is_ping(self, request: HttpRequest, body: bytes) -> bool:
        has_wc_headers = any(k.lower().startswith("x-wc-webhook-") for k in request.headers)
        return not has_wc_headers and bool(PING_BODY.match(body.strip()))

    def verify(self, request: HttpRequest, body: bytes, store: Store) -> bool:
        secret = store.webhook_secret
        return bool(secret) and signature_matches(
            request.headers.get("X-WC-Webhook-Signature"), [signing_key(secret)], body
        )

    def topic(self, request: HttpRequest) -> str:
        return (request.headers.get("X-WC-Webhook-Topic") or "").strip()

    def delivery_key(self, request: HttpRequest, body: bytes) -> str:
        return f"{request.headers.get('X-WC-Webhook-ID', '')}:{hashlib.sha256(body).hexdigest()}"

    def normalize(self, topic: str, payload: Any) -> Normalized | None:
        return topics.normalize(topic, payload)

    def runs_alone(self, normalized: Normalized) -> bool:
        return False  # its actions (deletions) only become events, in expand

    def expand(self, delivery: WebhookDelivery, normalized: Normalized, owners: Owners | None = None) -> Normalized:
        """Deletions become events, read from the timeline."""
        store = delivery.store
        events = list(normalized.events)
        for action, data in normalized.actions:
            if action == "order_deleted":
                events.extend(_order_deleted(store, data["order_id"], delivery.received_at))
            elif action == "customer_deleted":
                events.extend(_customer_deleted(store, data["customer_id"], delivery.received_at))
        return Normalized(events=events, products=normalized.products)

    def clean_address(self, domain: str, url: str) -> tuple[str, str]:
        """The site's public https URL (its keys travel with basic auth); the domain is its host and path."""
        url = check_url(url).rstrip("/")
        parts = urlsplit(url)
        return parts.hostname + (parts.path or ""), url

    def store_address(self, options: dict[str, Any]) -> tuple[str, str]:
        if bool(options.get("consumer_key")) != bool(options.get("consumer_secret")):
            raise ValueError("--consumer-key and --consumer-secret go together")
        return super().store_address(options)

    def connect(self, store: Store, options: dict[str, Any]) -> None:
        sync.connection(store)
        if store.consumer_key and store.consumer_secret:
            try:
                sync.register_webhooks(store)
            except (sync.WooCommerceError, requests.RequestException) as exc:
                raise CommandError(f"could not register the webhooks on {store.url}: {exc}") from exc
            sync.ensure_schedule()

    def backfill(self, store: Store, since: datetime | None = None) -> dict[str, int]:
        try:
            return sync.backfill(store, since)
        except (sync.WooCommerceError, requests.RequestException) as exc:
            raise CommandError(f"backfill stopped ({exc}); run it again to resume where it stopped") from exc

    def create_discount_code(self, store: Store, request: DiscountRequest) -> str:
        from .coupons import create_code

        return create_code(store, request)


def _order_deleted(store: Store, order_id: str, at: datetime) -> list[CanonicalEvent]:
    placed = (
        Event.objects.filter(store=store, order_ref=order_id, type="order.placed", customer__isnull=False)
        .values_list("customer_id", flat=True)
        .first()
    )
    if placed is None:
        return []  # never an order on our side (a draft, or unknown): nothing to take back
    # the shared builder's order.cancelled (same properties and key as a cancellation seen in a snapshot)
    cancelled = Order(platform=topics.SOURCE, order_id=order_id, placed_at=at, placed=False, cancelled_at=at,
                      cancel_reason="deleted")
    return [dataclasses.replace(e, customer_id=placed) for e in order_events(cancelled)]


def _customer_deleted(store: Store, customer_id: str, at: datetime) -> list[CanonicalEvent]:
    if not Customer.objects.filter(store=store, external_id=customer_id).exists():
        return []  # do not create a customer only to mark it deleted
    return [
        CanonicalEvent(
            type="customer.deleted",
            occurred_at=at,
            dedupe_key=f"woocommerce:customer:{customer_id}:deleted",
            source=topics.SOURCE,
            external_id=customer_id,
            properties={"customer_id": customer_id},
        )
    ]
