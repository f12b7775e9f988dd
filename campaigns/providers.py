"""Per-store email backends: the store's ``EmailProvider`` row -> a Django email connection.

Every provider is a Django email backend (``django.core.mail``): console/file for development, SMTP,
and the django-anymail backends for real providers. Credentials are the backend's keyword arguments
(``api_key=...`` for anymail, ``host``/``port``/``username``/``password``/``use_tls`` for SMTP), kept
encrypted in ``EmailProvider.credentials``. Adding a provider anymail supports is one line in BACKENDS.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from shopconnect.timeline.models import Store

from .models import EmailProvider, Message

BACKENDS: dict[str, str] = {
    EmailProvider.Kind.CONSOLE: "django.core.mail.backends.console.EmailBackend",
    EmailProvider.Kind.FILE: "django.core.mail.backends.filebased.EmailBackend",
    EmailProvider.Kind.LOCMEM: "django.core.mail.backends.locmem.EmailBackend",
    EmailProvider.Kind.SMTP: "django.core.mail.backends.smtp.EmailBackend",
    EmailProvider.Kind.SENDGRID: "anymail.backends.sendgrid.EmailBackend",
    EmailProvider.Kind.POSTMARK: "anymail.backends.postmark.EmailBackend",
    EmailProvider.Kind.MAILGUN: "anymail.backends.mailgun.EmailBackend",
    EmailProvider.Kind.AMAZON_SES: "anymail.backends.amazon_ses.EmailBackend",
    EmailProvider.Kind.BREVO: "anymail.backends.brevo.EmailBackend",
    EmailProvider.Kind.RESEND: "campaigns.idempotency.ResendBackend",  # anymail's, sending our Idempotency-Key
    EmailProvider.Kind.MAILJET: "anymail.backends.mailjet.EmailBackend",
    EmailProvider.Kind.SPARKPOST: "anymail.backends.sparkpost.EmailBackend",
}
ANYMAIL_KINDS = frozenset(k for k, path in BACKENDS.items() if path.startswith("anymail.")) | {
    EmailProvider.Kind.RESEND}
# Keyword arguments each backend family accepts; anything else in the credentials is refused.
SMTP_KWARGS = frozenset({"host", "port", "username", "password", "use_tls", "use_ssl", "timeout"})
ANYMAIL_KWARGS = frozenset({"api_key", "secret_key", "server_token", "sender_domain", "api_url",
                            "access_key_id", "secret_access_key", "region_name", "username", "password"})


class ProviderNotConfigured(Exception):
    """The store has no email provider (or a broken one): nothing can be sent."""


def provider_for(store: Store) -> EmailProvider | None:
    return EmailProvider.objects.filter(store=store).first()


def connection_for(provider: EmailProvider) -> BaseEmailBackend:
    """A backend instance for this store's provider, built with ``get_connection(path, **credentials)``."""
    path = BACKENDS.get(provider.kind)
    if path is None:
        raise ProviderNotConfigured(f"unknown provider kind {provider.kind!r}")
    credentials = provider.credential_dict()
    allowed = SMTP_KWARGS if provider.kind == EmailProvider.Kind.SMTP else (
        ANYMAIL_KWARGS if provider.kind in ANYMAIL_KINDS else frozenset({"file_path"}))
    unknown = set(credentials) - allowed
    if unknown:
        raise ProviderNotConfigured(f"unknown credential keys: {', '.join(sorted(unknown))}")
    if provider.kind == EmailProvider.Kind.FILE:
        credentials.setdefault("file_path", str(settings.BASE_DIR / "var" / "mail"))
    return get_connection(path, fail_silently=False, **credentials)


def sending_budget(provider: EmailProvider, now=None) -> int | None:
    """How many more messages the store may send this minute (None: unlimited)."""
    if not provider.rate_limit_per_minute:
        return None
    now = now or timezone.now()
    sent = Message.objects.filter(
        store_id=provider.store_id, state=Message.State.SENT, sent_at__gt=now - timedelta(minutes=1)
    ).count()
    return max(provider.rate_limit_per_minute - sent, 0)


def send_test_email(provider: EmailProvider, to: str) -> str:
    """Send a short test message through the store's provider; returns the provider's message id."""
    message = EmailMultiAlternatives(
        subject=f"ShopConnect test email for {provider.store}",
        body="If you can read this, your email provider is connected to ShopConnect.",
        from_email=provider.from_header, to=[to],
        connection=connection_for(provider),
    )
    message.send()
    status = getattr(message, "anymail_status", None)
    return (status.message_id if status else "") or ""
