"""Who owns what a delivery names only by reference: the order of a refund (a Shopify refund carries no
customer), the cart of an anonymous cart update (the customer of a checkout or order with its token).

The drain reads them for its whole batch with one query per kind and store (``Owners.load``) instead of
one per delivery; an adapter's ``expand`` asks ``order_owner`` / ``cart_owner``. Each query goes through
its own index (``event_store_order_idx`` by order reference, ``event_cart_token_idx`` by cart token), so
its cost does not grow with the store's orders: ordered by time, PostgreSQL walked every order or
checkout of the store backwards, per question.
"""

from __future__ import annotations

from collections.abc import Iterable

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Event, Store
from shopconnect.timeline.vocabulary import CART_OWNER_TYPES, CART_UPDATED, ORDER_PLACED, ORDER_REFUNDED


def _anonymous(event: CanonicalEvent) -> bool:
    return not (event.email or event.external_id or event.customer_id or event.visitor_id)


def needs_order_owner(event: CanonicalEvent) -> bool:
    """A refund that names no customer: its owner is whoever placed its order."""
    return event.type == ORDER_REFUNDED and _anonymous(event) and bool(event.order_ref)


def needs_cart_owner(event: CanonicalEvent) -> bool:
    """A cart update that names nobody: its owner is the customer of a checkout or order with its token."""
    return event.type == CART_UPDATED and _anonymous(event) and bool(_token(event))


def _token(event: CanonicalEvent) -> str:
    token = (event.properties or {}).get("cart_token")
    return token if isinstance(token, str) else ""


def _order_owners(store: Store, refs: list[str]) -> dict[str, int]:
    """Who placed each order. By order reference only (the type is checked here): with the type in the
    query PostgreSQL may prefer (store, type, ...) and walk the store's orders."""
    owners: dict[str, int] = {}
    rows = (Event.objects.filter(store=store, order_ref__in=refs).exclude(order_ref="")
            .order_by("id").values_list("order_ref", "customer_id", "type"))
    for ref, customer_id, kind in rows:
        if kind == ORDER_PLACED and customer_id is not None:
            owners.setdefault(ref, customer_id)  # one order.placed per order: the first
    return owners


def _cart_owners(store: Store, tokens: list[str]) -> dict[str, int]:
    """The customer of the newest checkout or order with each cart token."""
    rows = (Event.objects.filter(store=store, type__in=CART_OWNER_TYPES, customer__isnull=False,
                                 properties__cart_token__in=tokens)
            .order_by("occurred_at", "id").values_list("properties__cart_token", "customer_id"))
    return dict(rows)  # oldest first: the newest owner of a token wins


class Owners:
    """(kind, store, reference) -> customer id, for orders and carts. An order missing when asked may be
    written later in the same batch: ``load(..., again=True)`` reads the missing ones again (the drain
    does, once, for the deliveries it set aside); a question alone never reads twice."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, int, str], int] = {}
        self._asked: set[tuple[str, int, str]] = set()

    def load(self, store: Store, events: Iterable[CanonicalEvent], *, again: bool = False) -> None:
        """At most one query per kind for every reference these events need and not asked for yet
        (``again``: or asked for and not found)."""
        events = list(events)
        self._read(store, "order", {str(e.order_ref) for e in events if needs_order_owner(e)}, again)
        self._read(store, "cart", {_token(e) for e in events if needs_cart_owner(e)}, again)

    def _read(self, store: Store, kind: str, keys: set[str], again: bool) -> None:
        done = self._found if again else self._asked
        wanted = sorted(k for k in keys if (kind, store.pk, k) not in done)
        if not wanted:
            return
        self._asked.update((kind, store.pk, k) for k in wanted)
        found = (_order_owners if kind == "order" else _cart_owners)(store, wanted)
        self._found.update(((kind, store.pk, k), customer_id) for k, customer_id in found.items())

    def order_owner(self, store: Store, event: CanonicalEvent) -> int | None:
        """The customer who placed the refund's order, None while the order is not stored."""
        self.load(store, [event])
        return self._found.get(("order", store.pk, str(event.order_ref)))

    def cart_owner(self, store: Store, event: CanonicalEvent) -> int | None:
        """The customer of the newest checkout or order with the cart's token, None when there is none."""
        self.load(store, [event])
        return self._found.get(("cart", store.pk, _token(event)))
