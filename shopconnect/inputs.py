"""Bounded input: every JSON body and id parameter is checked here, so bad input answers 4xx, never 500.

- ``loads(body)``: JSON with at most ``MAX_JSON_DEPTH`` levels of nesting (a body of 100,000 nested
  brackets made Python's decoder raise ``RecursionError``: a 500), NaN/Infinity refused; raises
  ``BadInput`` (a ``ValueError``) saying what is wrong. Used by the API's parser (``BoundedJSONParser``,
  the default in settings), the admin's JSON form fields (``BoundedJSONFormField``), the admin's JSON
  endpoints, the storefront collect endpoint and the webhook processing.
- ``parse_id(value)``: a database id from a query parameter (ASCII digits, within a 64-bit integer), or
  ``BadInput``.
- Event times: ``check_event_time`` (the API's window; ``MIN_EVENT_TIME`` to ``now + MAX_FUTURE``) and
  ``clamp_event_time`` (platform and storefront times are clamped into that window).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.forms.fields import InvalidJSONInput
from django.utils import timezone
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64
MAX_ID = 2**63 - 1
MIN_EVENT_TIME = datetime(1990, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=1)


class BadInput(ValueError):
    """Input that cannot be accepted; the message says why (and is safe to show)."""


def _reject_constant(name: str):
    raise BadInput(f"{name} is not JSON")


def check_depth(document: Any, limit: int = MAX_JSON_DEPTH) -> Any:
    """``document`` if it nests at most ``limit`` levels (checked without recursion), else ``BadInput``.
    Only containers go on the stack: every webhook body passes here, so scalars cost one test each."""
    if not isinstance(document, dict | list):
        return document
    stack = [(document, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        if depth > limit:
            raise BadInput(f"nested more than {limit} levels deep")
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, dict | list):
                push((item, depth + 1))
    return document


def loads(body: bytes | str, limit: int = MAX_JSON_DEPTH) -> Any:
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise BadInput(f"nested more than {limit} levels deep") from None
    except UnicodeDecodeError:
        raise BadInput("not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    return check_depth(document, limit)


def parse_id(value: str | None) -> int:
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        raise BadInput("must be an id (a positive whole number)")
    return int(text)


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind a proxy (``COLLECT_TRUST_X_FORWARDED_FOR``) the
    first X-Forwarded-For address. Collect rate limits and login throttling (django-axes) use it."""
    from django.conf import settings

    if settings.COLLECT_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def query_id(request, name: str) -> int:
    """``parse_id`` of an API query parameter; a bad one answers 400 naming the parameter."""
    from rest_framework.exceptions import ValidationError

    try:
        return parse_id(request.query_params.get(name))
    except BadInput as exc:
        raise ValidationError({name: str(exc)}) from None


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with ``loads``: too deep, malformed or non-UTF-8 bodies answer 400 saying why."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return loads(stream.read() if stream is not None else b"")
        except BadInput as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class BoundedJSONFormField(forms.JSONField):
    """The admin's JSON fields (rules, filters, step settings): too deep answers with a form error."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                check_depth(json.loads(value), MAX_JSON_DEPTH)
            except RecursionError:
                raise forms.ValidationError(f"nested more than {MAX_JSON_DEPTH} levels deep") from None
            except BadInput as exc:
                raise forms.ValidationError(str(exc)) from None
            except ValueError:
                pass  # Django's own message for invalid JSON
        return super().to_python(value)

    def bound_data(self, data, initial):  # re-showing the form with its error: the text as it was typed
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)


def check_event_time(when: datetime) -> datetime:
    """An API event's time, or ``BadInput``: not before 1990, at most a day in the future."""
    if when < MIN_EVENT_TIME:
        raise BadInput(f"before {MIN_EVENT_TIME:%Y-%m-%d}: not a time this service records")
    if when > timezone.now() + MAX_FUTURE:
        raise BadInput("more than a day in the future")
    return when


def clamp_event_time(when: datetime, received_at: datetime | None = None) -> tuple[datetime, bool]:
    """A platform or storefront time moved into the window (``MIN_EVENT_TIME`` .. received + ``MAX_FUTURE``),
    and whether it had to be moved."""
    latest = (received_at or timezone.now()) + MAX_FUTURE
    if when > latest:
        return latest, True
    if when < MIN_EVENT_TIME:
        return MIN_EVENT_TIME, True
    return when, False
