"""Rendering templates: Django's template language in a sandboxed engine, CSS inlined, text generated.

The engine has no template directories and no extra tag libraries, so a marketer's template cannot
read files or load code; HTML autoescapes every variable (subject and text do not: they are not HTML).
A template that fails to compile or render raises ``TemplateProblem``: the admin shows it, the sender
records it on the message (failed, with the error) and never sends a half-rendered email.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline
import html2text
from django.template import Context, Engine, TemplateSyntaxError

_HTML_ENGINE = Engine(autoescape=True, debug=False, string_if_invalid="", libraries={}, loaders=[])
_TEXT_ENGINE = Engine(autoescape=False, debug=False, string_if_invalid="", libraries={}, loaders=[])
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


class TemplateProblem(Exception):
    """A template that cannot be rendered; ``part`` is "subject", "html" or "text"."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    html: str
    text: str


@lru_cache(maxsize=512)
def _compile(source: str, html: bool, part: str):
    try:
        return (_HTML_ENGINE if html else _TEXT_ENGINE).from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(part, f"{part}: {exc}") from exc


def check_template(subject: str, html: str, text: str = "") -> None:
    """Compile every part; raises TemplateProblem naming the first broken one."""
    _compile(subject, False, "subject")
    _compile(html, True, "html")
    if text:
        _compile(text, False, "text")


def _render(source: str, html: bool, part: str, context: dict[str, Any]) -> str:
    template = _compile(source, html, part)
    try:
        return template.render(Context(context, autoescape=html))
    except Exception as exc:  # a filter or a property raising: never send half an email
        raise TemplateProblem(part, f"{part}: {type(exc).__name__}: {exc}") from exc


def html_to_text(html: str) -> str:
    converter = html2text.HTML2Text(bodywidth=0)
    converter.ignore_images = True
    converter.ignore_emphasis = True
    return converter.handle(html).strip() + "\n"


def inline_css(html: str) -> str:
    return _INLINER.inline(html)


def render_email(subject: str, html: str, text: str, context: dict[str, Any]) -> Rendered:
    """Render the three parts; the text part is generated from the HTML when the template has none."""
    rendered_subject = " ".join(_render(subject, False, "subject", context).split())
    rendered_html = _render(html, True, "html", context)
    rendered_text = _render(text, False, "text", context) if text.strip() else html_to_text(rendered_html)
    try:
        rendered_html = inline_css(rendered_html)
    except ValueError as exc:
        raise TemplateProblem("html", f"html: CSS could not be inlined: {exc}") from exc
    return Rendered(rendered_subject, rendered_html, rendered_text)
