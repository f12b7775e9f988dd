"""Secrets at rest: a model field that stores Fernet ciphertext and gives back plain text in Python.

Keys come from ``FIELD_ENCRYPTION_KEY`` (comma-separated Fernet keys; the first encrypts, every key
decrypts, so a key can be rotated by putting the new one first). In development without a key, one is
derived from SECRET_KEY so that ``make run`` needs no setup; production refuses to start without one
(``shopconnect.checks``).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: str, secret_key: str) -> MultiFernet:
    if keys:
        try:
            return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEY must be Fernet keys (generate one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            ) from exc
    derived = base64.urlsafe_b64encode(hashlib.sha256(("shopconnect-fields:" + secret_key).encode()).digest())
    return MultiFernet([Fernet(derived)])


def fernet() -> MultiFernet:
    return _fernet(settings.FIELD_ENCRYPTION_KEY, settings.SECRET_KEY)


def encrypt(value: str) -> str:
    return PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(PREFIX):
        raise ValueError("value is not ShopConnect ciphertext")
    try:
        return fernet().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY: was the key changed "
            "without keeping the old one after it?"
        ) from exc


class EncryptedTextField(models.TextField):
    """Text encrypted with Fernet in the database, plain in Python. Empty string stays empty.

    Not searchable or orderable by its plain value; never put it in list_display or a filter.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
