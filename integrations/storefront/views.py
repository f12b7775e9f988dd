"""``POST /collect/<collect_key>/`` and ``GET /collect/<collect_key>/script.js``.

The collect endpoint answers fast: size check, store, rate limit, schema, one INSERT of the raw batch
(unique per store and set of event ids, so a replayed batch is stored once), one task enqueued with the
batch id, 202. Answers (docs/CONTRACT.md): 202 accepted (also for a replay), 400 with what is wrong, 404 unknown
key, 413 over the body or batch size, 429 rate-limited (per collect key and client, in the cache).
CORS is open (``*``, no credentials): the script runs on the store's own domain.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django_q.tasks import async_task

from shopconnect.timeline.models import Store

from .models import CollectBatch
from .schema import BatchError, parse_batch

SCRIPT_SOURCE = (Path(__file__).parent / "script.js").read_text()
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}
#: collect key -> (store id, valid until): stores are looked up once a minute per process, not per batch
_KEYS: dict[str, tuple[int | None, float]] = {}
_KEY_TTL = 60.0


def _answer(status: int, body: dict) -> JsonResponse:
    response = JsonResponse(body, status=status)
    for header, value in _CORS.items():
        response[header] = value
    return response


def _store_id(collect_key: str) -> int | None:
    now = time.monotonic()
    cached = _KEYS.get(collect_key)
    if cached and cached[1] > now:
        return cached[0]
    store_id = (
        Store.objects.filter(collect_key=collect_key, status=Store.Status.ACTIVE).values_list("pk", flat=True).first()
    )
    if len(_KEYS) > 10_000:
        _KEYS.clear()
    _KEYS[collect_key] = (store_id, now + _KEY_TTL)
    return store_id


def client_address(request: HttpRequest) -> str:
    if settings.COLLECT_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


def rate_limited(store_id: int, client: str, *, prefix: str = "collect-rl", limit: int | None = None) -> bool:
    """Fixed one-minute window per (collect key, client) in the cache (Redis in production); ``prefix``
    and ``limit`` give another endpoint (signup submissions) a bucket of its own."""
    window = int(time.time() // 60)
    key = f"{prefix}:{store_id}:{client}:{window}"
    if cache.add(key, 1, timeout=90):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=90)
            count = 1
    return count > (settings.COLLECT_RATE_LIMIT_PER_MINUTE if limit is None else limit)


def store_batch(store_id: int, batch_key: str, events: list[dict], user_agent: str) -> int | None:
    """One ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``: the new batch's id, None for a replay.

    (One statement in autocommit instead of BEGIN, INSERT, COMMIT: this is the hot path.)
    """
    names = (
        "store",
        "batch_key",
        "events",
        "user_agent",
        "received_at",
        "status",
        "events_inserted",
        "last_error",
    )
    fields = [CollectBatch._meta.get_field(name) for name in names]
    values = (store_id, batch_key, events, user_agent, timezone.now(), CollectBatch.Status.PENDING, 0, "")
    table = connection.ops.quote_name(CollectBatch._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT (store_id, batch_key) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)])
        row = cursor.fetchone()
    return row[0] if row else None


@csrf_exempt
def collect(request: HttpRequest, collect_key: str) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        for header, value in _CORS.items():
            response[header] = value
        return response
    if request.method != "POST":
        return _answer(405, {"status": "method not allowed", "allowed": "POST"})
    limit = settings.COLLECT_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _answer(413, {"status": "body too large", "limit_bytes": limit})
    store_id = _store_id(collect_key)
    if store_id is None:
        return _answer(404, {"status": "unknown collect key"})
    if rate_limited(store_id, client_address(request)):
        response = _answer(429, {"status": "rate limited", "limit_per_minute": settings.COLLECT_RATE_LIMIT_PER_MINUTE})
        response["Retry-After"] = "60"
        return response
    body = request.body
    if len(body) > limit:
        return _answer(413, {"status": "body too large", "limit_bytes": limit})
    try:
        events = parse_batch(body, settings.COLLECT_MAX_EVENTS)
    except BatchError as exc:
        text = "batch too large" if exc.status == 413 else "invalid batch"
        return _answer(exc.status, {"status": text, "errors": exc.errors})
    batch_key = hashlib.sha256("\n".join(sorted(e["id"] for e in events)).encode()).hexdigest()
    batch_id = store_batch(store_id, batch_key, events, request.META.get("HTTP_USER_AGENT", "")[:512])
    if batch_id is None:
        return _answer(202, {"status": "duplicate", "events": len(events)})
    async_task("integrations.storefront.tasks.process_batch", batch_id, group="collect")
    return _answer(202, {"status": "accepted", "events": len(events)})


def script(request: HttpRequest, collect_key: str) -> HttpResponse:
    """The tracking script with this store's endpoint in it (cacheable for an hour)."""
    if _store_id(collect_key) is None:
        return HttpResponse("/* unknown collect key */", status=404, content_type="text/javascript")
    endpoint = f"{settings.PUBLIC_BASE_URL}/collect/{collect_key}/"
    body = SCRIPT_SOURCE.replace("__SC_ENDPOINT__", endpoint.replace("\\", "").replace('"', ""))
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response
