"""The Shopify platform adapter: HTTP side of ``POST /webhooks/shopify/`` and what deliveries do.

- store: ``X-Shopify-Shop-Domain`` on ``Store(platform="shopify", domain=...)``, installed or not (the
  compliance topics must work after an uninstall);
- signature: ``X-Shopify-Hmac-Sha256``, base64 HMAC-SHA256 of the raw body with the app's
  ``SHOPIFY_API_SECRET`` or, during a rotation, ``SHOPIFY_API_SECRET_PREVIOUS``;
- duplicates: ``(store, topic, X-Shopify-Event-Id)``, falling back to ``X-Shopify-Webhook-Id``;
- meaning: ``integrations.shopify.topics`` (pure), then ``apply`` for what needs the database (refunds
  and carts linked to their customer, product URLs, compliance and uninstall actions).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from datetime import datetime
from typing import Any

import requests
from django.conf import settings
from django.http import HttpRequest

from integrations.base import DiscountRequest, Normalized, PlatformAdapter, WaitsForOrder, signature_matches
from integrations.owners import Owners, needs_cart_owner, needs_order_owner
from integrations.values import BadValue, timestamp
from shopconnect.outbound import OutboundBlocked, check_shopify_domain, check_url
from shopconnect.timeline.models import Platform, Product, Store

from . import compliance, topics
from .graphql import ShopifyAPIError

log = logging.getLogger(__name__)



class OrderNotYetKnown(WaitsForOrder):
    """A refund for an order not received yet: applied after its batch, or parked until the order arrives."""


SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


class ShopifyAdapter(PlatformAdapter):
    platform = Platform.SHOPIFY
    label = "Shopify"
    store_in_url = False  # one endpoint for every shop: the shop is X-Shopify-Shop-Domain
    urls = "integrations.shopify.urls"  # OAuth install and callback
    connect_options = {"domain": "NAME.myshopify.com", "access-token": "an Admin API access token"}
    kept_headers = (
        "X-Shopify-Topic",
        "X-Shopify-Shop-Domain",
        "X-Shopify-API-Version",
        "X-Shopify-Webhook-Id",
        "X-Shopify-Event-Id",
        "X-Shopify-Triggered-At",
    )

    # --- HTTP side ------------------------------------------------------------------------------
    def identify_store(self, request: HttpRequest, store_id: int | None) -> Store | None:
        domain = (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower()
        if not domain:
            return None
        # Only what the hot path needs: loading the encrypted columns would decrypt them for nothing.
        return (
            Store.objects.only("id", "platform", "domain", "status")
            .filter(platform=Platform.SHOPIFY, domain=domain)
            .first()
        )

    def store_key(self, request: HttpRequest, store_id: int | None) -> str | None:
        return (request.headers.get("X-Shopify-Shop-Domain") or "").strip().lower() or None

    def verify(self, request: HttpRequest, body: bytes, store: Store) -> bool:
        secrets = [settings.SHOPIFY_API_SECRET, settings.SHOPIFY_API_SECRET_PREVIOUS]
        return signature_matches(request.headers.get("X-Shopify-Hmac-Sha256"), secrets, body)

    def topic(self, request: HttpRequest) -> str:
        return (request.headers.get("X-Shopify-Topic") or "").strip()

    def delivery_key(self, request: HttpRequest, body: bytes) -> str:
        key = request.headers.get("X-Shopify-Event-Id") or request.headers.get("X-Shopify-Webhook-Id")
        # Shopify always sends one of them; a hand-made delivery without either is keyed by its body.
        return (key or "sha256:" + hashlib.sha256(body).hexdigest()).strip()

    def api_version(self, request: HttpRequest) -> str:
        return request.headers.get("X-Shopify-API-Version") or ""

    def triggered_at(self, request: HttpRequest) -> datetime | None:
        try:
            return timestamp(request.headers.get("X-Shopify-Triggered-At"), "X-Shopify-Triggered-At")
        except BadValue:
            return None

    # --- meaning --------------------------------------------------------------------------------
    def normalize(self, topic: str, payload: Any) -> Normalized | None:
        return topics.normalize(topic, payload)

    def expand(self, delivery, normalized: Normalized, owners: Owners | None = None) -> Normalized:
        store = delivery.store
        owners = owners or Owners()
        return Normalized(
            events=[self._complete(store, owners, e) for e in normalized.events],
            products=self._complete_products(store, normalized.products) if normalized.products else [],
        )

    def apply(self, delivery, normalized: Normalized) -> int:
        store = delivery.store
        for action, data in normalized.actions:
            self._act(store, action, data)
        return super().apply(delivery, normalized)  # then the events and products, like any delivery

    def _act(self, store: Store, action: str, data: dict[str, Any]) -> None:
        if action == "uninstall":
            compliance.uninstall(store)
        elif action == "export_customer":
            compliance.export(store, data)
        elif action == "redact_customer":
            compliance.redact_customer(store, data)
        elif action == "redact_shop":
            compliance.redact_shop(store)
        else:  # pragma: no cover - the topic table only produces the actions above
            raise ValueError(f"unknown action {action!r}")

    def _complete(self, store: Store, owners: Owners, event):
        """Fill what a pure function cannot know: the owner of refunds and of anonymous carts
        (``owners``: read once per drain batch)."""
        if needs_order_owner(event):
            owner = owners.order_owner(store, event)
            if owner is None:
                raise OrderNotYetKnown(event.order_ref, f"order {event.order_ref} is not known yet; the refund "
                                       "is applied once it arrives")
            return dataclasses.replace(event, customer_id=owner)
        if needs_cart_owner(event):
            owner = owners.cart_owner(store, event)
            if owner is not None:
                return dataclasses.replace(event, customer_id=owner)
        return event

    def _complete_products(self, store: Store, records: list) -> list:
        base = (store.url or f"https://{store.domain}").rstrip("/")
        known = dict(
            Product.objects.filter(store=store, external_id__in=[r.external_id for r in records]).values_list(
                "external_id", "collections"
            )
        )
        out = []
        for record in records:
            changes: dict[str, Any] = {}
            if record.handle and not record.url:
                changes["url"] = f"{base}/products/{record.handle}"
            if not record.collections and known.get(record.external_id):
                changes["collections"] = known[record.external_id]
            out.append(dataclasses.replace(record, **changes) if changes else record)
        return out

    # --- connection and history -----------------------------------------------------------------
    def clean_address(self, domain: str, url: str) -> tuple[str, str]:
        """The shop is ``NAME.myshopify.com`` (the only host we call); ``url`` is the storefront, https."""
        domain = check_shopify_domain(domain)
        return domain, (check_url(url).rstrip("/") if (url or "").strip() else f"https://{domain}")

    def store_address(self, options: dict[str, Any]) -> tuple[str, str]:
        try:
            return self.clean_address(options.get("domain") or "", "")
        except OutboundBlocked as exc:
            raise ValueError(f"--domain: {exc}") from None

    def connect(self, store: Store, options: dict[str, Any]) -> None:
        """``connect_store``: with an access token, subscribe the webhooks and ensure the reconciliation."""
        from .tasks import ensure_reconciliation_schedule, register_webhooks

        ensure_reconciliation_schedule(store.pk)
        if store.access_token:
            try:
                register_webhooks(store.pk)
            except (ShopifyAPIError, requests.RequestException) as exc:
                # The store is connected either way; running connect_store again retries the subscriptions.
                log.warning("could not subscribe store %s to Shopify webhooks: %s", store.pk, exc)

    def backfill(self, store: Store, since: datetime | None = None) -> dict[str, int]:
        from .backfill import run_backfill

        return run_backfill(store, since=since)

    def create_discount_code(self, store: Store, request: DiscountRequest) -> str:
        from .discounts import create_code

        return create_code(store, request)
