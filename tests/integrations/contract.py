"""The webhook contract every platform adapter's tests inherit.

Subclass ``WebhookContract`` in ``tests/integrations/<platform>/`` and provide the fixtures/hooks:

- ``connected_store`` fixture: a Store the adapter accepts;
- ``url(store)``: the endpoint; ``signed_headers(store, body, topic, delivery_id)``: headers of a real,
  correctly signed delivery; ``unsigned_headers(...)`` the same without the signature header;
- ``handled_topic`` / ``handled_body(store)``: a topic the adapter turns into at least one event and a
  realistic body (bytes) for it; ``unknown_topic``: a topic it ignores;
- ``unknown_store_request(client, body)``: the response of a correctly formed (signed where the signature
  does not depend on the store) delivery for a store that does not exist: it must answer exactly like an
  unsigned delivery (401), so that nobody can enumerate the stores;
- optionally ``failing_body(store)``: a signed-able body for ``handled_topic`` that processing rejects
  (the test is skipped when it returns None).
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from integrations.models import WebhookDelivery
from shopconnect.timeline.models import Event


@pytest.mark.django_db
class WebhookContract:
    handled_topic: str = ""
    unknown_topic: str = "unknown/topic"

    # -- hooks ------------------------------------------------------------------------------------
    def url(self, store) -> str:
        raise NotImplementedError

    def signed_headers(self, store, body: bytes, topic: str, delivery_id: str) -> dict:
        raise NotImplementedError

    def unsigned_headers(self, store, body: bytes, topic: str, delivery_id: str) -> dict:
        raise NotImplementedError

    def handled_body(self, store) -> bytes:
        raise NotImplementedError

    def unknown_store_request(self, client, body: bytes):
        raise NotImplementedError

    def failing_body(self, store) -> bytes | None:
        return None

    # -- helpers ----------------------------------------------------------------------------------
    def post(self, client, store, body: bytes, headers: dict):
        return client.post(self.url(store), data=body, content_type="application/json", headers=headers)

    # -- the contract -----------------------------------------------------------------------------
    def test_signed_delivery_is_stored_and_becomes_events(self, client, connected_store):
        body = self.handled_body(connected_store)
        response = self.post(client, connected_store, body,
                             self.signed_headers(connected_store, body, self.handled_topic, "d-1"))
        assert response.status_code == 200
        delivery = WebhookDelivery.objects.get(store=connected_store)
        assert bytes(delivery.body) == body
        assert delivery.status == WebhookDelivery.Status.PROCESSED
        assert Event.objects.filter(store=connected_store).exists()

    def test_missing_signature_is_401_and_nothing_stored(self, client, connected_store):
        body = self.handled_body(connected_store)
        response = self.post(client, connected_store, body,
                             self.unsigned_headers(connected_store, body, self.handled_topic, "d-2"))
        assert response.status_code == 401
        assert not WebhookDelivery.objects.exists()
        assert not Event.objects.exists()

    def test_wrong_signature_is_401_and_nothing_stored(self, client, connected_store):
        body = self.handled_body(connected_store)
        headers = self.signed_headers(connected_store, body + b" ", self.handled_topic, "d-3")
        response = self.post(client, connected_store, body, headers)
        assert response.status_code == 401
        assert not WebhookDelivery.objects.exists()
        assert not Event.objects.exists()

    def test_duplicate_delivery_is_stored_once(self, client, connected_store):
        body = self.handled_body(connected_store)
        headers = self.signed_headers(connected_store, body, self.handled_topic, "d-4")
        first = self.post(client, connected_store, body, headers)
        events_after_first = Event.objects.count()
        second = self.post(client, connected_store, body, headers)
        assert first.status_code == second.status_code == 200
        assert WebhookDelivery.objects.count() == 1
        assert Event.objects.count() == events_after_first

    def test_unknown_topic_is_200_stored_and_ignored(self, client, connected_store):
        body = b'{"id": 1}'
        response = self.post(client, connected_store, body,
                             self.signed_headers(connected_store, body, self.unknown_topic, "d-5"))
        assert response.status_code == 200
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == WebhookDelivery.Status.IGNORED
        assert not Event.objects.exists()

    def test_oversize_body_is_413(self, client, connected_store):
        body = b'{"pad": "' + b"x" * 2048 + b'"}'
        with override_settings(WEBHOOK_MAX_BODY_BYTES=1024):
            response = self.post(client, connected_store, body,
                                 self.signed_headers(connected_store, body, self.handled_topic, "d-6"))
        assert response.status_code == 413
        assert not WebhookDelivery.objects.exists()

    def test_unknown_store_answers_exactly_like_an_unsigned_request(self, client, connected_store):
        """No store enumeration: a delivery for a store we do not serve gets the same status and body as
        an unsigned one for a store we do."""
        body = self.handled_body(connected_store)
        unknown = self.unknown_store_request(client, body)
        unsigned = self.post(client, connected_store, body,
                             self.unsigned_headers(connected_store, body, self.handled_topic, "d-8"))
        assert unknown.status_code == unsigned.status_code == 401
        assert unknown.content == unsigned.content and unknown["Content-Type"] == unsigned["Content-Type"]
        assert not WebhookDelivery.objects.exists()

    def test_processing_failure_is_acknowledged_stored_and_recorded(self, client, connected_store):
        body = self.failing_body(connected_store)
        if body is None:
            pytest.skip("the adapter's tests give no failing body")
        response = self.post(client, connected_store, body,
                             self.signed_headers(connected_store, body, self.handled_topic, "d-7"))
        assert response.status_code == 200  # acknowledged: the delivery is stored, processing is separate
        delivery = WebhookDelivery.objects.get(store=connected_store)
        assert delivery.status == WebhookDelivery.Status.FAILED
        assert delivery.attempts == 1 and delivery.last_error
        assert bytes(delivery.body) == body
