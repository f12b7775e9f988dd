from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.core.cache import cache

_n = itertools.count(1)
T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)
TABLET_UA = (
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def ev(name: str = "product_viewed", client_id: str = "visitor-1", **fields) -> dict:
    event = {
        "id": fields.pop("id", str(uuid.uuid4())),
        "name": name,
        "timestamp": fields.pop("timestamp", f"2026-03-01T12:{next(_n) % 60:02d}:00Z"),
        "client_id": client_id,
        "url": "https://shop.example/product/linen-shirt/",
    }
    event.update(fields)
    return event


@pytest.fixture
def post_batch(client):
    def post(
        store,
        events,
        content_type="text/plain",
        ua=DESKTOP_UA,
        raw: bytes | None = None,
        remote_addr: str = "127.0.0.1",
    ):
        body = raw if raw is not None else json.dumps({"events": events}).encode()
        return client.post(
            f"/collect/{store.collect_key}/",
            data=body,
            content_type=content_type,
            headers={"User-Agent": ua},
            REMOTE_ADDR=remote_addr,
        )

    return post
