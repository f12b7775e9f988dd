"""A tiny signed-webhook adapter for the flow tests (Shopify-like checkout and order topics).

Signature ``X-Test-Signature`` = base64 HMAC-SHA256 of the body with the store's webhook secret.
``checkouts/create`` -> ``checkout.started``; ``orders/create`` -> ``order.placed``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from integrations.base import Normalized
from shopconnect.timeline.canonical import CanonicalEvent

from ..integrations.fake_adapter import FakeAdapter


class ShopAdapter(FakeAdapter):
    """The fake adapter's store lookup, signature and headers; Shopify-like topics."""

    platform = "flowshop"

    def normalize(self, topic, payload):
        at = datetime.fromisoformat(payload["at"])
        lines = [{"product_id": str(i["product_id"]), "title": i["title"], "quantity": i["quantity"],
                  "price": i["price"]} for i in payload.get("line_items", [])]
        if topic == "checkouts/create":
            return Normalized(events=[CanonicalEvent(
                type="checkout.started", occurred_at=at, dedupe_key=f"checkout:{payload['id']}", source="api",
                email=payload["email"], properties={"checkout_id": str(payload["id"]), "line_items": lines,
                                                    "total": payload["total"], "recovery_url": payload["recovery_url"]},
            )])
        if topic == "orders/create":
            return Normalized(events=[CanonicalEvent(
                type="order.placed", occurred_at=at, dedupe_key=f"order:{payload['id']}", source="api",
                email=payload["email"], order_ref=str(payload["id"]), amount=Decimal(payload["total"]),
                properties={"order_id": str(payload["id"]), "checkout_id": str(payload.get("checkout_id") or ""),
                            "line_items": lines, "total": payload["total"]},
            )])
        return None
