"""``record_events``: the only writer of the timeline.

One call takes a batch of canonical events for one store and, in one transaction:

0. clamps event times into 1990 .. now + 1 day (``inputs.clamp_event_time``: a platform's or a visitor's
   clock cannot make a customer "last seen" in 9999; the given time stays in ``occurred_at_given``) and
   completes product, cart and checkout lines from the synced catalog (``catalog.enrich_from_catalog``);
1. resolves identity (our id, platform id, email, storefront visitor), creating customers and visitors
   that are new, and links a visitor to the customer it turned out to be. A storefront claim (an email or
   platform id typed on the site: ``canonical.CLAIM_SOURCES``) never attaches to a known customer nor
   writes onto one; it may build a ``claimed_only`` profile, which the first signed event makes known;
2. inserts the events with ``INSERT ... ON CONFLICT (store, dedupe_key) DO NOTHING RETURNING``, so a
   replayed or concurrently delivered event is stored once and only the events really inserted count;
3. applies profiles, consent and deletions from the new events unless something newer was already
   applied (out-of-order deliveries never roll state back);
4. moves an identified visitor's anonymous history onto the customer;
5. brings the aggregates those events can change up to date (``aggregates.refresh_after_insert``).

It sends ``events_recorded`` with the result, which the segment engine, the flows and the reports
subscribe to: with the ORM broker inside the transaction (their tasks commit with the events), otherwise
once it commits. Handlers run in the caller's process and only enqueue tasks that take ids.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from shopconnect.inputs import clamp_event_time

from . import emails, localtime
from . import vocabulary as v
from .aggregates import refresh_after_insert
from .binary import execute_binary
from .canonical import CLAIM_SOURCES, CanonicalEvent, normalize_email
from .catalog import enrich_from_catalog
from .models import Customer, CustomerTag, Event, Store, Visitor

#: Sent once a batch is written: ``sender=Store, store=<Store>, result=<RecordResult>``. Handlers only
#: enqueue tasks that take ids; see ``_when_to_announce`` for when exactly (never before a worker could
#: see the events).
events_recorded = Signal()

INSERT_CHUNK = 500


class InvalidEvent(ValueError):
    """A canonical event that cannot be recorded; nothing of the batch was written."""


@dataclass
class RecordResult:
    inserted: int = 0
    duplicates: int = 0
    event_ids: list[int] = field(default_factory=list)
    #: dedupe keys of the events this call inserted (the others were already stored)
    inserted_keys: set[str] = field(default_factory=set)
    #: customers whose timeline, profile or consent changed, with the event types that changed it
    types_by_customer: dict[int, set[str]] = field(default_factory=dict)

    @property
    def customer_ids(self) -> set[int]:
        return set(self.types_by_customer)


def record_events(store: Store, events: Iterable[CanonicalEvent]) -> RecordResult:
    batch = _validate(events)
    result = RecordResult()
    if not batch:
        return result
    enrich_from_catalog(store, batch)
    with transaction.atomic():
        resolver = _Resolver(store, batch)
        owners = resolver.resolve()
        zones = [localtime.zone_of(resolver.zone(cid), store.timezone) for cid, _visitor in owners]
        inserted = _insert_events(store, batch, owners, zones)
        result.inserted = len(inserted)
        result.duplicates = len(batch) - len(inserted)
        result.event_ids = sorted(inserted.values())
        result.inserted_keys = set(inserted)
        touched: dict[int, set[str]] = defaultdict(set)
        new_events = []
        for event, (customer_id, _visitor_id) in zip(batch, owners, strict=True):
            if event.dedupe_key in inserted and customer_id is not None:
                touched[customer_id].add(event.type)
                new_events.append((event, customer_id))
        rehomed, retimed = _apply_profiles(new_events)  # history moved with an email change; zone changed
        merged = resolver.move_visitor_history() | rehomed
        for customer_id in merged:
            touched[customer_id].add("visitor.merged")
        for customer_id in retimed:
            touched[customer_id].add(localtime.LOCAL_TIME_CHANGED)
        localtime.relocalize_customers(merged | retimed)  # their events' local hours follow their zone
        refresh_after_insert(new_events, merged)
        result.types_by_customer = dict(touched)
        when = _when_to_announce() if result.types_by_customer or result.inserted else None
        batch = _batched.get()
        if when is not None and batch is not None:
            batch.append((store, result))  # announced once with the rest (announcements_batched)
            when = None
        if when == "in transaction":
            _announce(store, result)
        elif when == "on commit":
            transaction.on_commit(lambda: _announce(store, result))
    if when == "after":
        _announce(store, result)
    return result


def _announce(store: Store, result: RecordResult) -> None:
    events_recorded.send(sender=Store, store=store, result=result)


_batched: ContextVar[list | None] = ContextVar("events_recorded_batched", default=None)


@contextmanager
def announcements_batched():
    """Within it, ``record_events`` calls announce nothing; when it ends without an error, one merged
    ``events_recorded`` per store is sent (as ``_when_to_announce`` says), so a caller that writes a batch
    in several calls (the webhook drain) queues its follow-up tasks once per batch. Use it inside the
    transaction that writes the events. It yields the list of (store, result) collected so far: a caller
    whose savepoint rolls back removes what was collected inside it (``del batch[mark:]``)."""
    if _batched.get() is not None:  # nested: the outer one announces
        yield _batched.get()
        return
    batch: list[tuple[Store, RecordResult]] = []
    token = _batched.set(batch)
    try:
        yield batch
    finally:
        _batched.reset(token)
    merged: dict[int, tuple[Store, RecordResult]] = {}
    for store, result in batch:
        _, into = merged.setdefault(store.pk, (store, RecordResult()))
        into.inserted += result.inserted
        into.duplicates += result.duplicates
        into.event_ids.extend(result.event_ids)
        into.inserted_keys |= result.inserted_keys
        for customer_id, types in result.types_by_customer.items():
            into.types_by_customer.setdefault(customer_id, set()).update(types)
    when = _when_to_announce() if merged else None
    for store, result in merged.values():
        result.event_ids.sort()
        if when == "on commit":
            transaction.on_commit(lambda store=store, result=result: _announce(store, result))
        else:
            _announce(store, result)


def enqueue_when_visible(enqueue) -> None:
    """Call ``enqueue`` (which queues follow-up tasks about rows this transaction wrote) when a worker can
    see those rows: at once with the ORM broker or in sync mode, else on commit (``_when_to_announce``)."""
    if _when_to_announce() == "on commit":
        transaction.on_commit(enqueue)
    else:
        enqueue()


def _when_to_announce() -> str:
    """When to send ``events_recorded``, whose handlers enqueue follow-up tasks.

    With the ORM broker the task rows are written in the batch's own transaction: they commit with the
    events, in the same commit (one fsync instead of one per task), and no worker can see them earlier.
    Other brokers push at once, so the signal waits for the commit. In sync mode (tests) tasks run
    inline, right after the batch.
    """
    from django_q.conf import Conf

    if Conf.SYNC:
        return "after"
    if Conf.ORM == connection.alias and not Conf.BROKER_CLASS:
        return "in transaction"
    return "on commit"


def _validate(events: Iterable[CanonicalEvent]) -> list[CanonicalEvent]:
    batch: list[CanonicalEvent] = []
    seen: set[str] = set()
    now = timezone.now()
    for index, event in enumerate(events):
        where = f"event {index} ({event.type!r}, {event.dedupe_key!r})"
        if not v.is_valid_type(event.type):
            raise InvalidEvent(f"{where}: unknown event type; see shopconnect.timeline.vocabulary")
        if not isinstance(event.occurred_at, datetime) or timezone.is_naive(event.occurred_at):
            raise InvalidEvent(f"{where}: occurred_at must be an aware datetime")
        # A platform's or a visitor's clock: kept in the window, the time it gave kept alongside. (The API
        # refuses such times with a 400 itself, and code calling record_events directly means its times.)
        when, moved = clamp_event_time(event.occurred_at, now) if event.source != "api" else (None, False)
        if moved:
            event.properties = {**(event.properties or {}), "occurred_at_given": event.occurred_at.isoformat()}
            event.occurred_at = when
        if not event.dedupe_key or len(event.dedupe_key) > 255:
            raise InvalidEvent(f"{where}: dedupe_key must be 1 to 255 characters")
        if not event.source or len(event.source) > 32:
            raise InvalidEvent(f"{where}: source must be 1 to 32 characters")
        if event.dedupe_key in seen:
            continue  # the same event twice in one batch: keep the first, as the database would
        seen.add(event.dedupe_key)
        batch.append(event)
    return batch


# What identity resolution reads of a customer; the rest of the row is loaded only where needed.
IDENTITY_FIELDS = ("id", "email", "external_id", "created_at", "claimed_only", "timezone")


class _Known:
    """A stored customer as identity resolution sees it (a full model instance costs more to build)."""

    __slots__ = ("pk", "email", "external_id", "created_at", "claimed_only", "timezone")

    def __init__(self, pk: int, email: str | None, external_id: str | None, created_at: datetime,
                 claimed_only: bool = False, timezone: str = ""):
        self.pk, self.email, self.external_id, self.created_at = pk, email, external_id, created_at
        self.claimed_only, self.timezone = claimed_only, timezone


_FIND_SQL = " UNION ".join(
    f"SELECT id, email, external_id, created_at, claimed_only, timezone FROM {{table}} "
    f"WHERE store_id = %s AND {column} = ANY(%s)"
    for column in ("email", "external_id", "id")
)


def _find_customers(store: Store, emails: set[str], external_ids: set[str], ids: set[int]) -> list[_Known]:
    """The store's customers with any of these emails, platform ids or ids.

    On PostgreSQL one statement of three index lookups (a single OR across the three columns can fall
    back to scanning the whole store), with the arrays bound in binary.
    """
    if not (emails or external_ids or ids):
        return []
    if connection.vendor == "postgresql":
        sql = _FIND_SQL.format(table=connection.ops.quote_name(Customer._meta.db_table))
        params = [store.pk, list(emails), store.pk, list(external_ids), store.pk, list(ids)]
        return [_Known(*row) for row in execute_binary(sql, params, fetch=True)]
    rows = Customer.objects.filter(store=store).filter(
        Q(email__in=emails) | Q(external_id__in=external_ids) | Q(id__in=ids)
    ).values_list(*IDENTITY_FIELDS)
    return [_Known(*row) for row in rows]


class _Resolver:
    """Finds or creates the customer and visitor of every event of a batch in a handful of queries."""

    def __init__(self, store: Store, batch: Sequence[CanonicalEvent]):
        self.store = store
        self.batch = batch
        self.emails = [normalize_email(e.email) for e in batch]
        self.external_ids = [str(e.external_id) if e.external_id not in (None, "") else None for e in batch]
        wanted_emails = {e for e in self.emails if e}
        wanted_ext = {x for x in self.external_ids if x}
        wanted_ids = {e.customer_id for e in batch if e.customer_id}
        self.by_id: dict[int, Customer | _Known] = {}
        self.by_email: dict[str, Customer | _Known] = {}
        self.by_ext: dict[str, Customer | _Known] = {}
        for customer in _find_customers(store, wanted_emails, wanted_ext, wanted_ids):
            self._index(customer)
        missing = wanted_ids - set(self.by_id)
        if missing:
            raise InvalidEvent(f"customer ids {sorted(missing)} do not belong to store {store.pk}")
        client_ids = {e.visitor_id for e in batch if e.visitor_id}
        self.visitors: dict[str, Visitor] = (
            {vis.client_id: vis for vis in Visitor.objects.filter(store=store, client_id__in=client_ids)}
            if client_ids
            else {}
        )
        self.linked_visitors: dict[int, int] = {}  # visitor pk -> customer pk, linked by this batch

    def zone(self, customer_id: int | None) -> str:
        """The stored time zone of a customer of this batch ("" for none or a visitor's event)."""
        known = self.by_id.get(customer_id) if customer_id else None
        return getattr(known, "timezone", "") or ""

    def _index(self, customer: Customer | _Known) -> None:
        if customer.pk:
            self.by_id[customer.pk] = customer
        if customer.email:
            self.by_email.setdefault(customer.email, customer)
        if customer.external_id:
            self.by_ext.setdefault(customer.external_id, customer)

    def resolve(self) -> list[tuple[int | None, int | None]]:
        """(customer id, visitor id) for each event."""
        chosen: list[Customer | _Known | None] = []
        pending: list[Customer] = []
        dirty: dict[int, Customer | _Known] = {}
        for event, email, ext in zip(self.batch, self.emails, self.external_ids, strict=True):
            claim = event.source in CLAIM_SOURCES
            customer = None
            if event.customer_id:
                customer = self.by_id[event.customer_id]
            elif claim and any(not c.claimed_only for c in (self.by_ext.get(ext), self.by_email.get(email)) if c):
                # A claimed email or platform id of a known customer proves nothing: the event stays the
                # visitor's (DESIGN "Trust boundaries"; only our signed sc_id attaches a visitor).
                chosen.append(None)
                continue
            elif ext and ext in self.by_ext:
                customer = self.by_ext[ext]
            elif email and email in self.by_email:
                customer = self.by_email[email]
            if customer is None and (email or ext):
                customer = Customer(
                    store=self.store, email=email, external_id=ext, created_at=event.occurred_at, claimed_only=claim
                )
                pending.append(customer)
                self._index(customer)
            elif customer is not None and claim and not customer.claimed_only:
                pass  # proven (sc_id) but a claim: it may not write identifiers onto a known customer
            elif customer is not None:
                if customer.claimed_only and not claim:  # the first signed event: a known customer now
                    customer.claimed_only = False
                    if customer.pk:
                        dirty[customer.pk] = customer
                # Learn identifiers the customer did not have yet, unless another customer holds them.
                if email and not customer.email and email not in self.by_email:
                    customer.email = email
                    self.by_email[email] = customer
                    if customer.pk:
                        dirty[customer.pk] = customer
                if ext and not customer.external_id and ext not in self.by_ext:
                    customer.external_id = ext
                    self.by_ext[ext] = customer
                    if customer.pk:
                        dirty[customer.pk] = customer
                if not customer.pk and event.occurred_at < customer.created_at:
                    customer.created_at = event.occurred_at
            chosen.append(customer)
        if dirty:
            Customer.objects.bulk_update(
                [Customer(pk=pk, email=c.email, external_id=c.external_id, claimed_only=c.claimed_only)
                 for pk, c in dirty.items()],
                ["email", "external_id", "claimed_only"],
            )
        saved = self._create_customers(pending)
        customer_ids = [getattr(saved.get(id(c), c), "pk", None) if c is not None else None for c in chosen]
        return self._resolve_visitors(customer_ids)

    def _create_customers(self, pending: list[Customer]) -> dict[int, _Known | None]:
        """Insert new customers (a concurrent writer may have won: then use its row)."""
        if not pending:
            return {}
        Customer.objects.bulk_create(pending, ignore_conflicts=True)
        emails = {c.email for c in pending if c.email}
        exts = {c.external_id for c in pending if c.external_id}
        rows = _find_customers(self.store, emails, exts, set())
        by_email = {c.email: c for c in rows if c.email}
        by_ext = {c.external_id: c for c in rows if c.external_id}
        saved: dict[int, _Known | None] = {}
        for customer in pending:
            row = by_ext.get(customer.external_id) if customer.external_id else None
            row = row or (by_email.get(customer.email) if customer.email else None)
            if customer.claimed_only and not row.claimed_only:
                row = None  # a concurrent writer made it a known customer: a claim does not attach to it
            else:
                self._index(row)
            saved[id(customer)] = row
        return saved

    def _resolve_visitors(self, customer_ids: list[int | None]) -> list[tuple[int | None, int | None]]:
        if not any(e.visitor_id for e in self.batch):
            return [(cid, None) for cid in customer_ids]
        new: dict[str, Visitor] = {}
        relinked: dict[str, Visitor] = {}
        for event, customer_id in zip(self.batch, customer_ids, strict=True):
            if not event.visitor_id:
                continue
            visitor = self.visitors.get(event.visitor_id) or new.get(event.visitor_id)
            if visitor is None:
                visitor = Visitor(
                    store=self.store,
                    client_id=event.visitor_id,
                    first_seen_at=event.occurred_at,
                    device=event.device or "",
                )
                new[event.visitor_id] = visitor
            if customer_id is not None and visitor.customer_id != customer_id:
                visitor.customer_id = customer_id
                visitor.identified_at = event.occurred_at
                if visitor.pk:
                    relinked[event.visitor_id] = visitor
        if new:
            Visitor.objects.bulk_create(list(new.values()), ignore_conflicts=True)
            for visitor in Visitor.objects.filter(store=self.store, client_id__in=list(new)):
                wanted = new[visitor.client_id]
                if wanted.customer_id and visitor.customer_id != wanted.customer_id:
                    visitor.customer_id, visitor.identified_at = wanted.customer_id, wanted.identified_at
                    relinked[visitor.client_id] = visitor
                self.visitors[visitor.client_id] = visitor
        if relinked:
            Visitor.objects.bulk_update(list(relinked.values()), ["customer", "identified_at"])
            self.linked_visitors = {vis.pk: vis.customer_id for vis in relinked.values()}
        owners = []
        for event, customer_id in zip(self.batch, customer_ids, strict=True):
            visitor = self.visitors.get(event.visitor_id) if event.visitor_id else None
            if customer_id is None and visitor is not None:
                customer_id = visitor.customer_id
            owners.append((customer_id, visitor.pk if visitor else None))
        return owners

    def move_visitor_history(self) -> set[int]:
        """Give each newly identified visitor's anonymous events to its customer."""
        moved: set[int] = set()
        for visitor_pk, customer_id in self.linked_visitors.items():
            if Event.objects.filter(visitor_id=visitor_pk, customer__isnull=True).update(customer_id=customer_id):
                moved.add(customer_id)
        return moved


_EVENT_COLUMNS = (
    "store_id", "customer_id", "visitor_id", "type", "occurred_at", "received_at", "source", "properties",
    "dedupe_key", "order_ref", "amount", "local_hour", "local_weekday",
)
# PostgreSQL: one array parameter per column (unnest) instead of one parameter per value: far less
# adaptation and parsing work for a 500-row batch.
_PG_ARRAY_TYPES = (
    "bigint[]", "bigint[]", "bigint[]", "text[]", "timestamptz[]", "timestamptz[]", "text[]", "text[]", "text[]",
    "text[]", "numeric[]", "smallint[]", "smallint[]",
)


def _insert_events(
    store: Store,
    batch: Sequence[CanonicalEvent],
    owners: Sequence[tuple[int | None, int | None]],
    zones: Sequence[str],
) -> dict[str, int]:
    """Insert, skipping dedupe keys already stored; returns {dedupe_key: id} of the rows really inserted.

    ``ON CONFLICT DO NOTHING RETURNING`` tells exactly which rows this call inserted, even when another
    worker inserts the same events at the same time.
    """
    ops = connection.ops
    encoder = Event._meta.get_field("properties").encoder
    table = ops.quote_name(Event._meta.db_table)
    columns = ", ".join(ops.quote_name(c) for c in _EVENT_COLUMNS)
    now = timezone.now()
    # The same adaptation Field.get_db_prep_save does, without its per-value overhead (hot path).
    rows = [
        (
            store.pk, customer_id, visitor_id, event.type, ops.adapt_datetimefield_value(event.occurred_at),
            ops.adapt_datetimefield_value(now), event.source, json.dumps(event.properties or {}, cls=encoder),
            event.dedupe_key, event.order_ref or "",
            None if event.amount is None else ops.adapt_decimalfield_value(event.amount, 14, 2),
            *localtime.local_parts(event.occurred_at, zone),
        )
        for event, (customer_id, visitor_id), zone in zip(batch, owners, zones, strict=True)
    ]
    inserted: dict[str, int] = {}
    conflict = "ON CONFLICT (store_id, dedupe_key) DO NOTHING RETURNING id, dedupe_key"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            if connection.vendor == "postgresql":
                arrays = [list(column) for column in zip(*chunk, strict=True)]
                unnest = ", ".join(f"%s::{t}" for t in _PG_ARRAY_TYPES)
                select = ", ".join(f"u.{c}::jsonb" if c == "properties" else f"u.{c}" for c in _EVENT_COLUMNS)
                sql = (f"INSERT INTO {table} ({columns}) SELECT {select} FROM unnest({unnest}) "
                       f"AS u({columns}) {conflict}")
                inserted.update((key, pk) for pk, key in execute_binary(sql, arrays, fetch=True))
                continue
            else:
                placeholders = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
                sql = f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))} {conflict}"
                cursor.execute(sql, [value for row in chunk for value in row])
            inserted.update((key, pk) for pk, key in cursor.fetchall())
    return inserted


