"""Rendering templates: Django's template language in a sandboxed engine, CSS inlined, text generated.

The engine has no template directories and no extra tag libraries, so a marketer's template cannot
read files or load code; HTML autoescapes every variable (subject and text do not: they are not HTML).
A template that fails to compile or render raises ``TemplateProblem``: the admin shows it, the sender
records it on the message (failed, with the error) and never sends a half-rendered email.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline
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


_DROP = re.compile(r"<(head|style|script|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"<a\b[^>]*?href\s*=\s*([\"'])(.*?)\1[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>|</(p|div|h[1-6]|li|tr|table|ul|ol)\s*>", re.IGNORECASE)
_ITEM = re.compile(r"<li\b[^>]*>", re.IGNORECASE)
_CELL = re.compile(r"</t[dh]\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)+")


def html_to_text(html: str) -> str:
    """A plain-text part from rendered HTML: links as "text (url)", blocks as lines, no markup.
    Our own small converter: html2text was a third of the sender's time and adds Markdown syntax."""

    def link(match: re.Match) -> str:
        text = _TAG.sub("", match.group(3)).strip()
        url = match.group(2).strip()
        return f"{text} ({url})" if text and text != url else url

    text = _DROP.sub("", html)
    text = _LINK.sub(link, text)
    text = _ITEM.sub("- ", text)
    text = _CELL.sub(" ", text)
    text = _BREAK.sub("\n", text)
    text = htmllib.unescape(_TAG.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"


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
