"""The collect batch schema (docs/CONTRACT.md "Storefront collect batch"): one validator, clear messages.

``parse_batch(body)`` returns the events (as dicts, cleaned) or raises ``BatchError`` with every problem
found, each prefixed by where it is (``events[2].timestamp: ...``). Pure: no database.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from integrations.values import timestamp

_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # an escaped NUL, not an escaped backslash + "u0000"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_ID = 64
MAX_URL = 2048
MAX_DATA_KEYS = 50  # sizes are bounded by the body limit (COLLECT_MAX_BODY_BYTES)
MAX_ERRORS = 10
OPTIONAL_STRINGS = {
    "url": MAX_URL,
    "email": 254,
    "customer_id": 64,
    "sc_id": 512,
    "referrer": MAX_URL,
    "title": 300,
}


class BatchError(ValueError):
    def __init__(self, errors: list[str], status: int = 400):
        super().__init__("; ".join(errors))
        self.errors = errors
        self.status = status


def parse_timestamp(value: str) -> datetime:
    """The one timestamp reader of every adapter (``integrations.values``); a missing time is an error here."""
    parsed = timestamp(value, "timestamp")
    if parsed is None:
        raise ValueError("timestamp: required")
    return parsed


def _event(index: int, raw: Any, errors: list[str]) -> dict[str, Any] | None:
    where = f"events[{index}]"
    if not isinstance(raw, dict):
        errors.append(f"{where}: must be an object")
        return None
    clean: dict[str, Any] = {}
    for key in ("id", "client_id"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID:
            errors.append(f"{where}.{key}: required, a string of 1 to {MAX_ID} characters")
        else:
            clean[key] = value.strip()
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        errors.append(f"{where}.name: required, lowercase letters, digits and _ (for example product_viewed)")
    else:
        clean["name"] = name
    timestamp = raw.get("timestamp")
    try:
        if not isinstance(timestamp, str) or len(timestamp) > 40:
            raise ValueError
        parse_timestamp(timestamp)
        clean["timestamp"] = timestamp
    except (ValueError, OverflowError):
        errors.append(f"{where}.timestamp: required, an ISO 8601 date-time (2026-01-31T12:00:00Z)")
    for key, limit in OPTIONAL_STRINGS.items():
        value = raw.get(key)
        if value is None or value == "":
            continue
        if key == "customer_id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > limit:
            errors.append(f"{where}.{key}: optional, a string of at most {limit} characters")
        else:
            clean[key] = value
    data = raw.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.append(f"{where}.data: optional, an object")
    elif len(data) > MAX_DATA_KEYS:
        errors.append(f"{where}.data: more than {MAX_DATA_KEYS} keys")
    else:
        clean["data"] = data
    unknown = set(raw) - {"id", "client_id", "name", "timestamp", "data", *OPTIONAL_STRINGS}
    if unknown:
        errors.append(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))[:200]}")
    return clean


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def parse_batch(body: bytes, max_events: int) -> list[dict[str, Any]]:
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BatchError([f"body: not JSON ({exc.__class__.__name__})"]) from None
    try:
        # What the database's JSON types refuse: NUL characters and unpaired surrogates.
        text = json.dumps(document, ensure_ascii=False)
        text.encode("utf-8")
        if "\\u0000" in text and _NUL_ESCAPE.search(text):
            raise BatchError(["body: contains a NUL character (\\u0000)"])
    except UnicodeEncodeError:
        raise BatchError(["body: contains an unpaired UTF-16 surrogate"]) from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise BatchError(['body: must be an object {"events": [...]}'])
    raw_events = document["events"]
    if not raw_events:
        raise BatchError(["events: empty"])
    if len(raw_events) > max_events:
        raise BatchError([f"events: {len(raw_events)} events, at most {max_events} per batch"], status=413)
    errors: list[str] = []
    events = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_events):
        clean = _event(index, raw, errors)
        if clean and "id" in clean:
            if clean["id"] in seen:
                errors.append(f"events[{index}].id: repeated in the batch")
            seen.add(clean["id"])
        events.append(clean)
    if errors:
        more = len(errors) - MAX_ERRORS
        raise BatchError(errors[:MAX_ERRORS] + ([f"... and {more} more"] if more > 0 else []))
    return events
