"""The outbound guard: configured hosts and actual connections must be public (SSRF)."""

from __future__ import annotations

import http.server
import threading

import pytest
import requests

from shopconnect import outbound


@pytest.fixture
def loopback_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/",
        "https://127.0.0.1/",
        "https://localhost/",
        "https://10.0.0.8/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://user:pass@shop.example/",
        "ftp://shop.example/",
        "https://",
    ],
)
def test_configured_urls_to_internal_addresses_are_refused(url):
    with pytest.raises(outbound.OutboundBlocked):
        outbound.check_url(url)


def test_a_public_https_url_is_accepted(monkeypatch):
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["93.184.216.34"])
    assert outbound.check_url(" https://shop.example/ ") == "https://shop.example/"


def test_http_only_when_allowed(monkeypatch):
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["93.184.216.34"])
    with pytest.raises(outbound.OutboundBlocked, match="https"):
        outbound.check_url("http://shop.example/")
    assert outbound.check_url("http://shop.example/", allow_http=True)


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["93.184.216.34", "10.1.2.3"])
    with pytest.raises(outbound.OutboundBlocked, match="not a public address") as info:
        outbound.check_host("rebind.example")
    assert "10.1.2.3" not in str(info.value)


@pytest.mark.parametrize(
    "domain", ["evil.example", "a.myshopify.com.evil.example", "-x.myshopify.com", "x/y.myshopify.com"]
)
def test_shopify_domains_must_be_myshopify(domain):
    with pytest.raises(outbound.OutboundBlocked):
        outbound.check_shopify_domain(domain)


def test_shopify_domain_is_normalised():
    assert outbound.check_shopify_domain(" My-Shop.myshopify.com. ") == "my-shop.myshopify.com"


def test_a_request_that_connects_to_loopback_is_refused_at_connect_time(loopback_server, settings):
    # What DNS rebinding does: the host passed the check when configured, the connection lands inside.
    settings.OUTBOUND_ALLOW_HOSTS = []
    with pytest.raises(requests.ConnectionError, match="not a public address"):
        requests.get(loopback_server, timeout=5)


def test_allowed_hosts_skip_the_check(loopback_server, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    assert requests.get(loopback_server, timeout=5).status_code in (200, 404)
