from __future__ import annotations

import pytest

from .helpers import PREVIOUS_SECRET, SECRET, SHOP


@pytest.fixture(autouse=True)
def shopify_secrets(settings):
    settings.SHOPIFY_API_KEY = "test-api-key"
    settings.SHOPIFY_API_SECRET = SECRET
    settings.SHOPIFY_API_SECRET_PREVIOUS = PREVIOUS_SECRET


@pytest.fixture
def shop(make_store):
    return make_store(platform="shopify", domain=SHOP, url=f"https://{SHOP}", currency="EUR")
