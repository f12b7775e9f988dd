"""Who placed an order, for deliveries that name only the order (a Shopify refund carries no customer).

The drain reads the owners of every such order in its batch with one query (``OrderOwners.load``)
instead of one per delivery; an adapter's ``expand`` asks ``owner``. The lookup goes by the order's
reference through the ``event_store_order_idx`` index, so its cost does not grow with the store's
orders (ordering by time made PostgreSQL walk every order of the store backwards, per refund).
"""

from __future__ import annotations

from collections.abc import Iterable

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Event, Store
from shopconnect.timeline.vocabulary import ORDER_PLACED, ORDER_REFUNDED


def needs_owner(event: CanonicalEvent) -> bool:
    """A refund that names no customer: its owner is whoever placed its order."""
    return event.type == ORDER_REFUNDED and not (
        event.email or event.external_id or event.customer_id or event.visitor_id) and bool(event.order_ref)


def refs_needing_owner(events: Iterable[CanonicalEvent]) -> set[str]:
    return {str(e.order_ref) for e in events if needs_owner(e)}


class OrderOwners:
    """Order reference -> customer id, per store. An order missing when asked may be written later in
    the same batch: ``load(..., again=True)`` reads the missing ones again (the drain does, once, for the
    deliveries it set aside); ``owner`` alone never reads an order it has already asked for."""

    def __init__(self) -> None:
        self._found: dict[tuple[int, str], int] = {}
        self._asked: set[tuple[int, str]] = set()

    def load(self, store: Store, refs: Iterable[str], *, again: bool = False) -> None:
        """One query for every order here that has not been asked for (or not found, with ``again``)."""
        done = self._found if again else self._asked
        wanted = sorted({str(r) for r in refs if r and (store.pk, str(r)) not in done})
        if not wanted:
            return
        self._asked.update((store.pk, r) for r in wanted)
        # by order reference only (the type is checked here): with the type in the query PostgreSQL may
        # walk the store's orders through (store, type, ...) instead of event_store_order_idx, per query
        rows = (Event.objects.filter(store=store, order_ref__in=wanted).exclude(order_ref="")
                .order_by("id").values_list("order_ref", "customer_id", "type"))
        for ref, customer_id, kind in rows:
            if kind == ORDER_PLACED and customer_id is not None:
                self._found.setdefault((store.pk, ref), customer_id)  # one order.placed per order: the first

    def owner(self, store: Store, order_ref: str) -> int | None:
        """The customer who placed the order, None while the order is not stored (or has no customer)."""
        self.load(store, [order_ref])
        return self._found.get((store.pk, str(order_ref)))
