"""Shopify OAuth install: ``GET /shopify/install?shop=`` and ``GET /shopify/callback``.

The shop name is checked with ``shopify.utils.shop_url.sanitize_shop_domain`` before any URL is built
from it. ``state`` is a one-time nonce stored in ``InstallState`` (10 minutes). The callback verifies
the nonce, then ShopifyAPI's ``Session.request_token`` verifies the HMAC and the timestamp and exchanges
the code; the token is stored encrypted, and webhook registration, the backfill and the hourly
reconciliation are started.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from urllib.error import URLError

import shopify
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_q.tasks import async_task
from shopify.utils.shop_url import sanitize_shop_domain

from shopconnect.timeline.models import Platform, Store

from .models import InstallState
from .tasks import ensure_reconciliation_schedule

log = logging.getLogger(__name__)

SCOPES = ["read_customers", "write_customers", "read_orders", "read_products", "read_checkouts"]
STATE_LIFETIME = timedelta(minutes=10)


def _session(shop: str) -> shopify.Session:
    shopify.Session.setup(api_key=settings.SHOPIFY_API_KEY, secret=settings.SHOPIFY_API_SECRET)
    return shopify.Session(shop, settings.SHOPIFY_API_VERSION)


def _configured() -> bool:
    return bool(settings.SHOPIFY_API_KEY and settings.SHOPIFY_API_SECRET)


def _text(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@require_GET
def install(request: HttpRequest) -> HttpResponse:
    shop = sanitize_shop_domain(request.GET.get("shop"))
    if not shop:
        return _text(400, "shop must be a NAME.myshopify.com domain")
    if not _configured():
        return _text(503, "SHOPIFY_API_KEY and SHOPIFY_API_SECRET are not set on this server")
    nonce = secrets.token_urlsafe(24)
    InstallState.objects.filter(created_at__lt=timezone.now() - STATE_LIFETIME).delete()
    InstallState.objects.create(nonce=nonce, shop=shop)
    url = _session(shop).create_permission_url(
        scope=SCOPES, redirect_uri=f"{settings.PUBLIC_BASE_URL}/shopify/callback", state=nonce
    )
    return HttpResponseRedirect(url)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    params = request.GET.dict()
    shop = sanitize_shop_domain(params.get("shop"))
    if not shop:
        return _text(400, "shop must be a NAME.myshopify.com domain")
    if not _configured():
        return _text(503, "SHOPIFY_API_KEY and SHOPIFY_API_SECRET are not set on this server")
    consumed = InstallState.objects.filter(
        nonce=params.get("state") or "-", shop=shop, created_at__gte=timezone.now() - STATE_LIFETIME
    ).delete()[0]
    if not consumed:
        return _text(403, "unknown or expired state: start the installation again")
    session = _session(shop)
    try:
        token = session.request_token(params)  # verifies HMAC and timestamp, then exchanges the code
    except shopify.session.ValidationException:
        log.warning("Shopify callback for %s with an invalid HMAC or timestamp", shop)
        return _text(403, "invalid signature or expired request")
    except (URLError, KeyError, ValueError) as exc:
        log.warning("Shopify token exchange for %s failed: %s", shop, type(exc).__name__)
        return _text(502, "Shopify did not give an access token; try again")
    with transaction.atomic():
        store, _ = Store.objects.get_or_create(
            platform=Platform.SHOPIFY, domain=shop, defaults={"url": f"https://{shop}", "name": shop}
        )
        store.access_token = token
        store.status = Store.Status.ACTIVE
        store.uninstalled_at = None
        store.save()
        ensure_reconciliation_schedule(store.pk)
        store_id = store.pk
        transaction.on_commit(lambda: async_task("integrations.shopify.tasks.register_webhooks", store_id))
        transaction.on_commit(lambda: async_task("integrations.shopify.tasks.backfill_store", store_id))
    return HttpResponseRedirect(f"/admin/timeline/store/{store_id}/change/")
