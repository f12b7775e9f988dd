"""Our own open pixel and click redirect (``GET /t/o/<token>.gif``, ``GET /t/c/<token>``).

Tokens are signed (``campaigns.tokens``). A click redirects only to a link recorded on the message
(``Message.links``), never to a URL taken from the request: a forged or unknown token gets 404.
Opens carry ``machine: true`` when they look like a privacy proxy prefetching images (Apple Mail
Privacy Protection, Gmail/Yahoo image proxies) rather than a person reading, so reports can tell.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.record import record_events

from .models import Message
from .tokens import BadToken, read_click_token, read_open_token

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
PROXY_AGENTS = ("googleimageproxy", "yahoomailproxy", "ymailproxy", "outlook-ios", "bingpreview")
# Apple MPP fetches with a bare WebKit user agent that has no "Safari/" or "Mobile/" product token.
APPLE_MPP_PREFIX = "mozilla/5.0"
PREFETCH_WINDOW = timedelta(seconds=10)


def is_machine_open(user_agent: str, message: Message, at: datetime | None) -> bool:
    agent = (user_agent or "").lower()
    if not agent or any(proxy in agent for proxy in PROXY_AGENTS):
        return True
    bare_webkit = "applewebkit" in agent and "safari" not in agent and "mobile/" not in agent
    if agent.startswith(APPLE_MPP_PREFIX) and bare_webkit:
        return True
    return bool(message.sent_at and at and at - message.sent_at < PREFETCH_WINDOW)


def _event_props(message: Message) -> dict:
    from .sender import event_ids

    props = event_ids(message)
    if message.subject:
        props["subject"] = message.subject
    return props


def _minute(now: datetime) -> str:
    return now.strftime("%Y%m%d%H%M")


@never_cache
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    response = HttpResponse(PIXEL, content_type="image/gif")
    try:
        message_id = read_open_token(token)
    except BadToken:
        return response  # an image is always answered; a forged token records nothing
    message = Message.objects.select_related("store").filter(pk=message_id, state=Message.State.SENT).first()
    if message is not None:
        now = timezone.now()
        props = {**_event_props(message),
                 "machine": is_machine_open(request.headers.get("User-Agent", ""), message, now)}
        record_events(message.store, [CanonicalEvent(
            type="email.opened", occurred_at=now, dedupe_key=f"email.opened:{message.pk}:{_minute(now)}",
            source="email", customer_id=message.customer_id, properties=props,
        )])
    return response


@never_cache
def click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        message_id, index = read_click_token(token)
    except BadToken as exc:
        raise Http404("unknown link") from exc
    message = Message.objects.select_related("store").filter(pk=message_id).first()
    if message is None or not (0 <= index < len(message.links or [])):
        raise Http404("unknown link")
    target = message.links[index]
    if not target.startswith(("https://", "http://")):
        raise Http404("unknown link")
    now = timezone.now()
    record_events(message.store, [CanonicalEvent(
        type="email.clicked", occurred_at=now, dedupe_key=f"email.clicked:{message.pk}:{index}:{_minute(now)}",
        source="email", customer_id=message.customer_id, properties={**_event_props(message), "url": target},
    )])
    return HttpResponseRedirect(target)
