"""System checks that stop a production start (DEBUG off) missing what it needs, with a clear message."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def production_settings(app_configs, **kwargs):
    if settings.DEBUG:
        return []
    errors = []
    if not settings.SECRET_KEY or settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is not set.",
                hint="Set the SECRET_KEY environment variable to a long random string "
                "(python -c 'import secrets; print(secrets.token_urlsafe(50))').",
                id="shopconnect.E001",
            )
        )
    if not settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "ALLOWED_HOSTS is empty.",
                hint="Set ALLOWED_HOSTS to the host names this service answers on, comma-separated.",
                id="shopconnect.E002",
            )
        )
    if not settings.FIELD_ENCRYPTION_KEY:
        errors.append(
            Error(
                "FIELD_ENCRYPTION_KEY is not set: store tokens and provider keys cannot be encrypted.",
                hint="Generate one with python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())' and keep it safe: without it, stored secrets are lost.",
                id="shopconnect.E003",
            )
        )
    return errors
