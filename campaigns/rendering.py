"""Rendering templates: Django's template language in a sandboxed engine, CSS inlined, text generated.

The engine has no template directories and no extra tag libraries, so a marketer's template cannot
read files or load code; HTML autoescapes every variable (subject and text do not: they are not HTML).
Costs are bounded here, for previews and the sender alike: one email renders within ``RENDER_SECONDS`` and
``MAX_OUTPUT_CHARS`` (every node and loop step checks the budget), filters are bounded
(``campaigns.template_library``), a part's source is at most ``MAX_SOURCE_CHARS``.
A template that fails to compile or render raises ``TemplateProblem``: the admin shows it, the sender
records it on the message (failed, with the error) and never sends a half-rendered email.
"""

from __future__ import annotations

import html as htmllib
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline
from django.template import Context, Engine, TemplateSyntaxError
from django.template.defaulttags import IfNode

from .template_library import RenderLimit

#: one email (subject, HTML and text) renders within this many seconds and characters, in previews and in
#: the sender alike; a template over either is a ``TemplateProblem`` (shown in the admin, the message failed)
RENDER_SECONDS = 2.0
MAX_OUTPUT_CHARS = 1_000_000
#: a template's source (each part)
MAX_SOURCE_CHARS = 200_000



def _engine(autoescape: bool) -> Engine:
    engine = Engine(autoescape=autoescape, debug=False, string_if_invalid="", libraries={}, loaders=[])
    # Only our library (Django's tags and filters, bounded; no include, load, url, debug, lorem): Engine
    # always adds Django's default builtins, so they are replaced after construction.
    engine.builtins = ["campaigns.template_library"]
    engine.template_builtins = engine.get_template_builtins(engine.builtins)
    return engine


_HTML_ENGINE = _engine(True)
_TEXT_ENGINE = _engine(False)
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


class _Budget:
    """The time and output one email may take; every node and loop step checks it."""

    __slots__ = ("deadline", "chars")

    def __init__(self) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS
        self.chars = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimit(f"it took longer than {RENDER_SECONDS:g} s to render")

    def add(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_OUTPUT_CHARS:
            raise RenderLimit(f"it renders to more than {MAX_OUTPUT_CHARS:,} characters")


class _BudgetContext(Context):
    budget: _Budget

    def __setitem__(self, key, value):  # every loop iteration sets its variable
        self.budget.tick()
        super().__setitem__(key, value)


def _guard(nodelist) -> None:
    """Make every node of a compiled template check the budget: leaves count their output."""
    for node in nodelist:
        children = [getattr(node, name) for name in node.child_nodelists if getattr(node, name, None)]
        if isinstance(node, IfNode):
            children = [nodes for _, nodes in node.conditions_nodelists]
        for child in children:
            _guard(child)
        inner = node.render_annotated
        leaf = not children

        def render_annotated(context, inner=inner, leaf=leaf):
            budget = getattr(context, "budget", None)
            if budget is not None:
                budget.tick()
            output = inner(context)
            if budget is not None and leaf:
                budget.add(len(output))
            return output

        node.render_annotated = render_annotated


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
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateProblem(part, f"{part}: longer than {MAX_SOURCE_CHARS:,} characters")
    try:
        template = (_HTML_ENGINE if html else _TEXT_ENGINE).from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(part, f"{part}: {exc}") from exc
    except RecursionError:
        raise TemplateProblem(part, f"{part}: nested too deeply") from None
    _guard(template.nodelist)
    return template


def check_template(subject: str, html: str, text: str = "") -> None:
    """Compile every part; raises TemplateProblem naming the first broken one."""
    _compile(subject, False, "subject")
    _compile(html, True, "html")
    if text:
        _compile(text, False, "text")


def _render(source: str, html: bool, part: str, context: dict[str, Any], budget: _Budget) -> str:
    template = _compile(source, html, part)
    bounded = _BudgetContext(context, autoescape=html)
    bounded.budget = budget
    try:
        return template.render(bounded)
    except RenderLimit as exc:
        raise TemplateProblem(part, f"{part}: {exc}") from None
    except RecursionError:
        raise TemplateProblem(part, f"{part}: nested too deeply") from None
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
    """Render the three parts within one budget (``RENDER_SECONDS``, ``MAX_OUTPUT_CHARS``); the text part is
    generated from the HTML when the template has none."""
    budget = _Budget()
    rendered_subject = " ".join(_render(subject, False, "subject", context, budget).split())
    rendered_html = _render(html, True, "html", context, budget)
    rendered_text = (_render(text, False, "text", context, budget) if text.strip()
                     else html_to_text(rendered_html))
    try:
        rendered_html = inline_css(rendered_html)
    except ValueError as exc:
        raise TemplateProblem("html", f"html: CSS could not be inlined: {exc}") from exc
    return Rendered(rendered_subject, rendered_html, rendered_text)
