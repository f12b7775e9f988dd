"""A real Chromium loads a product page with script.js; the visitor's behaviour reaches its timeline.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright`` package; no browser download.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.db import connections
from django.test import override_settings

from shopconnect.timeline.models import Customer, Event, Visitor

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test dependency is missing
    sync_playwright = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.urls("tests.integrations.storefront.browser_urls"),
    pytest.mark.skipif(sync_playwright is None, reason="the playwright package is not installed"),
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) or shutil.which("chromium")),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


def is_collect_post(response) -> bool:
    return "/collect/" in response.url and response.request.method == "POST"


def test_product_view_and_add_to_cart_reach_the_visitors_timeline(
    live_server, transactional_db, make_store, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; our ORM checks here are plain and sequential.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    store = make_store(platform="woocommerce")
    # The page is served from 127.0.0.1 and posts to localhost: a cross-origin request, as on a real shop.
    page_url = (
        live_server.url.replace("localhost", "127.0.0.1") + f"/test-shop/{store.collect_key}/product/linen-shirt/"
    )
    with override_settings(PUBLIC_BASE_URL=live_server.url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(
                user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
                "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
            )
            sent = []
            page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
            page.goto(page_url, wait_until="networkidle")
            page.wait_for_function("typeof window.shopconnect === 'function'")
            # No consent yet: nothing stored, nothing sent.
            assert page.evaluate("localStorage.getItem('sc_cid')") is None
            assert not Event.objects.exists() and sent == []

            with page.expect_response(is_collect_post) as first:
                page.evaluate("shopconnect('consent', true)")
                page.click("#add")
                page.evaluate("shopconnect('flush')")
            assert first.value.status == 202
            assert first.value.headers["access-control-allow-origin"] == "*"
            client_id = page.evaluate("localStorage.getItem('sc_cid')")

            visitor = Visitor.objects.get(store=store, client_id=client_id)
            assert visitor.device == "mobile" and visitor.customer is None
            events = {e.type: e for e in Event.objects.filter(visitor=visitor)}
            assert set(events) == {"page.viewed", "product.viewed", "cart.updated"}
            assert events["product.viewed"].properties["product_id"] == "93"
            assert events["cart.updated"].properties["quantity"] == 2
            assert events["page.viewed"].properties["title"] == "Linen Shirt"

            # Leaving the page sends the visible time on it, tied to the product the page showed.
            with page.expect_response(is_collect_post) as left:
                page.evaluate("window.dispatchEvent(new Event('pagehide'))")
            assert left.value.status == 202
            spent = Event.objects.get(visitor=visitor, type="custom.time_on_page").properties
            assert (spent["product_id"], spent["title"], spent["page_type"]) == ("93", "Linen Shirt", "product")
            assert isinstance(spent["duration_seconds"], int) and spent["duration_seconds"] >= 0

            # The visitor types its email (as at checkout): its history moves to the customer.
            with page.expect_response(is_collect_post) as second:
                page.fill("#email", "Shopper@Example.com")
                page.dispatch_event("#email", "change")
                page.evaluate("shopconnect('track', 'checkout_started', {checkout_id: 'c-1'}); shopconnect('flush')")
            assert second.value.status == 202
        finally:
            browser.close()
            # Queries made while Playwright's loop runs use their own connection: close it here, or it
            # outlives the test database (PostgreSQL refuses to drop a database still in use).
            connections.close_all()
    customer = Customer.objects.get(store=store, email="shopper@example.com")
    assert sorted(customer.events.values_list("type", flat=True)) == [
        "cart.updated",
        "checkout.started",
        "custom.time_on_page",
        "page.viewed",
        "product.viewed",
    ]
    assert customer.device == "mobile"