def _apply_profiles(new_events: list[tuple[CanonicalEvent, int]]) -> tuple[set[int], set[int]]:
    """Apply profile fields, email changes, tags, consent and deletion from newly inserted events, newest
    wins (tag deltas apply in time order); returns the customers whose history moved (``emails``) and
    those whose time zone changed."""
    relevant = [
        (e, cid) for e, cid in new_events
        if e.profile or e.type in (v.CONSENT_CHANGED, v.CUSTOMER_DELETED) or e.device
    ]
    if not relevant:
        return set(), set()
    rehomed: set[int] = set()
    tag_changes: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)
    # Whole rows of just these customers (the resolver holds only their identity fields), in one query.
    customers = Customer.objects.in_bulk({cid for _, cid in relevant})
    zones_before = {cid: c.timezone for cid, c in customers.items()}
    changed: dict[int, Customer] = {}
    update_fields: set[str] = set()
    for event, cid in sorted(relevant, key=lambda pair: pair[0].occurred_at):
        customer = customers[cid]
        when = event.occurred_at
        deltas = [k for k in TAG_DELTAS if event.profile and event.profile.get(k)]
        for key in deltas:  # tag deltas apply in time order and never make other fields "newer"
            tag_changes[cid].append((key, event.profile[key]))
        fields = event.profile and set(event.profile) - TAG_DELTAS
        if fields and (customer.attributes_updated_at is None or when >= customer.attributes_updated_at):
            address = emails.new_address(event, customer)
            if address:
                rehomed |= emails.change_email(customer, address)
            for key, value in event.profile.items():
                if key == "tags":
                    tag_changes[cid] = [("tags", value or [])]
                elif key in TAG_DELTAS:
                    continue
                elif key == "properties":
                    customer.properties = {**(customer.properties or {}), **(value or {})}
                    update_fields.add("properties")
                elif key == "created_at":
                    if value and value < customer.created_at:
                        customer.created_at = value
                        update_fields.add("created_at")
                elif key in ("first_name", "last_name", "phone", "country", "timezone"):
                    max_length = Customer._meta.get_field(key).max_length
                    setattr(customer, key, (value or "")[:max_length])
                    update_fields.add(key)
            customer.attributes_updated_at = when
            update_fields.add("attributes_updated_at")
            if event.type == v.CUSTOMER_CREATED and customer.deleted_at and when > customer.deleted_at:
                customer.deleted_at = None
                update_fields.add("deleted_at")
        if event.type == v.CONSENT_CHANGED and event.properties.get("channel", "email") == "email":
            state = event.properties.get("state")
            if state in dict(Customer._meta.get_field("email_consent").choices) and (
                customer.consent_updated_at is None or when >= customer.consent_updated_at
            ):
                customer.email_consent, customer.consent_updated_at = state, when
                update_fields.update({"email_consent", "consent_updated_at"})
        if event.type == v.CUSTOMER_DELETED and (customer.deleted_at is None or when > customer.deleted_at):
            customer.deleted_at = when
            update_fields.add("deleted_at")
        if event.device and not customer.device:
            customer.device = event.device
            update_fields.add("device")
        changed[cid] = customer
    if update_fields:
        Customer.objects.bulk_update(list(changed.values()), sorted(update_fields))
    if tag_changes:
        _apply_tags(tag_changes)
    retimed = {cid for cid, c in changed.items() if c.timezone != zones_before[cid]}
    return rehomed, retimed


