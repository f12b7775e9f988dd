"""Each event's local hour and ISO weekday, stored with it (``Event.local_hour``, ``Event.local_weekday``).

"Viewed a product between 12:00 and 14:00" and "ordered on a weekend" mean the customer's own clock: the
customer's time zone when it is a real one, else the store's, else UTC (``zone_of``). The two numbers are
computed when the event is recorded (``record_events``), so a segment compares plain indexed integers and
never converts a timestamp per row per query. They stay true when the zone changes:

- a customer's time zone changes (a profile) or their history moves (a visitor identified, an email
  change): ``relocalize_customers`` rewrites those customers' events (``record_events`` calls it);
- a store's time zone changes: ``relocalize_store`` rewrites the events that use the store's zone (the
  post-save handler in ``apps.py``), and ``local_times_changed`` tells the segments to recompute.

The rewrite is one ``UPDATE`` per distinct zone, in SQL (PostgreSQL ``AT TIME ZONE``; SQLite the
``sc_local_part`` function registered here). ``NULL`` means not computed yet: such an event matches no
hour or weekday condition (fail closed), and the timeline migration fills every existing row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models import F, Func, IntegerField, Q, Value
from django.dispatch import Signal

VALID_ZONES = frozenset(available_timezones())

#: pseudo event type in ``RecordResult.types_by_customer``: the customer's local hours/weekdays changed
LOCAL_TIME_CHANGED = "timezone.changed"

#: ``sender=Store, store_id``: a store's time zone changed and its events' local times were rewritten
local_times_changed = Signal()


def valid_zone(name: str | None) -> bool:
    return bool(name) and name in VALID_ZONES


def zone_of(customer_zone: str | None, store_zone: str | None) -> str:
    """The zone an event's local time is read in: the customer's, else the store's, else UTC."""
    if valid_zone(customer_zone):
        return customer_zone
    return store_zone if valid_zone(store_zone) else "UTC"


def local_part(value, zone: str, part: str) -> int | None:
    """The local ``hour`` (0-23) or ISO weekday (``isodow``, 1 = Monday) of a UTC timestamp."""
    if value is None:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(ZoneInfo(zone))
    return local.hour if part == "hour" else local.isoweekday()


def local_parts(when: datetime, zone: str) -> tuple[int, int]:
    local = when.astimezone(ZoneInfo(zone))
    return local.hour, local.isoweekday()


class LocalPart(Func):
    """SQL: the local hour / ISO weekday of a timestamp column in a (valid) zone, for the rewrites."""

    output_field = IntegerField()

    def __init__(self, ts, zone, part: str):
        assert part in ("hour", "isodow")
        self.part = part
        super().__init__(ts, zone)

    def as_sql(self, compiler, connection, **extra):
        (ts_sql, ts_params), (tz_sql, tz_params) = (compiler.compile(e) for e in self.source_expressions)
        if connection.vendor == "postgresql":
            field = "HOUR" if self.part == "hour" else "ISODOW"
            return f"CAST(EXTRACT({field} FROM ({ts_sql} AT TIME ZONE {tz_sql})) AS integer)", [
                *ts_params,
                *tz_params,
            ]
        return f"sc_local_part({ts_sql}, {tz_sql}, '{self.part}')", [*ts_params, *tz_params]


def local_columns(zone: str) -> dict:
    """``update(**local_columns(zone))``: both columns recomputed in SQL for ``zone``."""
    return {
        "local_hour": LocalPart(F("occurred_at"), Value(zone), "hour"),
        "local_weekday": LocalPart(F("occurred_at"), Value(zone), "isodow"),
    }


def register(sender=None, connection=None, **kwargs) -> None:
    if connection is not None and connection.vendor == "sqlite":
        connection.connection.create_function("sc_local_part", 3, local_part, deterministic=True)


def connect() -> None:
    connection_created.connect(register, dispatch_uid="timeline.localtime")


def ensure_sql_function() -> None:
    """For code that may run on a connection opened before ``connect()`` (migrations)."""
    connection.ensure_connection()
    register(connection=connection)


def relocalize_customers(customer_ids: Iterable[int], *, event_model=None, customer_model=None) -> int:
    """Rewrite these customers' events' local hours and weekdays for their current zone."""
    from .models import Customer, Event

    event_model, customer_model = event_model or Event, customer_model or Customer
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    by_zone: dict[str, list[int]] = defaultdict(list)
    rows = customer_model.objects.filter(pk__in=ids).values_list("pk", "timezone", "store__timezone")
    for pk, zone, store_zone in rows:
        by_zone[zone_of(zone, store_zone)].append(pk)
    changed = 0
    for zone, pks in by_zone.items():
        changed += event_model.objects.filter(customer_id__in=pks).update(**local_columns(zone))
    return changed


def relocalize_store(store_id: int, *, event_model=None, customer_model=None, store_model=None) -> int:
    """Rewrite the local hours and weekdays of the store's events that use the store's zone (anonymous
    visitors' and those of customers without a valid zone of their own)."""
    from .models import Customer, Event, Store

    event_model, customer_model = event_model or Event, customer_model or Customer
    store_model = store_model or Store
    store_zone = store_model.objects.filter(pk=store_id).values_list("timezone", flat=True).first()
    if store_zone is None:
        return 0
    own = _own_zones(customer_model, store_id)
    fallback = customer_model.objects.filter(store_id=store_id).exclude(timezone__in=own).values("pk")
    events = event_model.objects.filter(store_id=store_id).filter(
        Q(customer__isnull=True) | Q(customer_id__in=fallback)
    )
    return events.update(**local_columns(zone_of(None, store_zone)))


def _own_zones(customer_model, store_id: int) -> list[str]:
    names = customer_model.objects.filter(store_id=store_id).exclude(timezone="")
    return sorted(z for z in names.values_list("timezone", flat=True).distinct() if valid_zone(z))


def localize_store_events(store_id: int, *, event_model=None, customer_model=None, store_model=None) -> None:
    """Compute every event's local hour and weekday of one store, in SQL: the events that use the store's
    zone, then per customer zone those that use their own (for rows inserted without them)."""
    from .models import Customer, Event, Store

    event_model, customer_model = event_model or Event, customer_model or Customer
    relocalize_store(store_id, event_model=event_model, customer_model=customer_model,
                     store_model=store_model or Store)
    for zone in _own_zones(customer_model, store_id):
        customers = customer_model.objects.filter(store_id=store_id, timezone=zone).values("pk")
        event_model.objects.filter(customer_id__in=customers).update(**local_columns(zone))


def backfill(event_model, customer_model, store_model) -> None:
    """Fill every event's local hour and weekday (the timeline migration)."""
    ensure_sql_function()
    for store_id in store_model.objects.values_list("pk", flat=True):
        localize_store_events(store_id, event_model=event_model, customer_model=customer_model,
                              store_model=store_model)
