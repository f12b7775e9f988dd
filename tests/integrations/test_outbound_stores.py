"""Outbound requests go only to the store's platform (issue 13 item 3): attacks on where a store lives.

A store's secrets (the Shopify access token, the WooCommerce consumer key) travel with every request to
the address the store names, so that address is checked where it is accepted (the admin, connect_store,
the OAuth install) and again when the request is made; a name that later resolves inside (DNS rebinding)
is refused at connect time by the urllib3 guard.
"""

from __future__ import annotations

import re
import socket
import threading
from io import StringIO

import pytest
import requests
import responses
from django.core.management import CommandError, call_command

from integrations.shopify.graphql import ShopifyAPIError
from integrations.shopify.tasks import reconcile_store
from integrations.woocommerce import sync
from shopconnect import outbound
from shopconnect.timeline.models import Store

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_request_leaves():
    """Every HTTP request made through ``requests`` is caught here (and answered 200 with a secret body):
    the tests assert that none was made."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, re.compile(".*"), body="ami-id: INTERNAL-METADATA-BODY")
        rsps.add(responses.POST, re.compile(".*"), body="INTERNAL-METADATA-BODY")
        yield rsps


def admin_change(client, store, **changes):
    data = {"platform": store.platform, "domain": store.domain, "url": store.url, "name": store.name,
            "currency": store.currency, "timezone": store.timezone, "status": store.status,
            "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0", **changes}
    return client.post(f"/admin/timeline/store/{store.pk}/change/", data)


@pytest.mark.parametrize("domain", ["evil.example", "shop.myshopify.com.evil.example", "169.254.169.254"])
def test_the_store_admin_refuses_a_shopify_domain_that_is_not_myshopify(admin_client, make_store, domain):
    store = make_store(platform="shopify", access_token="shpat_secret")
    response = admin_change(admin_client, store, domain=domain)
    assert response.status_code == 200 and b"NAME.myshopify.com" in response.content
    store.refresh_from_db()
    assert store.domain.endswith(".myshopify.com")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "https://169.254.169.254/",
                                 "https://127.0.0.1:8000/", "https://10.0.0.8/", "https://user:pw@shop.example/"])
def test_the_store_admin_refuses_a_woocommerce_url_inside_or_not_https(admin_client, make_store, url):
    store = make_store(platform="woocommerce", url="https://shop.example", consumer_key="ck", consumer_secret="cs")
    response = admin_change(admin_client, store, url=url)
    assert response.status_code == 200 and b"errornote" in response.content
    store.refresh_from_db()
    assert store.url == "https://shop.example"


def test_the_store_admin_accepts_a_public_https_site(admin_client, make_store):
    store = make_store(platform="woocommerce", url="https://shop.example")
    assert admin_change(admin_client, store, url="https://new-shop.example/").status_code == 302
    store.refresh_from_db()
    assert (store.url, store.domain) == ("https://new-shop.example", "new-shop.example")


def test_reconciliation_never_sends_the_shopify_token_to_a_domain_changed_behind_the_checks(
    make_store, no_request_leaves
):
    store = make_store(platform="shopify", access_token="shpat_secret")
    Store.objects.filter(pk=store.pk).update(domain="evil.example")  # a database edit, no form involved
    with pytest.raises(ShopifyAPIError, match="NAME.myshopify.com") as info:
        reconcile_store(store.pk)
    assert "INTERNAL" not in str(info.value)
    assert len(no_request_leaves.calls) == 0


def test_reconciliation_never_sends_the_woocommerce_keys_to_the_metadata_address(make_store, no_request_leaves):
    store = make_store(platform="woocommerce", url="https://shop.example", consumer_key="ck_x", consumer_secret="cs")
    Store.objects.filter(pk=store.pk).update(url="http://169.254.169.254")
    with pytest.raises(sync.WooCommerceError, match="https") as info:
        sync.reconcile(store.pk)
    assert "INTERNAL" not in str(info.value)
    assert len(no_request_leaves.calls) == 0


def test_dns_rebinding_after_connect_is_refused_before_the_keys_are_sent(make_store, monkeypatch, no_request_leaves):
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["93.184.216.34"])
    store = make_store(platform="woocommerce", url="https://rebind.example", consumer_key="ck", consumer_secret="cs")
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["169.254.169.254"])  # the name now points inside
    with pytest.raises(sync.WooCommerceError, match="not a public address") as info:
        sync.reconcile(store.pk)
    assert "169.254" not in str(info.value)  # the message names the host, never the address
    assert len(no_request_leaves.calls) == 0


@pytest.fixture
def silent_loopback():
    """A TCP server on loopback that records whatever bytes reach it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    received: list[bytes] = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.settimeout(2)
            try:
                received.append(conn.recv(65536))
            except OSError:
                pass
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], received
    server.close()