TAG_DELTAS = frozenset({"add_tags", "remove_tags"})


def _clean_tags(values) -> set[str]:
    return {str(t).strip()[:100] for t in values or [] if str(t).strip()}


def _apply_tags(changes: dict[int, list[tuple[str, list[str]]]]) -> None:
    """Replace (``tags``) or change (``add_tags`` / ``remove_tags``) tag sets, in the order the events
    happened; only the customers concerned are rewritten."""
    current: dict[int, set[str]] = defaultdict(set)
    for cid, tag in CustomerTag.objects.filter(customer_id__in=list(changes)).values_list("customer_id", "tag"):
        current[cid].add(tag)
    final: dict[int, set[str]] = {}
    for cid, steps in changes.items():
        tags = set(current[cid])
        for kind, values in steps:
            if kind == "tags":
                tags = _clean_tags(values)
            elif kind == "add_tags":
                tags |= _clean_tags(values)
            else:
                tags -= _clean_tags(values)
        if tags != current[cid]:
            final[cid] = tags
    if final:
        CustomerTag.objects.filter(customer_id__in=list(final)).delete()
        CustomerTag.objects.bulk_create(
            [CustomerTag(customer_id=cid, tag=tag) for cid, tags in final.items() for tag in sorted(tags)],
            ignore_conflicts=True,
        )
