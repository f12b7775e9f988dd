"""Small, pure helpers to read Shopify payloads (REST webhook shapes and GraphQL shapes)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def sid(value: Any) -> str | None:
    """A Shopify id as a string: 64-bit ints stay exact; GraphQL gids keep their numeric tail."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1].split("?", 1)[0]
    return text


def money(value: Any) -> Decimal | None:
    """Money arrives as a decimal string ("199.00"); never parse it through float."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):  # GraphQL MoneyV2 / MoneyBag
        value = (value.get("shopMoney") or value).get("amount")
        if value is None:
            return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(f"not a money amount: {value!r}") from exc


def money_str(value: Any) -> str | None:
    amount = money(value)
    return None if amount is None else str(amount)


def when(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (any offset, or Z) as an aware UTC datetime."""
    if not value:
        return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def required_when(payload: dict, *names: str) -> datetime:
    """The first of these timestamps present in the payload; a payload with none is an error."""
    for name in names:
        value = when(payload.get(name))
        if value is not None:
            return value
    raise ValueError(f"payload has none of the timestamps {names}")


def stamp(moment: datetime) -> str:
    """A compact, stable form of a timestamp for dedupe keys."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def email_of(*candidates: Any) -> str | None:
    for candidate in candidates:
        if candidate:
            return str(candidate)
    return None


def tags(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(t).strip() for t in value if str(t).strip()]
    return [t.strip() for t in str(value or "").split(",") if t.strip()]


def line_items(items: list[dict] | None) -> list[dict[str, Any]]:
    """Line items in the timeline's shape: product, variant, title, quantity, price (string)."""
    out = []
    for item in items or []:
        out.append(
            {
                "product_id": sid(item.get("product_id")),
                "variant_id": sid(item.get("variant_id")),
                "title": item.get("title") or item.get("name") or "",
                "quantity": int(item.get("quantity") or 0),
                "price": money_str(item.get("price")),
                **({"sku": item["sku"]} if item.get("sku") else {}),
            }
        )
    return out
