"""Our outbox key, passed to the providers that deduplicate on it, so that a message in doubt can be
asked for again without reaching the customer twice.

Checked against each provider's send API (what django-anymail passes through):

- **Resend**: the ``Idempotency-Key`` HTTP header of ``POST /emails`` (kept 24 hours). anymail sends
  email headers inside the JSON body, not as HTTP headers, so ``ResendBackend`` adds it to the request.
- **Brevo**: ``headers.idempotencyKey`` in the JSON body of ``POST /v3/smtp/email`` (a UUID, kept 15 to
  30 minutes): anymail's Brevo backend puts the email's extra headers there, so it is one extra header.
- SendGrid, Postmark, Mailgun, Amazon SES, Mailjet, SparkPost and plain SMTP take no such key: a message
  in doubt with them follows the store's ``EmailProvider.in_doubt`` setting.

Every message also carries its outbox id in ``Message-ID`` (``<sc{id}.…@domain>``), which providers and
receiving servers that deduplicate on it can use.
"""

from __future__ import annotations

import uuid

from anymail.backends.resend import EmailBackend as AnymailResendBackend

from .models import EmailProvider, Message

IDEMPOTENT_KINDS = frozenset({EmailProvider.Kind.RESEND, EmailProvider.Kind.BREVO})
_NAMESPACE = uuid.UUID("6f1c1f4e-8d1e-4d0b-9a55-0c6a3c1f2b7e")


def provider_key(message: Message) -> str:
    """A UUID derived from the row's unique idempotency key: the same for every attempt of the message."""
    return str(uuid.uuid5(_NAMESPACE, f"{message.store_id}:{message.idempotency_key}"))


def add_key(email, kind: str, key: str) -> None:
    """Give the provider our key in the place its API reads it (nothing for providers without one)."""
    if kind == EmailProvider.Kind.BREVO:
        email.extra_headers["idempotencyKey"] = key
    elif kind == EmailProvider.Kind.RESEND:
        email.idempotency_key = key


class ResendBackend(AnymailResendBackend):
    """anymail's Resend backend, sending ``email.idempotency_key`` as Resend's ``Idempotency-Key`` header."""

    def build_message_payload(self, message, defaults):
        payload = super().build_message_payload(message, defaults)
        key = getattr(message, "idempotency_key", None)
        if key:
            payload.headers["Idempotency-Key"] = key
        return payload
