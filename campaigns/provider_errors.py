"""What a provider's failure means: for the message (retry, fail, in doubt) and for the store (alert).

``classify(exc, handed_over)`` reads the exception a Django email backend raised (SMTP, django-anymail's
HTTP backends, a missing library) into a ``Fault``:

- ``IN_DOUBT``: the message went out and no answer came back (read timeout, connection dropped during
  the exchange, SMTP server gone before its reply to the data): the provider may have accepted it.
  Providers that take our idempotency key are asked again with it; for the others the store's
  ``in_doubt`` setting decides (``campaigns.sender``).
- ``TRANSIENT``: nothing was accepted and later can work (connection refused, connect timeout, HTTP 429
  and 5xx, SMTP 4xx, and our own refusals: a host the outbound check refuses, a provider not
  configured, told in our words): retried with backoff; the store's other rows in the batch wait as well.
- ``MESSAGE``: the provider refused this message (other HTTP 4xx, a refused recipient, SMTP 5xx to the
  data): failed with the provider's reason; the batch goes on.
- ``STORE``: the store's provider cannot send at all (its library is not installed, credentials
  refused, sender refused): the store's rows of the batch fail with the reason and the owner is alerted.

Reasons name the status and what it means, never the provider's response body (it can echo credentials
or internal detail); an SMTP reply's first line is the provider's own reason and is kept, shortened.
"""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass
from http import HTTPStatus

from django.core.exceptions import ImproperlyConfigured

IN_DOUBT, TRANSIENT, MESSAGE, STORE = "in_doubt", "transient", "message", "store"


@dataclass(frozen=True)
class Fault:
    kind: str
    reason: str

    @property
    def about_provider(self) -> bool:
        """True when the failure says the provider is failing (not this one message): alert the owner."""
        return self.kind in (TRANSIENT, STORE)


def _http(code: int) -> str:
    try:
        return f"HTTP {code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _smtp_reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    return f"SMTP {exc.smtp_code} {text.splitlines()[0][:120] if text else ''}".strip()


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        yield from (a for a in getattr(exc, "args", ()) if isinstance(a, BaseException))
        exc = exc.__cause__ or exc.__context__


def _never_connected(exc: BaseException) -> bool:
    """A requests/urllib3 error raised before any byte of the request left (refused, DNS, connect timeout)."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

    for link in _chain(exc):
        if isinstance(link, (requests.ConnectTimeout, NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)):
            return True
        if isinstance(link, MaxRetryError) and isinstance(link.reason, (NewConnectionError, ConnectTimeoutError)):
            return True
    return False


def classify(exc: BaseException, *, handed_over: bool) -> Fault:  # noqa: PLR0911, C901 - one table of cases
    """``handed_over``: the exception came from sending a message (not from opening the connection)."""
    name = type(exc).__name__
    from shopconnect.outbound import OutboundBlocked

    from .providers import ProviderNotConfigured

    if isinstance(exc, (OutboundBlocked, ProviderNotConfigured)):  # our own words: the owner can fix it, then it goes
        return Fault(TRANSIENT, f"the provider cannot be used: {str(exc)[:200]}")
    if isinstance(exc, ImportError):  # anymail's AnymailImproperlyInstalled is one
        return Fault(STORE, f"the provider's library is not installed ({name}); ask the operator to install it")
    if isinstance(exc, ImproperlyConfigured):
        return Fault(STORE, f"the provider is not configured correctly ({name})")
    try:
        from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
    except ImportError:  # pragma: no cover - anymail is a dependency
        AnymailAPIError = AnymailError = AnymailRecipientsRefused = ()  # noqa: N806
    if AnymailRecipientsRefused and isinstance(exc, AnymailRecipientsRefused):
        return Fault(MESSAGE, "the provider refused the recipient")
    status = getattr(exc, "status_code", None) if AnymailAPIError and isinstance(exc, AnymailAPIError) else None
    if status is not None:
        if status in (401, 403):
            return Fault(STORE, f"the provider refused the credentials ({_http(status)})")
        if status == 429 or status >= 500:
            return Fault(TRANSIENT, f"the provider is unavailable ({_http(status)})")
        if 200 <= status < 300:  # accepted, but its answer could not be read
            return Fault(IN_DOUBT, f"the provider's answer could not be read ({_http(status)})")
        return Fault(MESSAGE, f"the provider refused the message ({_http(status)})")
    if AnymailError and isinstance(exc, AnymailError) and not isinstance(exc, OSError):
        import requests

        if not isinstance(exc, requests.RequestException):  # invalid address, unsupported feature...
            return Fault(MESSAGE, f"the provider cannot send this message ({name})")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Fault(STORE, f"the SMTP server refused the credentials ({_smtp_reply(exc)})")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return Fault(MESSAGE, "the SMTP server refused the recipient")
    if isinstance(exc, smtplib.SMTPResponseException):
        transient = 400 <= exc.smtp_code < 500
        if isinstance(exc, smtplib.SMTPSenderRefused) and not transient:
            return Fault(STORE, f"the SMTP server refused the sender address ({_smtp_reply(exc)})")
        return Fault(TRANSIENT if transient else MESSAGE, f"the SMTP server answered {_smtp_reply(exc)}")
    if isinstance(exc, (smtplib.SMTPConnectError, ConnectionRefusedError, socket.gaierror)) or not handed_over:
        return Fault(TRANSIENT, f"the provider could not be reached ({name})")
    if _never_connected(exc):
        return Fault(TRANSIENT, f"the provider could not be reached ({name})")
    # Anything else while the message was being handed over: it may have been accepted.
    return Fault(IN_DOUBT, f"no answer from the provider while sending ({name})")
