"""The generic webhook endpoint: size limit, store, signature, store the delivery, answer.

Status codes (docs/CONTRACT.md): 200 accepted, duplicate or ping; 401 missing or wrong signature; 404 unknown
store or platform; 413 body over ``WEBHOOK_MAX_BODY_BYTES``. The delivery is committed before the 200,
and processing happens in a task that takes its id.
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shopconnect.timeline.models import Store

from .models import WebhookDelivery
from .registry import get_adapter
from .tasks import claim_enqueue, enqueue_delivery, release_enqueue

log = logging.getLogger(__name__)


def _answer(status: int, text: str) -> HttpResponse:
    # The same JSON as JsonResponse({"status": text}), without encoding it on every request.
    return HttpResponse(_ANSWERS.get(text) or json.dumps({"status": text}), status=status,
                        content_type="application/json")


_ANSWERS = {t: json.dumps({"status": t}).encode() for t in (
    "accepted", "duplicate", "pong", "unknown platform", "unknown store", "invalid signature", "body too large",
    "missing topic header")}


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, platform: str, store_id: int | None = None) -> HttpResponse:
    adapter = get_adapter(platform)
    if adapter is None:
        return _answer(404, "unknown platform")
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _answer(413, "body too large")
    body = request.body
    if len(body) > limit:
        return _answer(413, "body too large")
    if adapter.is_ping(request, body):
        return _answer(200, "pong")
    store, cached = _identify_store(adapter, request, store_id)
    if store is None:
        return _answer(404, "unknown store")
    if not adapter.verify(request, body, store):
        log.warning("webhook with a missing or wrong signature for %s store %s", platform, store.pk)
        return _answer(401, "invalid signature")
    topic = adapter.topic(request)
    if not topic:
        return _answer(400, "missing topic header")
    delivery = WebhookDelivery(
        store=store,
        platform=platform,
        topic=topic[:128],
        delivery_key=adapter.delivery_key(request, body)[:255],
        headers=adapter.headers_to_keep(request),
        body=body,
        api_version=adapter.api_version(request)[:32],
        triggered_at=adapter.triggered_at(request),
    )
    queue = claim_enqueue()
    try:
        if queue:
            # With the ORM broker the queued task commits with the delivery: both or neither.
            with transaction.atomic():
                inserted = delivery.insert_unless_stored()
                if inserted:
                    enqueue_delivery(delivery.pk)
        else:
            # A task is already queued and will drain this delivery: one autocommitted INSERT, durable
            # when it returns (no BEGIN/COMMIT round trips).
            inserted = delivery.insert_unless_stored()
    except IntegrityError:  # the store was deleted since it was looked up
        inserted = False
    if not inserted:
        if queue:
            release_enqueue()  # nothing was queued: the next delivery must queue the task
        if cached and adapter.identify_store(request, store_id) is None:
            _forget_store(adapter, request, store_id)  # deleted meanwhile: not a duplicate
            return _answer(404, "unknown store")
        return _answer(200, "duplicate")
    return _answer(200, "accepted")


#: (platform, store key) -> (expires at, store): the stores webhooks arrived for recently, per process
_recent_stores: dict[tuple[str, str], tuple[float, Store]] = {}
STORE_CACHE_SECONDS = 30.0


def _identify_store(adapter, request: HttpRequest, store_id: int | None) -> tuple[Store | None, bool]:
    """The delivery's store, and whether it came from this process's short-lived cache.

    A busy store sends many webhooks a second; looking it up once per ``STORE_CACHE_SECONDS`` instead of
    once per request saves a query on the path that must answer fast. Only adapters that give a
    ``store_key`` are cached (whose signature does not depend on per-store secrets), and unknown stores
    never are.
    """
    key = adapter.store_key(request, store_id)
    if key is None:
        return adapter.identify_store(request, store_id), False
    now = time.monotonic()
    hit = _recent_stores.get((adapter.platform, key))
    if hit is not None and hit[0] > now:
        return hit[1], True
    store = adapter.identify_store(request, store_id)
    if store is not None:
        _recent_stores[(adapter.platform, key)] = (now + STORE_CACHE_SECONDS, store)
    return store, False


def _forget_store(adapter, request: HttpRequest, store_id: int | None) -> None:
    _recent_stores.pop((adapter.platform, adapter.store_key(request, store_id)), None)


def forget_stores(**kwargs) -> None:
    _recent_stores.clear()
