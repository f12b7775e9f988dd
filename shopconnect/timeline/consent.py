"""The consent ledger: every change of a customer's marketing consent is a ``consent.changed`` event.

There is no other way to change consent. Platform webhooks (Shopify, WooCommerce order and customer
meta), signup forms and their double opt-in confirmations, our unsubscribe link and preference page,
provider complaints and unsubscribes, an admin edit by a named staff user and the REST API all build
their event with ``consent_event`` and record it through ``record_events``, which derives
``Customer.email_consent`` and ``consent_updated_at`` from the newest one in the same transaction (an
older change arriving late never rolls a newer one back). ``history`` reads the ledger back.

Each event's properties:

- ``channel``: ``email`` (applied to the customer) or ``sms`` (kept on the timeline only);
- ``state``: ``subscribed``, ``not_subscribed``, ``unsubscribed`` or ``pending`` (awaiting confirmation);
- ``source``: where the change came from, one of ``SOURCES`` (or a developer's own label for ``api``);
- ``opt_in_level``: ``single_opt_in``, ``confirmed_opt_in`` or ``unknown`` when it is a subscription;
- ``evidence``: what proves it, by source: the form, page, time, IP address and wording shown for a
  signup; the staff user and the reason for an admin edit; the message or provider event for an
  unsubscribe or complaint; the order and meta key for WooCommerce.

Dedupe keys are built from the input alone (``ref``: the platform's or provider's id for the change, or,
for our own pages, the consent state the change was made from), so a replayed request, a redelivered
webhook or a double click records one event, and nothing depends on the clock or a random number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from .canonical import CanonicalEvent
from .models import Consent, Customer, Event
from .vocabulary import CONSENT_CHANGED

#: source -> what a person reads in the admin's consent history
SOURCES: dict[str, str] = {
    "shopify": "Shopify",
    "woocommerce": "WooCommerce (order or customer data)",
    "signup_form": "Signup form",
    "checkout": "Checkout opt-in checkbox",
    "double_opt_in": "Double opt-in confirmation",
    "unsubscribe_link": "Unsubscribe link",
    "preferences": "Preference page",
    "complaint": "Spam complaint",
    "provider": "Email provider (its unsubscribe link)",
    "bounce": "Bounce",
    "admin": "Admin (staff user)",
    "api": "REST API",
}
STATES = frozenset(c.value for c in Consent)
#: what the admin's "change consent" form offers (not_subscribed means "never asked", pending is set by forms)
ADMIN_STATES = (Consent.SUBSCRIBED, Consent.UNSUBSCRIBED)


def stamp(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ") if moment else "never"


def consent_event(
    state: str,
    source: str,
    *,
    ref: str,
    occurred_at: datetime,
    evidence: dict[str, Any] | None = None,
    event_source: str | None = None,
    channel: str = "email",
    opt_in_level: str = "",
    customer_id: int | None = None,
    email: str | None = None,
    external_id: str | None = None,
    visitor_id: str | None = None,
    profile: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> CanonicalEvent:
    """One ``consent.changed`` for ``record_events``; ``ref`` makes its dedupe key (see the module doc).

    ``event_source`` is the Event's own ``source`` column (the path it came in by: ``shopify``,
    ``storefront``, ``email``, ``admin``, ``api``...); ``source`` is the ledger's, from ``SOURCES``.
    """
    if state not in STATES:
        raise ValueError(f"unknown consent state {state!r}")
    properties: dict[str, Any] = {"channel": channel, "state": state, "source": source}
    if opt_in_level:
        properties["opt_in_level"] = opt_in_level
    if evidence:
        properties["evidence"] = evidence
    properties.update(extra or {})
    owner = customer_id or external_id or email or visitor_id or "?"
    return CanonicalEvent(
        type=CONSENT_CHANGED,
        occurred_at=occurred_at,
        dedupe_key=f"consent:{source}:{owner}:{channel}:{state}:{ref}"[:255],
        source=event_source or source,
        properties=properties,
        customer_id=customer_id,
        email=email,
        external_id=external_id,
        visitor_id=visitor_id,
        profile=profile,
    )


def change_consent(
    customer: Customer,
    state: str,
    source: str,
    *,
    evidence: dict[str, Any] | None = None,
    ref: str | None = None,
    event_source: str | None = None,
    opt_in_level: str = "",
    occurred_at: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Record a change of one known customer's email consent; True when it was new.

    Without ``ref`` the change is keyed by the consent state it was made from (the customer's
    ``consent_updated_at``): two identical requests against the same state are one change.
    """
    from .record import record_events

    event = consent_event(
        state, source, ref=ref or f"from:{customer.email_consent}:{stamp(customer.consent_updated_at)}",
        occurred_at=occurred_at or timezone.now(), evidence=evidence, event_source=event_source,
        opt_in_level=opt_in_level, customer_id=customer.pk, extra=extra,
    )
    return record_events(customer.store, [event]).inserted == 1


def history(customer: Customer) -> QuerySet[Event]:
    """The customer's consent ledger, newest first."""
    return Event.objects.filter(customer=customer, type=CONSENT_CHANGED).order_by("-occurred_at", "-id")


def source_label(event: Event) -> str:
    props = event.properties or {}
    source = props.get("source") or event.source
    label = SOURCES.get(source)
    if event.source == "api" and source != "api":
        return f"REST API ({source})"
    return label or source


def evidence_text(event: Event) -> str:
    """The evidence of one ledger entry as one readable line (who, what, where)."""
    evidence = (event.properties or {}).get("evidence") or {}
    if not isinstance(evidence, dict):
        return str(evidence)[:300]
    names = {
        "staff_user": "by", "reason": "reason", "form_name": "form", "page_url": "page", "ip": "IP",
        "wording": "wording", "submitted_at": "submitted", "confirmed_at": "confirmed", "confirm_ip": "confirmed from",
        "message_id": "message", "provider_event": "provider event", "order_id": "order",
        "customer_id": "platform customer", "plugin": "plugin", "meta_key": "meta",
        "api_user": "API user", "note": "note",
    }
    parts = [f"{label}: {evidence[key]}" for key, label in names.items() if evidence.get(key) not in (None, "")]
    return "; ".join(parts)[:600]
