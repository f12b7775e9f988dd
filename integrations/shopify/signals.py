"""Consent write-back: consent changes made in ShopConnect are sent to Shopify.

On ``events_recorded`` for a Shopify store with an access token, every new ``consent.changed`` whose
``source`` property is not ``shopify`` (those came from Shopify: writing them back would loop) is
handed to ``integrations.shopify.tasks.write_back_consent``. No query unless the batch has consent.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver
from django_q.tasks import async_task

from shopconnect.timeline.record import RecordResult, events_recorded


@receiver(events_recorded, dispatch_uid="shopify-consent-write-back")
def write_back_consent_changes(sender, store, result: RecordResult, **kwargs) -> None:
    if store.platform != "shopify" or not store.access_token:
        return
    if not any("consent.changed" in types for types in result.types_by_customer.values()):
        return
    from shopconnect.timeline.models import Event

    rows = Event.objects.filter(id__in=result.event_ids, type="consent.changed").values_list(
        "id", "source", "properties"
    )
    ids = [
        pk for pk, source, props in rows if source != "shopify" and (props or {}).get("source") != "shopify"
    ]
    for event_id in ids:
        transaction.on_commit(
            lambda event_id=event_id: async_task(
                "integrations.shopify.tasks.write_back_consent", event_id, group="shopify-consent"
            )
        )
