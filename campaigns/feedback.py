"""Provider feedback: django-anymail tracking webhooks -> ``email.*`` timeline events and suppression.

Anymail's webhook views (``/anymail/<esp>/tracking/``) verify the provider's signature or basic auth
and send the ``anymail.signals.tracking`` signal with a normalized event; this module maps it:

=============  ==================  ==================================================
anymail type   timeline event      side effect
=============  ==================  ==================================================
delivered      email.delivered     soft-bounce streak reset
opened         email.opened        (machine: provider user agent heuristic)
clicked        email.clicked
bounced        email.bounced hard  suppressed at once (soft if is_soft_bounce says so)
deferred       email.bounced soft  suppressed after more than 7 soft bounces in a row
rejected       email.bounced hard  suppressed at once (the provider refuses the address)
complained     email.complained    suppressed and unsubscribed
unsubscribed   email.unsubscribed  unsubscribed (provider's own unsubscribe link)
anything else  (ignored)
=============  ==================  ==================================================

The message is found by the random reference we attach (metadata ``sc_ref``, ``Message.reference``) or
the provider's own message id, and only when the event's recipient is that message's customer.
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.record import record_events

from .consent import address_hash, streak_for, suppress, unsubscribe
from .models import Message, SoftBounceStreak, Suppression
from .sender import event_ids
from .tracking import is_machine_open

log = logging.getLogger(__name__)
SOFT_BOUNCE_LIMIT = 7  # suppressed after MORE than this many soft bounces in a row

EVENT_TYPES = {
    "delivered": "email.delivered", "opened": "email.opened", "clicked": "email.clicked",
    "bounced": "email.bounced", "deferred": "email.bounced", "rejected": "email.bounced",
    "complained": "email.complained", "unsubscribed": "email.unsubscribed",
}


# What each provider's raw event says when anymail calls a temporary failure "bounced" (anymail already
# reports Postmark Transient/DnsError, Mailgun severity "temporary", Mailjet greylisting, SendGrid
# "deferred", SparkPost "delay" and Resend "delivery_delayed" as "deferred").
SOFT_ESP_TYPES = frozenset({
    "SoftBounce", "Transient", "DnsError",  # Postmark Type
    "temporary",  # Mailgun severity
    "soft_bounce",  # Brevo event
})
SOFT_BOUNCE_TYPES = frozenset({"Transient", "Undetermined"})  # Amazon SES bounce.bounceType; Resend data.bounce.type
# SparkPost bounce_class in its "Soft" category (20 soft bounce, 21 DNS failure, 22 mailbox full, 23 too large,
# 24 timeout, 40 generic, 70 transient); 10, 25, 30 and the blocks (50-54) are hard.
SPARKPOST_SOFT_CLASSES = frozenset({"20", "21", "22", "23", "24", "40", "70"})


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def is_soft_bounce(event) -> bool:
    """Anymail calls some temporary failures "bounced"; the provider's raw event says which are soft:
    Postmark ``Type``, Mailgun ``severity``, Brevo ``event: soft_bounce``, Amazon SES
    ``bounce.bounceType``, Resend ``data.bounce.type``, Mailjet ``hard_bounce: false``, SendGrid
    ``type: blocked`` (or a 4.x.x status), SparkPost ``bounce_class``."""
    if event.event_type == "deferred":
        return True
    raw = _dict(event.esp_event)
    if {raw.get("Type"), raw.get("severity"), raw.get("event")} & SOFT_ESP_TYPES:
        return True
    if {_dict(raw.get("bounce")).get("bounceType"), _dict(_dict(raw.get("data")).get("bounce")).get("type")} \
            & SOFT_BOUNCE_TYPES:
        return True
    if raw.get("event") == "bounce" and raw.get("hard_bounce") is False:
        return True  # Mailjet (anymail reports only its greylisting as deferred)
    if raw.get("event") == "bounce" and (raw.get("type") == "blocked" or str(raw.get("status", "")).startswith("4")):
        return True  # SendGrid
    sparkpost = _dict(_dict(raw.get("msys")).get("message_event"))
    return str(sparkpost.get("bounce_class", "")) in SPARKPOST_SOFT_CLASSES


def find_message(event) -> Message | None:
    """The message an (authenticated) provider event is about: by the random reference we sent with it
    (metadata ``sc_ref``), else by the provider's own message id for providers that do not echo
    metadata in every event (SES or Resend without the original headers); and only if the event's
    recipient is the message's customer. Never by our sequential row id."""
    recipient = (event.recipient or "").strip().lower()
    if not recipient:
        return None
    metadata = event.metadata if isinstance(getattr(event, "metadata", None), dict) else {}
    reference = str(metadata.get("sc_ref") or "")
    qs = Message.objects.select_related("store", "customer")
    if reference:
        message = qs.filter(reference=reference).first()
    elif event.message_id:
        message = qs.filter(provider_message_id=str(event.message_id)).exclude(provider_message_id="").first()
    else:
        return None
    if message is None or (message.customer.email or "").strip().lower() != recipient:
        return None
    return message


