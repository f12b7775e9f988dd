"""The platform adapter interface.

An adapter turns one platform's HTTP deliveries into canonical data. The generic webhook view
(``integrations.views``) owns HTTP: size limit, store lookup, signature check, storing the delivery,
status codes. The task (``integrations.tasks.process_delivery``) calls ``normalize`` then ``apply``.

Subclasses must implement ``identify_store``, ``verify``, ``topic``, ``delivery_key`` and ``normalize``.
``normalize`` is pure (no database, no network): it is tested from JSON payload files alone. Override
``expand`` to complete events with what the database knows, and ``runs_alone`` and ``apply`` for topics
that do more than record events and products (uninstall, compliance...). A platform that can create
discount codes implements ``create_discount_code`` (unique codes in emails, ``campaigns.coupons``).
Adding a platform: a subpackage with an adapter, a line in ``settings.PLATFORM_ADAPTERS``
(docs/ADDING_A_PLATFORM.md). The store's platform choice, ``connect_store``'s ``--platform`` and options,
the webhook URL and any public pages of the platform all come from the adapters configured there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.http import HttpRequest

from shopconnect.outbound import OutboundBlocked, check_url
from shopconnect.timeline.canonical import CanonicalEvent, ProductRecord
from shopconnect.timeline.catalog import upsert_products
from shopconnect.timeline.models import Store
from shopconnect.timeline.record import record_events

if TYPE_CHECKING:
    from .models import WebhookDelivery
    from .owners import Owners


class ActionPending(Exception):  # noqa: N818 - not an error: the delivery waits for its action
    """Raised by ``apply`` when a delivery's action was accepted but completes later (a shop erasure):
    what ``apply`` wrote is kept, and the delivery is marked *waiting* (not processed, not retried) with
    this message; the action itself is responsible for finishing (and for the delivery)."""


class WaitsForOrder(LookupError):
    """Raised by ``expand`` when a delivery needs an order that is not stored yet (a refund that arrives
    before its order: platforms do not order their deliveries). The drain sets the delivery aside and
    applies it after the rest of its batch; if the order is still missing, the delivery is parked until
    the order arrives (``integrations.tasks``)."""

    def __init__(self, order_ref: str, message: str = "") -> None:
        super().__init__(message or f"order {order_ref} is not known yet")
        self.order_ref = str(order_ref)


@dataclass
class Normalized:
    """What one delivery means: canonical events, catalog entries, and named side effects."""

    events: list[CanonicalEvent] = field(default_factory=list)
    products: list[ProductRecord] = field(default_factory=list)
    #: side effects for ``apply`` (for example "uninstall", "redact_customer"), with their data
    actions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class DiscountRequest:
    """One unique discount code to create on the platform, for one recipient of one email."""

    code: str
    title: str  # how the store's admin lists it: "ShopConnect: Abandoned cart: Incentive (message 12)"
    kind: str  # "percentage" or "fixed_amount"
    value: Decimal  # 10 = 10 % off, or 10.00 off in the store's currency
    starts_at: datetime
    expires_at: datetime | None = None
    minimum_order: Decimal | None = None  # the order subtotal the code needs
    once_per_customer: bool = True
    customer_email: str = ""
    customer_external_id: str = ""  # the platform's customer id, when known: only they may use it


class DiscountCodeError(RuntimeError):
    """The platform refused or failed to create a code; the message says why (never a secret or a raw body).
    ``transient`` errors (timeouts, 429, 5xx) are worth a retry; the others are not."""

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class DiscountCodeTaken(DiscountCodeError):  # noqa: N818 - the platform's answer, not our failure
    """The platform already has this code: an earlier attempt created it before its answer was lost."""


def hmac_sha256_base64(secret: str | bytes, body: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def signature_matches(received: str | None, secrets: list[str], body: bytes) -> bool:
    """Constant-time comparison of a base64 HMAC-SHA256 header against every accepted secret."""
    if not received:
        return False
    ok = False
    for secret in secrets:
        if secret:
            ok |= hmac.compare_digest(hmac_sha256_base64(secret, body).encode(), received.strip().encode())
    return ok


class PlatformAdapter:
    platform: str = ""
    #: the name people see (the store's platform choice in the admin, ``connect_store --help``)
    label: str = ""
    #: request headers worth keeping with the delivery (never Authorization or Cookie)
    kept_headers: tuple[str, ...] = ()
    #: False when the platform names the store in its headers (one URL for every store):
    #: ``/webhooks/<platform>/`` then, instead of ``/webhooks/<platform>/<store id>/``
    store_in_url: bool = True
    #: a URLconf module of the platform's own public pages (OAuth install...), included at the root
    urls: str | None = None
    #: ``connect_store`` options this platform reads, beyond the common ones (name -> help)
    connect_options: dict[str, str] = {}

    # --- HTTP side (called by the generic view) -------------------------------------------------
    def identify_store(self, request: HttpRequest, store_id: int | None) -> Store | None:
        raise NotImplementedError

    def verify(self, request: HttpRequest, body: bytes, store: Store) -> bool:
        raise NotImplementedError

    def store_key(self, request: HttpRequest, store_id: int | None) -> str | None:
        """What identifies the store in a request, when the view may cache the lookup for a few seconds
        (only where ``verify`` does not use per-store secrets). None: look the store up every time."""
        return None

    def topic(self, request: HttpRequest) -> str:
        raise NotImplementedError

    def delivery_key(self, request: HttpRequest, body: bytes) -> str:
        raise NotImplementedError

    def is_ping(self, request: HttpRequest, body: bytes) -> bool:
        """An unsigned "hello" the platform sends when a webhook is created: answered 200, not stored."""
        return False

    def api_version(self, request: HttpRequest) -> str:
        return ""

    def triggered_at(self, request: HttpRequest) -> datetime | None:
        return None

    def headers_to_keep(self, request: HttpRequest) -> dict[str, str]:
        wanted = {h.lower() for h in self.kept_headers}
        return {k: v for k, v in request.headers.items() if k.lower() in wanted}

    # --- meaning (called by the task) -----------------------------------------------------------
    def normalize(self, topic: str, payload: Any) -> Normalized | None:
        """Pure: the canonical meaning of one payload, or None for a topic this adapter ignores."""
        raise NotImplementedError

    def runs_alone(self, normalized: Normalized) -> bool:
        """True when a delivery does more than record events and products (its ``actions``): ``apply``
        then runs it on its own. The drain writes the other deliveries of a batch together."""
        return bool(normalized.actions)

    def expand(self, delivery: WebhookDelivery, normalized: Normalized,
               owners: Owners | None = None) -> Normalized:
        """The events and products to write, completed with what the database knows (may read, may
        raise: the delivery then fails and is retried; ``WaitsForOrder`` when it needs an order not stored
        yet). ``owners``: the owners of the orders and carts the drain's batch names
        (``owners.Owners``, read once per batch). Actions are not run here."""
        return normalized

    def apply(self, delivery: WebhookDelivery, normalized: Normalized) -> int:
        """Write what one delivery means; returns the number of events inserted."""
        expanded = self.expand(delivery, normalized)
        upsert_products(delivery.store, expanded.products)
        return record_events(delivery.store, expanded.events).inserted

    # --- where the store lives (every place that accepts a domain or URL calls this) -------------
    def clean_address(self, domain: str, url: str) -> tuple[str, str]:
        """The store's ``(domain, url)`` as they are stored, or ``outbound.OutboundBlocked`` saying what
        is wrong. Called by the store admin form, ``connect_store`` and the OAuth install; the clients
        check again at request time. The default: a public https ``url`` (when given) and its host."""
        url = check_url(url).rstrip("/") if (url or "").strip() else ""
        domain = (domain or "").strip().lower() or (urlsplit(url).hostname or "")
        if not domain:
            raise OutboundBlocked("give the store's domain or URL")
        return domain, url

    # --- optional: store connection and history -------------------------------------------------
    def webhook_path(self, store: Store) -> str:
        """Where the platform must send this store's webhooks (``integrations.urls`` routes it)."""
        if self.store_in_url:
            return f"/webhooks/{self.platform}/{store.pk}/"
        return f"/webhooks/{self.platform}/"

    def store_address(self, options: dict[str, Any]) -> tuple[str, str]:
        """``connect_store``: the store's (domain, url) from the command's options; raise ``ValueError``
        saying what is wrong. By default the site's address from ``--url`` (https://shop.example)."""
        try:
            return self.clean_address("", options.get("url") or "")  # public https only: checked before use
        except OutboundBlocked as exc:
            raise ValueError(f"--url: {exc} (the store's address, for example https://shop.example)") from None

    def connect(self, store: Store, options: dict[str, Any]) -> None:
        """Called by ``connect_store`` after the store row is saved (register webhooks...)."""

    def backfill(self, store: Store, since: datetime | None = None) -> dict[str, int]:
        raise NotImplementedError(f"{self.platform} has no backfill")

    def create_discount_code(self, store: Store, request: DiscountRequest) -> str:
        """Create one discount code on the store's platform; returns the platform's id for it. Raises
        ``DiscountCodeTaken`` when the code exists already, ``DiscountCodeError`` for any other failure.
        Requests go only to the store's checked platform host (``shopconnect.outbound``)."""
        raise DiscountCodeError(f"{self.label or self.platform} stores cannot create unique discount codes")
