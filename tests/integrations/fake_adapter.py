"""A minimal adapter for testing the generic webhook machinery (registered only in tests/settings.py).

Store from the URL, signature ``X-Test-Signature`` = base64 HMAC-SHA256 of the body with the store's
webhook secret, topic from ``X-Test-Topic``, delivery id from ``X-Test-Delivery``. Topic ``thing/done``
becomes one ``custom.thing_done`` event; ``boom`` raises (to test failures); anything else is ignored.
"""

from __future__ import annotations

from datetime import datetime

from integrations.base import Normalized, PlatformAdapter, signature_matches
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Store


class FakeAdapter(PlatformAdapter):
    platform = "testplatform"
    kept_headers = ("X-Test-Topic", "X-Test-Delivery")

    def identify_store(self, request, store_id):
        return Store.objects.filter(pk=store_id).first()

    def verify(self, request, body, store):
        return signature_matches(request.headers.get("X-Test-Signature"), [store.webhook_secret], body)

    def topic(self, request):
        return request.headers.get("X-Test-Topic", "")

    def delivery_key(self, request, body):
        return request.headers.get("X-Test-Delivery", "")

    def normalize(self, topic, payload):
        if topic == "boom":
            raise ValueError("cannot handle this payload")
        if topic != "thing/done":
            return None
        return Normalized(events=[CanonicalEvent(
            type="custom.thing_done", occurred_at=datetime.fromisoformat(payload["at"]),
            dedupe_key=f"test:{payload['id']}", source="api", email=payload["email"], properties={"id": payload["id"]},
        )])
