"""Shared helpers of the Shopify tests: payload files, signed deliveries, a connected store."""

from __future__ import annotations

import json
from pathlib import Path

from integrations.base import hmac_sha256_base64

PAYLOADS = Path(__file__).parent / "payloads"
SHOP = "zoe-test.myshopify.com"
SECRET = "shpss_test_secret"
PREVIOUS_SECRET = "shpss_previous_secret"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))


def raw(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def headers(
    body: bytes,
    topic: str,
    event_id: str,
    *,
    shop: str = SHOP,
    secret: str = SECRET,
    webhook_id: str | None = None,
) -> dict:
    out = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2025-10",
        "X-Shopify-Webhook-Id": webhook_id or f"wh-{event_id}",
        "X-Shopify-Triggered-At": "2026-02-20T12:00:00.000000Z",
        "X-Shopify-Hmac-Sha256": hmac_sha256_base64(secret, body),
    }
    if event_id:
        out["X-Shopify-Event-Id"] = event_id
    return out


def post(client, name_or_body, topic: str, event_id: str, **kw):
    body = raw(name_or_body) if isinstance(name_or_body, str) else name_or_body
    return client.post(
        "/webhooks/shopify/",
        data=body,
        content_type="application/json",
        headers=headers(body, topic, event_id, **kw),
    )
