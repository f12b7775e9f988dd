"""Consent and suppression changes from our own pages and provider feedback.

Every change is a ``consent.changed`` event (``channel``, ``state``, ``source``) recorded through
``record_events``, which updates ``Customer.email_consent`` in the same transaction: the very next send
sees it. The Shopify integration subscribes to these events to write consent back to Shopify.
"""

from __future__ import annotations

import uuid

from django.utils import timezone

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Consent, Customer
from shopconnect.timeline.record import record_events

from .models import Suppression


def suppress(store, email: str | None, reason: str, detail: str = "") -> None:
    if email:
        Suppression.objects.get_or_create(store=store, email=email.lower(),
                                          defaults={"reason": reason, "detail": detail[:300]})


def unsubscribe(customer: Customer, source: str, message_ids: dict | None = None) -> None:
    """Unsubscribe from marketing email: consent event, ``email.unsubscribed`` event, suppression."""
    now = timezone.now()
    key = uuid.uuid4().hex
    events = [CanonicalEvent(
        type="consent.changed", occurred_at=now, dedupe_key=f"consent:{source}:{customer.pk}:{key}",
        source="email", customer_id=customer.pk,
        properties={"channel": "email", "state": Consent.UNSUBSCRIBED, "source": source},
    )]
    if message_ids:
        events.append(CanonicalEvent(
            type="email.unsubscribed", occurred_at=now, dedupe_key=f"email.unsubscribed:{customer.pk}:{key}",
            source="email", customer_id=customer.pk, properties={**message_ids, "source": source},
        ))
    record_events(customer.store, events)
    suppress(customer.store, customer.email, Suppression.Reason.UNSUBSCRIBE, source)


def set_frequency(customer: Customer, fewer: bool) -> None:
    """The preference page's "fewer emails": still subscribed, at most one marketing email a week."""
    from .models import EmailPreference

    EmailPreference.objects.update_or_create(customer=customer, defaults={"fewer_emails": fewer})
    record_events(customer.store, [CanonicalEvent(
        type="consent.changed", occurred_at=timezone.now(),
        dedupe_key=f"consent:preferences:{customer.pk}:{uuid.uuid4().hex}", source="email",
        customer_id=customer.pk,
        properties={"channel": "email", "state": customer.email_consent, "source": "preferences",
                    "frequency": "fewer" if fewer else "normal"},
    )])