def tracking_event_key(event) -> str:
    """A key from the provider's event alone: its id, else its type, time and raw payload (never our
    clock), so a provider resending the same event records it once."""
    if event.event_id:
        return str(event.event_id)
    raw = json.dumps(event.esp_event, sort_keys=True, default=str) if event.esp_event is not None else ""
    digest = hashlib.sha256(f"{event.event_type}|{event.timestamp}|{event.click_url}|{raw}".encode()).hexdigest()
    return f"{event.event_type}:{digest[:32]}"


def handle_tracking(sender, event, esp_name: str, **kwargs) -> None:
    kind = EVENT_TYPES.get(event.event_type)
    if kind is None:
        return
    message = find_message(event)
    if message is None:
        log.info("%s %s event for an unknown message", esp_name, event.event_type)
        return
    customer, store = message.customer, message.store
    props = {**event_ids(message), "esp": esp_name}
    if message.subject:
        props["subject"] = message.subject
    if kind == "email.bounced":
        props["bounce_type"] = "soft" if is_soft_bounce(event) else "hard"
        props["reason"] = (event.description or event.mta_response or "")[:300]
    if kind == "email.opened":
        props["machine"] = is_machine_open(event.user_agent or "", message, event.timestamp)
    if kind == "email.clicked":
        props["url"] = event.click_url or ""
    when = event.timestamp or timezone.now()
    event_key = tracking_event_key(event)
    record_events(store, [CanonicalEvent(
        type=kind, occurred_at=when, dedupe_key=f"esp:{esp_name}:{message.pk}:{event_key}"[:255],
        source="email", customer_id=customer.pk, properties=props,
    )])
    email = customer.email
    if kind == "email.delivered" and email:
        SoftBounceStreak.objects.filter(store=store, email__in=[email, address_hash(store.pk, email)]).update(count=0)
    elif kind == "email.bounced" and props["bounce_type"] == "hard":
        suppress(store, email, Suppression.Reason.HARD_BOUNCE, props["reason"])
    elif kind == "email.bounced" and email:
        streak = streak_for(store, email)
        SoftBounceStreak.objects.filter(pk=streak.pk).update(count=F("count") + 1)
        streak.refresh_from_db()
        if streak.count > SOFT_BOUNCE_LIMIT:
            suppress(store, email, Suppression.Reason.SOFT_BOUNCES, f"{streak.count} soft bounces in a row")
    elif kind == "email.complained":
        suppress(store, email, Suppression.Reason.COMPLAINT, esp_name)
        unsubscribe(customer, "complaint", ref=f"{esp_name}:{message.pk}:{event_key}",
                    evidence={"message_id": str(message.pk), "provider_event": f"{esp_name} {event_key}"[:200]})
    elif kind == "email.unsubscribed":
        unsubscribe(customer, "provider", ref=f"{esp_name}:{message.pk}:{event_key}",
                    evidence={"message_id": str(message.pk), "provider_event": f"{esp_name} {event_key}"[:200]})


def connect() -> None:
    from anymail.signals import tracking

    receiver(tracking, dispatch_uid="campaigns.feedback")(handle_tracking)
