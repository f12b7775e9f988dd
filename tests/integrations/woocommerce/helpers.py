"""Payload files and real WooCommerce-style deliveries for the tests."""

from __future__ import annotations

import json
from pathlib import Path

from integrations.base import hmac_sha256_base64
from integrations.woocommerce.signature import wp_specialchars_decode

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def body_of(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def wc_headers(secret: str, body: bytes, topic: str, delivery_id: str = "d1", webhook_id: str = "5") -> dict:
    """Headers as WooCommerce sends them (signature keyed exactly as WC_Webhook::generate_signature)."""
    resource, _, event = topic.partition(".")
    return {
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": hmac_sha256_base64(wp_specialchars_decode(secret), body),
        "X-WC-Webhook-ID": webhook_id,
        "X-WC-Webhook-Delivery-ID": delivery_id,
    }


def deliver(client, store, name: str, topic: str, secret: str, body: bytes | None = None):
    body = body if body is not None else body_of(name)
    return client.post(
        f"/webhooks/woocommerce/{store.pk}/",
        data=body,
        content_type="application/json",
        headers=wc_headers(secret, body, topic),
    )
