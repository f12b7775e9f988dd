"""The signed identity parameter (``sc_id``) on links in our emails.

A click from an email lands on the storefront with ``?sc_id=<token>``; the tracking script sends the
token with its events and the collect endpoint turns it into the customer, so the visitor's anonymous
history joins the right timeline. Tokens are signed (not encrypted) and expire.
"""

from __future__ import annotations

from django.core import signing

PARAM = "sc_id"
_SALT = "shopconnect.identity"
MAX_AGE_SECONDS = 60 * 60 * 24 * 90


def make_identity_token(store_id: int, customer_id: int) -> str:
    return signing.dumps({"s": store_id, "c": customer_id}, salt=_SALT, compress=True)


def read_identity_token(token: str, store_id: int) -> int | None:
    """The customer id in a valid token for this store, else None (forged, expired, other store)."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") != store_id or not isinstance(data.get("c"), int):
        return None
    return data["c"]
