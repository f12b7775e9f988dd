"""Rewriting the links of a rendered email for tracking.

Each ``http(s)`` link becomes ``/t/c/<signed message id, link index>``; the targets are recorded on the
outbox row (``Message.links``), and the redirect only ever goes to a recorded target, so the endpoint
is not an open redirect. Links to the store's own site also get UTM parameters and the signed identity
parameter (``sc_id``) that stitches the storefront visit to the customer; third-party links get
neither (the identity token is not shared with other sites). A 1x1 open pixel is appended.
"""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shopconnect.timeline.identity import PARAM, make_identity_token

from .tokens import absolute, click_token, open_token

_HREF = re.compile(r'(<a\b[^>]*?\bhref\s*=\s*)(["\'])(https?://[^"\']+)\2', re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def store_hosts(store) -> set[str]:
    hosts = {store.domain.lower()} if store.domain else set()
    if store.url:
        host = urlsplit(store.url).hostname
        if host:
            hosts.add(host.lower())
    return hosts


def decorate(url: str, utm: dict[str, str], identity: str | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm and k != PARAM]
    query += list(utm.items())
    if identity:
        query.append((PARAM, identity))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def track(html: str, *, message_id: int, store, customer_id: int, utm: dict[str, str],
          pixel: bool = True) -> tuple[str, list[str]]:
    """Returns the HTML with tracked links and pixel, and the recorded link targets (by index)."""
    hosts = store_hosts(store)
    identity = make_identity_token(store.pk, customer_id)
    targets: list[str] = []
    index_of: dict[str, int] = {}

    def replace(match: re.Match) -> str:
        url = htmllib.unescape(match.group(3))
        if "/u/" in url and url.startswith(absolute("/u/")):
            return match.group(0)  # the unsubscribe link goes straight to its page
        host = (urlsplit(url).hostname or "").lower()
        target = decorate(url, utm, identity) if host in hosts else url
        if target not in index_of:
            index_of[target] = len(targets)
            targets.append(target)
        tracked = absolute(f"/t/c/{click_token(message_id, index_of[target])}")
        return f"{match.group(1)}{match.group(2)}{tracked}{match.group(2)}"

    html = _HREF.sub(replace, html)
    if pixel:
        img = (f'<img src="{absolute(f"/t/o/{open_token(message_id)}.gif")}" width="1" height="1" alt="" '
               'style="display:block;border:0;width:1px;height:1px">')
        html, count = _BODY_END.subn(img + "</body>", html, count=1)
        if not count:
            html += img
    return html, targets
