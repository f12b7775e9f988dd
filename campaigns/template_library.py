"""The tags and filters a marketer's email template may use: Django's own, bounded.

The sandboxed engines of ``campaigns.rendering`` load only this library (no ``include``/``extends``, no
``load``, no ``url``, no ``debug``: it prints the whole context, no ``lorem``: it generates any amount of
text, no ``pprint``). Every filter's result is limited to ``rendering.MAX_OUTPUT_CHARS`` and the width-like
arguments (``ljust``, ``rjust``, ``center``, ``wordwrap``, ``floatformat``, ``stringformat``) to
``MAX_WIDTH``, so one filter cannot allocate gigabytes before the render budget notices.
"""

from __future__ import annotations

import functools
import re

from django.template import Library, defaultfilters, defaulttags

register = Library()

LEFT_OUT_TAGS = frozenset({"debug", "lorem", "load", "url", "csrf_token", "querystring"})
LEFT_OUT_FILTERS = frozenset({"pprint"})
WIDTH_FILTERS = frozenset({"ljust", "rjust", "center", "wordwrap", "floatformat", "stringformat"})
MAX_WIDTH = 10_000
_DIGITS = re.compile(r"\d+")


class RenderLimit(Exception):
    """A render over its time or output budget (not a ``ValueError``: template code must not swallow it)."""


def _check_width(name: str, argument) -> None:
    numbers = [int(n) for n in _DIGITS.findall(str(argument))]
    if any(n > MAX_WIDTH for n in numbers):
        raise RenderLimit(f"the {name} filter takes widths up to {MAX_WIDTH}")
    if name == "wordwrap" and numbers and numbers[0] < 1:
        raise RenderLimit("wordwrap needs a width of at least 1")


def _size(value) -> int:
    try:
        return len(value)
    except TypeError:
        return 1


def _bounded(name: str, func):
    @functools.wraps(func)  # keeps is_safe, needs_autoescape, ... and the signature the parser checks
    def bounded(value, *args, **kwargs):
        from . import rendering  # (its limits, read when rendering: it imports this module)

        if name in WIDTH_FILTERS and args:
            _check_width(name, args[0])
        if name == "join" and args and _size(value) * len(str(args[0])) > rendering.MAX_OUTPUT_CHARS:
            raise RenderLimit(f"the join filter would make more than {rendering.MAX_OUTPUT_CHARS:,} characters")
        result = func(value, *args, **kwargs)
        if isinstance(result, str | list | tuple) and len(result) > rendering.MAX_OUTPUT_CHARS:
            raise RenderLimit(f"the {name} filter made more than {rendering.MAX_OUTPUT_CHARS:,} characters")
        return result

    return bounded


for _name, _tag in defaulttags.register.tags.items():
    if _name not in LEFT_OUT_TAGS:
        register.tags[_name] = _tag
for _name, _filter in defaultfilters.register.filters.items():
    if _name not in LEFT_OUT_FILTERS:
        register.filters[_name] = _bounded(_name, _filter)
