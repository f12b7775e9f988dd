"""Signed tokens in our email links: open pixel, click redirect, unsubscribe/preferences.

Signed with SECRET_KEY (django.core.signing) under a salt per use, so a token for one purpose is never
accepted for another, and nobody can forge one for a message or customer they do not have.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

_OPEN, _CLICK, _UNSUB = "sc.open", "sc.click", "sc.unsub"


class BadToken(Exception):
    pass


def _load(token: str, salt: str):
    try:
        return signing.loads(token, salt=salt)
    except signing.BadSignature as exc:
        raise BadToken(str(exc)) from exc


def open_token(message_id: int) -> str:
    return signing.dumps(message_id, salt=_OPEN)


def read_open_token(token: str) -> int:
    value = _load(token, _OPEN)
    if not isinstance(value, int):
        raise BadToken("bad payload")
    return value


def click_token(message_id: int, index: int) -> str:
    return signing.dumps([message_id, index], salt=_CLICK)


def read_click_token(token: str) -> tuple[int, int]:
    value = _load(token, _CLICK)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise BadToken("bad payload")
    return value[0], value[1]


def unsubscribe_token(store_id: int, customer_id: int, message_id: int | None) -> str:
    return signing.dumps([store_id, customer_id, message_id], salt=_UNSUB)


def read_unsubscribe_token(token: str) -> tuple[int, int, int | None]:
    value = _load(token, _UNSUB)
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], int) and isinstance(value[1], int)):
        raise BadToken("bad payload")
    return value[0], value[1], value[2] if isinstance(value[2], int) else None


def absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def unsubscribe_url(store_id: int, customer_id: int, message_id: int | None) -> str:
    return absolute(f"/u/{unsubscribe_token(store_id, customer_id, message_id)}/")
