"""Data retention: personal data in raw and anonymous records does not live forever.

Per store (``RetentionPolicy``, editable in the admin under *Privacy > Retention policies*; a store
without one uses ``DEFAULTS``):

- raw webhook deliveries, ``webhook_body_days`` (30) after they were processed or ignored (failed ones
  wait for a person and are kept);
- raw storefront batches, ``collect_batch_days`` (7) after they were processed;
- anonymous visitors (never identified) and their events, ``anonymous_visitor_days`` (395, 13 months)
  after their last activity;
- signup form submissions, ``signup_days`` (30) after they were made (the consent ledger keeps the evidence);
- events, only when ``event_days`` is set: older events are deleted except orders (lifetime value and
  predictions come from them) and consent changes (the proof of consent). Aggregates that are "last"
  times (last seen, last open) keep their value.

``enforce_retention`` is the daily django-q2 schedule "privacy: enforce retention" (migration
``privacy.0002_consent_retention_schedule``); every delete is a set-based statement on at most ``CHUNK``
rows, repeated until nothing is left.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.apps import apps
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from shopconnect.timeline import vocabulary as v
from shopconnect.timeline.models import Event, Store, Visitor

from .models import DEFAULTS, RetentionPolicy
from .shop import CHUNK, _delete_chunk, restart_stalled

KEPT_EVENT_TYPES = (*v.ORDER_MONEY_TYPES, "order.paid", "order.fulfilled", v.CONSENT_CHANGED)


def policy_for(store: Store) -> dict:
    policy = RetentionPolicy.objects.filter(store=store).first()
    return {name: getattr(policy, name) for name in DEFAULTS} if policy else dict(DEFAULTS)


def delete_in_chunks(rows: QuerySet) -> int:
    model = rows.model
    total = 0
    while True:
        pks = list(rows.order_by().values_list("pk", flat=True)[:CHUNK])
        if not pks:
            return total
        total += _delete_chunk(model, pks)


def enforce_store(store: Store, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    policy = policy_for(store)
    WebhookDelivery = apps.get_model("integrations", "WebhookDelivery")
    CollectBatch = apps.get_model("storefront", "CollectBatch")
    counts = {
        "webhook_deliveries": delete_in_chunks(WebhookDelivery.objects.filter(
            store=store, status__in=("processed", "ignored"),
            processed_at__lt=now - timedelta(days=policy["webhook_body_days"]))),
        "collect_batches": delete_in_chunks(CollectBatch.objects.filter(
            store=store, status="processed", processed_at__lt=now - timedelta(days=policy["collect_batch_days"]))),
    }
    cutoff = now - timedelta(days=policy["anonymous_visitor_days"])
    recent = Event.objects.filter(visitor=OuterRef("pk"), occurred_at__gte=cutoff)
    idle = Visitor.objects.filter(store=store, customer__isnull=True, first_seen_at__lt=cutoff).exclude(Exists(recent))
    counts["anonymous_events"] = counts["anonymous_visitors"] = 0
    while pks := list(idle.order_by().values_list("pk", flat=True)[:CHUNK]):
        counts["anonymous_events"] += delete_in_chunks(Event.objects.filter(visitor_id__in=pks, customer__isnull=True))
        counts["anonymous_visitors"] += _delete_chunk(Visitor, pks)
    if apps.is_installed("integrations.storefront.signup"):
        Submission = apps.get_model("signup", "Submission")
        counts["signups"] = delete_in_chunks(Submission.objects.filter(
            store=store, submitted_at__lt=now - timedelta(days=policy["signup_days"])))
    if policy["event_days"]:
        counts["events"] = delete_in_chunks(
            Event.objects.filter(store=store, occurred_at__lt=now - timedelta(days=policy["event_days"]))
            .exclude(type__in=KEPT_EVENT_TYPES))
    return counts


def enforce_retention() -> dict[str, int]:
    """The scheduled task: every store's retention, then restart any store erasure that stopped."""
    totals: dict[str, int] = {}
    for store in Store.objects.order_by("pk"):
        for name, count in enforce_store(store).items():
            totals[name] = totals.get(name, 0) + count
    totals["erasures_restarted"] = restart_stalled()
    return totals
