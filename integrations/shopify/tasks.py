"""Shopify background tasks (django-q2). Each takes ids and is safe to run twice."""

from __future__ import annotations

import logging

from django.conf import settings
from django_q.models import Schedule

from shopconnect.timeline.models import Event, Store

from . import graphql
from .backfill import run_backfill, run_reconciliation
from .topics import SUBSCRIBED_TOPICS

log = logging.getLogger(__name__)

RECONCILE_FUNC = "integrations.shopify.tasks.reconcile_store"


def _store(store_id: int) -> Store | None:
    store = Store.objects.filter(pk=store_id, platform="shopify").first()
    if store is None or not store.is_active or not store.access_token:
        log.info("shopify store %s is gone, uninstalled or has no token: nothing to do", store_id)
        return None
    return store


def register_webhooks(store_id: int) -> list[str]:
    """Subscribe the store to every handled topic (GraphQL ``webhookSubscriptionCreate``)."""
    store = _store(store_id)
    if store is None:
        return []
    return graphql.register_webhooks(
        store, SUBSCRIBED_TOPICS, f"{settings.PUBLIC_BASE_URL}/webhooks/shopify/"
    )


def backfill_store(store_id: int) -> dict[str, int]:
    store = _store(store_id)
    return run_backfill(store) if store else {}


def reconcile_store(store_id: int) -> dict[str, int]:
    """The scheduled reconciliation: recover orders and customers whose webhooks never arrived."""
    store = _store(store_id)
    return run_reconciliation(store) if store else {}


def ensure_reconciliation_schedule(store_id: int) -> None:
    """One hourly schedule per store (created on connect and on install, idempotent)."""
    Schedule.objects.get_or_create(
        name=f"shopify reconcile store {store_id}",
        defaults={
            "func": RECONCILE_FUNC,
            "args": str(store_id),
            "schedule_type": Schedule.HOURLY,
            "repeats": -1,
        },
    )


def write_back_consent(event_id: int) -> str:
    """Tell Shopify about a consent change that did not come from Shopify (an unsubscribe link...)."""
    event = Event.objects.select_related("store", "customer").filter(pk=event_id).first()
    if event is None or event.customer is None or not event.customer.external_id:
        return "skipped: no Shopify customer"
    if event.properties.get("source") == "shopify" or event.source == "shopify":
        return "skipped: came from Shopify"
    store = _store(event.store_id)
    if store is None:
        return "skipped: store not connected"
    state = event.properties.get("state")
    if event.properties.get("channel", "email") != "email":
        return "skipped: not email consent"
    if state not in ("subscribed", "unsubscribed", "pending"):
        # Shopify accepts only SUBSCRIBED, UNSUBSCRIBED and PENDING as input.
        return f"skipped: state {state!r} cannot be written to Shopify"
    level = "CONFIRMED_OPT_IN" if event.properties.get("opt_in_level") == "confirmed_opt_in" else "SINGLE_OPT_IN"
    graphql.write_email_consent(store, event.customer.external_id, state, event.occurred_at.isoformat(), level)
    return "written"
