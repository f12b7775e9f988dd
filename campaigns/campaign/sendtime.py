"""Send-time optimization: each recipient's best hour of the day, in their own time zone.

A customer's best hour is the local hour at which they engaged most with past email: their own
``email.opened`` (not machine-generated: a privacy proxy's prefetch says nothing about when a person
reads) and ``email.clicked`` events, clicks weighing ``CLICK_WEIGHT`` opens. A customer with no such
history gets the store's best hour (the same count over all its customers), and a store with none gets
``DEFAULT_HOUR``. Ties go to the earlier hour.

Computed in SQL for a whole audience at once: one query groups engagement by (customer, local hour),
one by local hour for the store. The local hour comes from each customer's time zone (else the store's)
through a CASE over the distinct zones present (one more small query), so daylight saving is right for
each event's own date, on PostgreSQL and SQLite alike (Django's ``ExtractHour`` with a zone).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, IntegerField, QuerySet, Sum, Value, When

from shopconnect.timeline.localtime import zone_of
from shopconnect.timeline.models import Customer, Event, Store

DEFAULT_HOUR = 10
CLICK_WEIGHT = 3
ENGAGEMENT = ("email.opened", "email.clicked")


def store_zone(store: Store) -> ZoneInfo:
    return ZoneInfo(zone_of(None, store.timezone))


def _engagement(store: Store, customers: QuerySet[Customer] | None) -> QuerySet[Event]:
    events = Event.objects.filter(store=store, type__in=ENGAGEMENT, customer__isnull=False)
    if customers is not None:
        events = events.filter(customer_id__in=customers.order_by().values("id"))
    # Each event's local hour is stored with it, in the customer's zone else the store's (timeline.localtime).
    weight = Case(When(type="email.clicked", then=Value(CLICK_WEIGHT)), When(properties__machine=True, then=Value(0)),
                  default=Value(1), output_field=IntegerField())
    return events.filter(local_hour__isnull=False).order_by().annotate(weight=weight)


def _best(rows) -> dict:
    best: dict = {}
    for key, hour, score in rows:
        if not score:
            continue
        current = best.get(key)
        if current is None or score > current[1] or (score == current[1] and hour < current[0]):
            best[key] = (hour, score)
    return {key: hour for key, (hour, _) in best.items()}


def store_best_hour(store: Store) -> int:
    rows = _engagement(store, None).values("local_hour").annotate(score=Sum("weight")).values_list(
        "local_hour", "score")
    best = _best((None, hour, score) for hour, score in rows)
    return best.get(None, DEFAULT_HOUR)


def best_hours(store: Store, customers: QuerySet[Customer]) -> tuple[dict[int, int], int]:
    """Each customer's best local hour (those with history) and the store's best hour for the rest."""
    rows = (_engagement(store, customers).values("customer_id", "local_hour").annotate(score=Sum("weight"))
            .values_list("customer_id", "local_hour", "score"))
    return _best(rows), store_best_hour(store)


def customer_zone(timezone_name: str | None, store: Store) -> ZoneInfo:
    return ZoneInfo(zone_of(timezone_name, store.timezone))


def next_local_hour(start: datetime, hour: int, zone: ZoneInfo) -> datetime:
    """The first ``hour``:00 in ``zone`` at or after ``start`` (an aware UTC datetime)."""
    local = start.astimezone(zone)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target < local:
        target = (local + timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return target.astimezone(start.tzinfo)
