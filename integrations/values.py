"""Reading values out of platform payloads, with one policy for every adapter.

- Absent or empty (``None``, ``""``) is *unknown*: the reader returns ``None`` and the caller leaves the
  stored value alone (``missing`` tells absent keys from present ones).
- A value that is there but cannot be read (``"12,50"`` as money, ``"yesterday"`` as a time) is an error:
  ``BadValue`` names the field, the delivery fails visibly and can be replayed once the cause is fixed.
  Nothing is silently turned into ``None`` or zero.

Money is a ``Decimal`` with two places, never a float; times are aware UTC datetimes. Pure functions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


class BadValue(ValueError):
    """A payload value that is present but unreadable; the message names the field."""

    def __init__(self, field: str, value: Any, expected: str):
        self.field = field
        super().__init__(f"{field}: expected {expected}, got {str(value)[:80]!r}")


def missing(payload: dict, key: str) -> bool:
    """True when the payload does not carry ``key`` at all (unknown), as opposed to carrying null."""
    return key not in payload


def money(value: Any, field: str) -> Decimal | None:
    """A decimal amount ("199.00", 199, a GraphQL MoneyV2/MoneyBag); None when absent."""
    if isinstance(value, dict):  # {"amount": ...} or {"shopMoney": {"amount": ...}} / {"shop_money": ...}
        value = (value.get("shopMoney") or value.get("shop_money") or value).get("amount")
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadValue(field, value, "a decimal amount")
    # A JSON number (WooCommerce sends line prices as numbers) is read from its shortest text form, which
    # is the text the platform wrote, so no binary rounding creeps in.
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadValue(field, value, "a decimal amount") from None
    if not amount.is_finite():
        raise BadValue(field, value, "a finite decimal amount")
    return amount.quantize(CENT)


def money_text(value: Any, field: str) -> str | None:
    amount = money(value, field)
    return None if amount is None else str(amount)


def timestamp(value: Any, field: str) -> datetime | None:
    """An ISO 8601 date-time (any offset or ``Z``; no offset means UTC) as aware UTC; None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadValue(field, value, "an ISO 8601 date-time")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(field, value, "an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def first_timestamp(payload: dict, *names: str) -> datetime:
    """The first of these timestamps the payload carries; a payload with none of them is an error."""
    for name in names:
        value = timestamp(payload.get(name), name)
        if value is not None:
            return value
    raise BadValue(" / ".join(names), None, "one of these timestamps")


def stamp(moment: datetime) -> str:
    """A compact, stable form of a timestamp for dedupe keys."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def platform_id(value: Any) -> str | None:
    """A platform id as text: 64-bit integers stay exact, GraphQL gids keep their numeric tail, 0 is none."""
    if value is None or value == "" or value == 0 or value == "0":
        return None
    text = str(value).strip()
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1].split("?", 1)[0]
    return text or None


def tag_list(value: Any) -> list[str]:
    """Tags from a list or a comma-separated string ("VIP, Newsletter"), trimmed, without empties."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    return [text for text in (str(t).strip() for t in items) if text]


def integer(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadValue(field, value, "an integer")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise BadValue(field, value, "an integer") from None
    if number != number.to_integral_value():
        raise BadValue(field, value, "an integer")
    return int(number)


def text(value: Any, limit: int = 500) -> str:
    """A short free-text value ("" when absent), cut to ``limit`` characters."""
    return "" if value is None else str(value)[:limit]
