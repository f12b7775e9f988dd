"""The demo store's flows: call ``install_demo_flows(store)`` after the demo data is loaded.

Creates the prebuilt flows (abandoned cart and post-purchase enabled), a console email provider, and
enrols the demo's recent checkouts so that ``make run`` shows flows sending with the console backend.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from shopconnect.timeline.models import Event, Store

from .flows.prebuilt import install_prebuilt_flows
from .flows.triggers import enrol_from_events
from .models import EmailProvider


def install_demo_flows(store: Store) -> dict[str, int]:
    EmailProvider.objects.get_or_create(store=store, defaults={
        "kind": EmailProvider.Kind.CONSOLE, "from_email": "hello@demo-outdoor.example", "from_name": store.name,
        "smart_sending_hours": 0})
    flows = install_prebuilt_flows(store, enable=("abandoned_cart", "post_purchase"))
    recent = list(Event.objects.filter(store=store, type__in=["checkout.started", "order.placed"],
                                       occurred_at__gte=timezone.now() - timedelta(days=3))
                  .values_list("id", flat=True))
    entered = enrol_from_events(store.pk, recent)
    return {"flows": len(flows), "entered": entered}
