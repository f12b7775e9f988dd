"""A minimal adapter for testing the generic webhook machinery (registered only in tests/settings.py).

It is also the proof that adding a platform touches no core file: this module and one line in
``PLATFORM_ADAPTERS`` give a store choice, ``connect_store --platform testplatform``, a webhook URL, a
public page (``urls``), signed deliveries and events on the timeline (tests/integrations/test_new_platform.py).

Store from the URL, signature ``X-Test-Signature`` = base64 HMAC-SHA256 of the body with the store's
webhook secret, topic from ``X-Test-Topic``, delivery id from ``X-Test-Delivery``. Topic ``thing/done``
becomes one ``custom.thing_done`` event; ``order/placed`` an order through the shared builder; ``boom``
raises (to test failures); anything else is ignored.
"""

from __future__ import annotations

from datetime import datetime

from integrations.base import Normalized, PlatformAdapter, signature_matches
from integrations.orders import Order, order_events
from integrations.values import money, timestamp
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Store


class FakeAdapter(PlatformAdapter):
    platform = "testplatform"
    label = "Test platform"
    kept_headers = ("X-Test-Topic", "X-Test-Delivery")
    urls = "tests.integrations.fake_urls"
    connect_options = {"region": "the test platform's region"}
    connected: list[tuple[int, str]] = []

    def connect(self, store, options):
        self.connected.append((store.pk, options.get("region") or ""))

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
        if topic == "order/placed":
            order = Order(platform=self.platform, order_id=str(payload["id"]), email=payload["email"],
                          placed_at=timestamp(payload["at"], "at"), total=money(payload["total"], "total"),
                          currency=payload.get("currency", ""), paid_at=timestamp(payload.get("paid_at"), "paid_at"))
            return Normalized(events=order_events(order))
        if topic != "thing/done":
            return None
        return Normalized(events=[CanonicalEvent(
            type="custom.thing_done", occurred_at=datetime.fromisoformat(payload["at"]),
            dedupe_key=f"test:{payload['id']}", source="api", email=payload["email"], properties={"id": payload["id"]},
        )])
