"""Outbound requests go only to public addresses: the one place that decides it.

Every host this service calls (a Shopify shop, a WooCommerce site, an email provider's API or SMTP
server) is named by a store owner or staff member, so it is untrusted: it could point at loopback, the
private network or a cloud metadata address (``169.254.169.254``) and make us send a store's secrets
there (SSRF). Two checks stop that:

- **when it is configured** (a form, ``connect_store``, the OAuth install): ``check_url`` /
  ``check_host`` / ``check_shopify_domain`` refuse a URL that is not https (http only with
  ``OUTBOUND_ALLOW_HTTP``), carries credentials, or whose host resolves to a non-public address;
- **when the request is made**: ``install()`` (called once at start-up by the timeline app) wraps
  urllib3's connection factory, so every HTTP(S) connection made through ``requests`` (our clients,
  the WooCommerce library, anymail's backends) checks the address it actually connected to. A host that
  resolved to a public address at configuration time and to a private one later (DNS rebinding) is
  refused there. SMTP connections call ``check_peer`` on their socket the same way.

``OUTBOUND_ALLOW_HOSTS`` (settings; comma-separated env var) names hosts that skip both checks: an
egress proxy, a mail relay on the private network, or the loopback fakes of the test suite. Error
messages name the host and the reason, never an address or a response body.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings

SHOPIFY_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


class OutboundBlocked(ConnectionError):
    """A request to a host that is not allowed. A ``ConnectionError`` (so an ``OSError``): raised inside
    urllib3 it surfaces as ``requests.ConnectionError``, which every client already handles."""


def _allowed_hosts() -> frozenset[str]:
    return frozenset(h.strip().lower().rstrip(".") for h in getattr(settings, "OUTBOUND_ALLOW_HOSTS", ()) if h)


def _normal(host: str) -> str:
    return (host or "").strip().lower().rstrip(".").strip("[]")


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local, reserved,
    shared, multicast or unspecified; IPv4-mapped IPv6 judged as the IPv4 it carries)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (tests replace this to resolve fake names)."""
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def check_host(host: str, port: int = 443) -> None:
    """Raise ``OutboundBlocked`` unless every address ``host`` resolves to is public (or it is allowed)."""
    name = _normal(host)
    if not name:
        raise OutboundBlocked("no host given")
    if name in _allowed_hosts():
        return
    try:
        addresses = resolve(name, port)
    except (OSError, UnicodeError):
        raise OutboundBlocked(f"{name} does not resolve") from None
    if not addresses or not all(is_public_address(a) for a in addresses):
        raise OutboundBlocked(f"{name} is not a public address (loopback, private, link-local or reserved)")


def check_url(url: str, *, allow_http: bool | None = None) -> str:
    """The URL, stripped, if it may be called; else ``OutboundBlocked`` saying why."""
    url = (url or "").strip()
    if allow_http is None:
        allow_http = bool(getattr(settings, "OUTBOUND_ALLOW_HTTP", False))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundBlocked("not a valid URL") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise OutboundBlocked("the URL must start with https://" + ("" if allow_http else " (http is not allowed)"))
    if parts.username or parts.password:
        raise OutboundBlocked("the URL must not carry a user name or password")
    if not parts.hostname:
        raise OutboundBlocked("the URL has no host")
    check_host(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    return url


def check_shopify_domain(domain: str) -> str:
    """The shop's ``NAME.myshopify.com`` domain, lowercased, or ``OutboundBlocked``."""
    name = _normal(domain)
    if not SHOPIFY_DOMAIN.fullmatch(name):
        raise OutboundBlocked("a Shopify shop domain looks like NAME.myshopify.com")
    return name


def error_summary(response) -> str:
    """What a failure message may say about an error response: the ``message`` (or ``code``) of a JSON
    error body, short, never the raw body (an internal service's answer must not reach an admin page)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        errors = body.get("errors")
        found = body.get("message") or body.get("code") or (errors if isinstance(errors, str) else None)
        if found is None and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            found = errors[0].get("message")
        if isinstance(found, str) and found.strip():
            return ": " + " ".join(found.split())[:200]
    return ""


def check_peer(sock: socket.socket, host: str) -> None:
    """After connecting: refuse (and close) a socket whose peer is not public, unless ``host`` is allowed."""
    if _normal(host) in _allowed_hosts():
        return
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return  # not connected: nothing was sent
    if not is_public_address(peer):
        sock.close()
        raise OutboundBlocked(f"{_normal(host)} is not a public address (loopback, private, link-local or reserved)")


_installed = False


def install() -> None:
    """Check the peer of every connection urllib3 opens (idempotent)."""
    global _installed
    if _installed:
        return
    from urllib3.util import connection

    original = connection.create_connection

    def create_connection(address, *args, **kwargs):
        sock = original(address, *args, **kwargs)
        check_peer(sock, address[0])
        return sock

    connection.create_connection = create_connection
    _installed = True
