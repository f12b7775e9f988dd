"""Customer locks of a drain batch, taken before it writes anything, in one global order.

Two drainers whose batches share customers would otherwise lock them in their own delivery order and
could wait for each other (a deadlock). Every batch takes, per store and stores in id order, first
transaction-scoped advisory locks on the identity keys of its events (email, platform id: so two batches
creating the same new customer queue up), then the rows of the existing customers in id order. PostgreSQL
only: SQLite serializes writers.
"""

from __future__ import annotations

import hashlib

from django.db import connection

from shopconnect.timeline.canonical import normalize_email
from shopconnect.timeline.models import Customer

from .base import Normalized
from .models import WebhookDelivery


def lock_customers(items: list[tuple[WebhookDelivery, Normalized]]) -> None:
    """PostgreSQL: lock every customer the batch will write, in one global order, before writing any:
    first transaction-scoped advisory locks on the identity keys (so two drainers creating the same new
    customer do not cross), then the existing customers' rows by id; per store, stores by id."""
    if connection.vendor != "postgresql" or not items:
        return
    by_store: dict[int, list] = {}
    for delivery, expanded in items:
        by_store.setdefault(delivery.store_id, []).extend(expanded.events)
    table = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        for store_id in sorted(by_store):
            events = by_store[store_id]
            emails = sorted({normalize_email(e.email) for e in events if e.email} - {None, ""})
            external = sorted({str(e.external_id) for e in events if e.external_id not in (None, "")})
            ids = sorted({int(e.customer_id) for e in events if e.customer_id})
            keys = sorted({_identity_key(store_id, "email", x) for x in emails}
                          | {_identity_key(store_id, "external", x) for x in external})
            if keys:
                cursor.execute("SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(%s::bigint[]) AS k "
                               "ORDER BY 1 OFFSET 0) AS ordered", [keys])
            if emails or external or ids:
                cursor.execute(f"SELECT id FROM {table} WHERE store_id = %s AND (email = ANY(%s) OR "
                               "external_id = ANY(%s) OR id = ANY(%s)) ORDER BY id FOR UPDATE",
                               [store_id, emails, external, ids])


def _identity_key(store_id: int, kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"sc-customer:{store_id}:{kind}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
