"""The WSGI application gunicorn serves: webhooks through it (without the middleware stack) are stored
and answered like through Django's test client; other paths keep the whole stack."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest

from integrations.models import WebhookDelivery
from shopconnect.wsgi import application

from .shopify.helpers import SHOP, headers, raw

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """As Django's test client does: the end of a request must not close the test's connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(method: str, path: str, body: bytes = b"", extra: dict | None = None) -> tuple[str, dict, bytes]:
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update({"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
                    "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
                    "HTTP_HOST": "localhost"})
    for name, value in (extra or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = status, dict(response_headers)

    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content


def test_a_signed_webhook_through_the_wsgi_application_is_stored(make_store, settings):
    settings.SHOPIFY_API_SECRET = "shpss_test_secret"
    store = make_store(platform="shopify", domain=SHOP)
    body = raw("orders_create")
    status, _, content = call("POST", "/webhooks/shopify/", body, headers(body, "orders/create", "wsgi-1"))
    assert status.startswith("200") and json.loads(content) == {"status": "accepted"}
    assert WebhookDelivery.objects.get(store=store).delivery_key == "wsgi-1"
    status, _, content = call("POST", "/webhooks/shopify/", body, headers(body, "orders/create", "wsgi-1"))
    assert json.loads(content) == {"status": "duplicate"}
    bad = {**headers(body, "orders/create", "wsgi-2"), "X-Shopify-Hmac-Sha256": "forged"}
    assert call("POST", "/webhooks/shopify/", body, bad)[0].startswith("401")
    assert call("GET", "/webhooks/shopify/")[0].startswith("405")


def test_other_paths_keep_the_middleware(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    status, response_headers, _ = call("GET", "/admin/login/")
    assert status.startswith("200")
    assert response_headers.get("X-Frame-Options") == "DENY"  # clickjacking protection still applies