def test_dns_rebinding_between_the_check_and_the_connection_is_refused_at_connect_time(
    make_store, monkeypatch, silent_loopback, settings
):
    """The name passes every check, then the connection itself lands on loopback: the urllib3 guard closes
    it before a byte (the consumer key in the Authorization header) is written."""
    port, received = silent_loopback
    settings.OUTBOUND_ALLOW_HOSTS = []
    store = make_store(platform="woocommerce", url=f"https://rebind.example:{port}", consumer_key="ck_secret",
                       consumer_secret="cs_secret")
    real_getaddrinfo = socket.getaddrinfo

    def rebound(host, *args, **kwargs):
        return real_getaddrinfo("127.0.0.1" if host == "rebind.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    with pytest.raises(requests.ConnectionError, match="not a public address"):
        sync.reconcile(store.pk)
    assert b"ck_secret" not in b"".join(received) and all(not chunk for chunk in received)


@pytest.mark.parametrize("url, why", [("http://169.254.169.254", "https"),
                                      ("https://169.254.169.254/latest/meta-data/", "not a public address"),
                                      ("https://localhost/", "not a public address"),
                                      ("https://[::ffff:10.0.0.1]/", "not a public address")])
def test_connect_store_refuses_an_internal_url_and_fetches_nothing(url, why, no_request_leaves):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=why) as info:
        call_command("connect_store", "--platform", "woocommerce", "--url", url, "--consumer-key", "ck_x",
                     "--consumer-secret", "cs_x", stdout=out, stderr=err)
    assert str(info.value).startswith("--url: ")
    assert "INTERNAL" not in str(info.value) + out.getvalue() + err.getvalue()
    assert out.getvalue() == "" and not Store.objects.exists() and len(no_request_leaves.calls) == 0


@pytest.mark.parametrize("domain", ["evil.example", "169.254.169.254", "x.myshopify.com.evil.example"])
def test_connect_store_refuses_a_shopify_domain_that_is_not_myshopify(domain, no_request_leaves):
    with pytest.raises(CommandError, match="NAME.myshopify.com"):
        call_command("connect_store", "--platform", "shopify", "--domain", domain, "--access-token", "shpat_x",
                     stdout=StringIO())
    assert not Store.objects.exists() and len(no_request_leaves.calls) == 0


def test_a_platform_error_message_never_echoes_the_response_body(make_store):
    store = make_store(platform="woocommerce", url="https://shop.example", consumer_key="ck", consumer_secret="cs")
    shopify = make_store(platform="shopify", access_token="shpat_x")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, re.compile(r"https://shop\.example/.*"), status=500,
                 body="<html>INTERNAL stack trace, db password=hunter2</html>")
        rsps.add(responses.POST, re.compile(r"https://.*myshopify\.com/.*"), status=503, body="INTERNAL proxy page")
        with pytest.raises(sync.WooCommerceError) as woo:
            sync.reconcile(store.pk)
        with pytest.raises(ShopifyAPIError) as shop:
            reconcile_store(shopify.pk)
    for message in (str(woo.value), str(shop.value)):
        assert "INTERNAL" not in message and "hunter2" not in message and "HTTP 5" in message
