"""Per-store email backends: the store's ``EmailProvider`` row -> a Django email connection.

Every provider is a Django email backend (``django.core.mail``): console/file for development, SMTP,
and the django-anymail backends for real providers. Credentials are the backend's keyword arguments
(``api_key=...`` for anymail, ``host``/``port``/``username``/``password``/``use_tls`` for SMTP), kept
encrypted in ``EmailProvider.credentials``. Adding a provider anymail supports is one line in BACKENDS.

Every host a provider's credentials name is untrusted (SSRF, issue 13): ``check_credentials`` refuses an
``api_url`` or SMTP ``host`` that is not a public address (``shopconnect.outbound``) when the provider is
saved and again when a connection is made; the SMTP backend checks the address it actually connected to
before saying anything (so DNS rebinding does not help), and anymail's HTTP requests are checked by
``outbound.install``. The ``file`` kind exists only with DEBUG and always writes under ``var/mail``. A
failed test send says only that it failed (``failure_summary``): never the provider's answer, which could
be an internal service's body, and nothing that tells an open port from a closed one.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.utils import timezone

from shopconnect import outbound
from shopconnect.timeline.models import Store

from .models import EmailProvider, Message

BACKENDS: dict[str, str] = {
    EmailProvider.Kind.CONSOLE: "django.core.mail.backends.console.EmailBackend",
    EmailProvider.Kind.FILE: "django.core.mail.backends.filebased.EmailBackend",
    EmailProvider.Kind.LOCMEM: "django.core.mail.backends.locmem.EmailBackend",
    EmailProvider.Kind.SMTP: "campaigns.providers.CheckedSMTPBackend",
    EmailProvider.Kind.SENDGRID: "anymail.backends.sendgrid.EmailBackend",
    EmailProvider.Kind.POSTMARK: "anymail.backends.postmark.EmailBackend",
    EmailProvider.Kind.MAILGUN: "anymail.backends.mailgun.EmailBackend",
    EmailProvider.Kind.AMAZON_SES: "anymail.backends.amazon_ses.EmailBackend",
    EmailProvider.Kind.BREVO: "anymail.backends.brevo.EmailBackend",
    EmailProvider.Kind.RESEND: "campaigns.idempotency.ResendBackend",  # anymail's, sending our Idempotency-Key
    EmailProvider.Kind.MAILJET: "anymail.backends.mailjet.EmailBackend",
    EmailProvider.Kind.SPARKPOST: "anymail.backends.sparkpost.EmailBackend",
}
# Providers whose API takes a per-message open/click tracking switch (we track ourselves, so it is turned off);
# anymail refuses the switch for the others (Amazon SES, Brevo, Resend): turn their tracking off at the provider.
TRACKING_SWITCH_KINDS = frozenset({EmailProvider.Kind.SENDGRID, EmailProvider.Kind.POSTMARK, EmailProvider.Kind.MAILGUN,
                                   EmailProvider.Kind.MAILJET, EmailProvider.Kind.SPARKPOST})
ANYMAIL_KINDS = frozenset(k for k, path in BACKENDS.items() if path.startswith("anymail.")) | {
    EmailProvider.Kind.RESEND}
# Keyword arguments each backend family accepts; anything else in the credentials is refused.
SMTP_TIMEOUT = 20  # seconds, unless the credentials say otherwise
SMTP_KWARGS = frozenset({"host", "port", "username", "password", "use_tls", "use_ssl", "timeout"})
ANYMAIL_KWARGS = frozenset({"api_key", "secret_key", "server_token", "sender_domain", "api_url",
                            "access_key_id", "secret_access_key", "region_name", "configuration_set_name",
                            "username", "password"})
# Amazon SES takes boto3 session parameters, not keyword arguments of its own: the store's keys and region.
SES_SESSION_KEYS = {"access_key_id": "aws_access_key_id", "secret_access_key": "aws_secret_access_key",
                    "region_name": "region_name"}

log = logging.getLogger(__name__)


class ProviderNotConfigured(Exception):
    """The store has no email provider (or a broken one): nothing can be sent. Its message is ours (never
    a provider's answer), fit to show to the store's staff."""


def development_kinds_allowed() -> bool:
    return bool(settings.DEBUG)


def check_credentials(kind: str, credentials: dict) -> None:
    """Raise ``ProviderNotConfigured`` (saying why, naming no address) unless this provider may be used:
    known credential keys only, ``api_url`` a public https URL, the SMTP host a public address, and the
    ``file`` kind only in development."""
    if kind == EmailProvider.Kind.FILE and not development_kinds_allowed():
        raise ProviderNotConfigured("the file kind is for development only (DEBUG); pick a real provider")
    allowed = SMTP_KWARGS if kind == EmailProvider.Kind.SMTP else (
        ANYMAIL_KWARGS if kind in ANYMAIL_KINDS else frozenset())
    unknown = set(credentials) - allowed
    if unknown:
        raise ProviderNotConfigured(f"unknown credential keys: {', '.join(sorted(unknown))}")
    try:
        if credentials.get("api_url"):
            outbound.check_url(str(credentials["api_url"]))
        if kind == EmailProvider.Kind.SMTP:
            outbound.check_host(str(credentials.get("host") or settings.EMAIL_HOST), _smtp_port(credentials))
    except outbound.OutboundBlocked as exc:
        raise ProviderNotConfigured(f"refused: {exc}") from None


def _smtp_port(credentials: dict) -> int:
    try:
        return int(credentials.get("port") or settings.EMAIL_PORT)
    except (TypeError, ValueError):
        raise ProviderNotConfigured("the SMTP port must be a number") from None


class _CheckedSMTPMixin:
    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        outbound.check_peer(sock, host)  # before EHLO, STARTTLS or the password
        return sock


class _CheckedSMTP(_CheckedSMTPMixin, smtplib.SMTP):
    pass


class _CheckedSMTPSSL(_CheckedSMTPMixin, smtplib.SMTP_SSL):
    pass


class CheckedSMTPBackend(SMTPBackend):
    """Django's SMTP backend that talks only to a public address (or an ``OUTBOUND_ALLOW_HOSTS`` relay)."""

    @property
    def connection_class(self):
        return _CheckedSMTPSSL if self.use_ssl else _CheckedSMTP


def failure_summary(exc: Exception) -> str:
    """What staff are told when a test send fails. Our own refusals say why; anything else (the provider's
    or the network's error) is one generic sentence, logged by class only (no secrets, no body)."""
    if isinstance(exc, ProviderNotConfigured):
        return str(exc)
    log.warning("test email failed: %s", type(exc).__name__)
    return ("the provider did not accept the test email. Check the credentials, the sender address's domain "
            "and the provider's own dashboard.")


def provider_for(store: Store) -> EmailProvider | None:
    return EmailProvider.objects.filter(store=store).first()


def connection_for(provider: EmailProvider) -> BaseEmailBackend:
    """A backend instance for this store's provider, built with ``get_connection(path, **credentials)``."""
    path = BACKENDS.get(provider.kind)
    if path is None:
        raise ProviderNotConfigured(f"unknown provider kind {provider.kind!r}")
    try:
        credentials = provider.credential_dict()
    except ValueError:
        raise ProviderNotConfigured("the stored credentials are not a JSON object") from None
    check_credentials(provider.kind, credentials)
    if provider.kind == EmailProvider.Kind.FILE:
        credentials["file_path"] = str(settings.BASE_DIR / "var" / "mail")
    if provider.kind == EmailProvider.Kind.SMTP:
        credentials.setdefault("timeout", SMTP_TIMEOUT)  # a silent host must not hold a worker (or a page) forever
    if provider.kind == EmailProvider.Kind.AMAZON_SES:
        credentials["session_params"] = {SES_SESSION_KEYS[k]: credentials.pop(k) for k in list(credentials)
                                         if k in SES_SESSION_KEYS}
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
    """Send a short test message through the store's provider; returns the provider's message id. Raises
    ``ProviderNotConfigured`` or the provider's own error (show it with ``failure_summary``)."""
    message = EmailMultiAlternatives(
        subject=f"ShopConnect test email for {provider.store}",
        body="If you can read this, your email provider is connected to ShopConnect.",
        from_email=provider.from_header, to=[to],
        connection=connection_for(provider),
    )
    message.send()
    status = getattr(message, "anymail_status", None)
    return (status.message_id if status else "") or ""
