"""Consent and suppression changes from our own pages and provider feedback.

Every consent change goes through the ledger (``shopconnect.timeline.consent``): a ``consent.changed``
event recorded by ``record_events``, which updates ``Customer.email_consent`` in the same transaction, so
the very next send sees it. The Shopify integration subscribes to these events to write consent back.

Suppression entries are kept per address; after an erasure the address is replaced by its hash
(``address_hash``) so that an erased address that comes back is still never mailed (see
``shopconnect.privacy``). ``suppressed`` looks an address up both ways.
"""

from __future__ import annotations

import hashlib

from shopconnect.timeline.consent import change_consent, stamp
from shopconnect.timeline.models import Consent, Customer

from .models import Suppression

HASH_PREFIX = "sha256:"


def address_hash(store_id: int, email: str) -> str:
    """What an erased suppression or soft-bounce streak keeps instead of the address (per store)."""
    digest = hashlib.sha256(f"{store_id}:{email.strip().lower()}".encode()).hexdigest()
    return HASH_PREFIX + digest


def streak_for(store, email: str):
    """The address's soft-bounce streak, taking over the hashed one an erasure left (the count goes on)."""
    from .models import SoftBounceStreak

    if not SoftBounceStreak.objects.filter(store=store, email=email).exists():
        SoftBounceStreak.objects.filter(store=store, email=address_hash(store.pk, email)).update(email=email)
    streak, _ = SoftBounceStreak.objects.get_or_create(store=store, email=email)
    return streak


def suppress(store, email: str | None, reason: str, detail: str = "") -> None:
    if email:
        Suppression.objects.get_or_create(store=store, email=email.lower(),
                                          defaults={"reason": reason, "detail": detail[:300]})


def unsubscribe(customer: Customer, source: str, message_ids: dict | None = None, *, ref: str | None = None,
                evidence: dict | None = None) -> None:
    """Unsubscribe from marketing email: consent event, ``email.unsubscribed`` event, suppression.

    ``ref`` identifies the request (a provider's event id); without one the change is keyed by the state
    it was made from, so a repeated click or a redelivered provider event records one change.
    """
    from django.utils import timezone

    from shopconnect.timeline.canonical import CanonicalEvent
    from shopconnect.timeline.record import record_events

    evidence = {**(evidence or {})}
    if message_ids and message_ids.get("message_id"):
        evidence.setdefault("message_id", message_ids["message_id"])
    changed = change_consent(customer, Consent.UNSUBSCRIBED, source, ref=ref, event_source="email",
                             evidence=evidence or None)
    if changed and message_ids:
        record_events(customer.store, [CanonicalEvent(
            type="email.unsubscribed", occurred_at=timezone.now(), source="email", customer_id=customer.pk,
            dedupe_key=f"email.unsubscribed:{customer.pk}:{message_ids.get('message_id') or ''}:{ref or source}"[:255],
            properties={**message_ids, "source": source},
        )])
    suppress(customer.store, customer.email, Suppression.Reason.UNSUBSCRIBE, source)


def set_frequency(customer: Customer, fewer: bool) -> None:
    """The preference page's "fewer emails": still subscribed, at most one marketing email a week."""
    from .models import EmailPreference

    EmailPreference.objects.update_or_create(customer=customer, defaults={"fewer_emails": fewer})
    frequency = "fewer" if fewer else "normal"
    change_consent(customer, customer.email_consent, "preferences", event_source="email",
                   ref=f"{frequency}:from:{stamp(customer.consent_updated_at)}", extra={"frequency": frequency})
