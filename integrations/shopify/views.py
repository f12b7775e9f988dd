"""Shopify OAuth install: ``GET /shopify/install?shop=`` and ``GET /shopify/callback``.

The shop name is checked (``sanitize_shop_domain`` and ``outbound.check_shopify_domain``) before any
URL is built from it. The install needs a logged-in staff user (else it sends them to the admin login
and back): ``state`` is a one-time nonce stored in ``InstallState`` for that user and shop (10 minutes, at
most ``MAX_STATES_PER_SHOP`` per shop). The callback needs the same user's nonce and a valid HMAC and
timestamp; it never adopts a shop another user owns (403), then exchanges the code, stores the token
encrypted, makes the installer the store's owner when it has none, and starts webhook registration, the
backfill and the hourly reconciliation.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from urllib.error import URLError

import shopify
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_q.tasks import async_task
from shopify.utils.shop_url import sanitize_shop_domain

from shopconnect.outbound import OutboundBlocked, check_shopify_domain
from shopconnect.timeline.models import Platform, Store, StoreMembership

from .models import InstallState
from .tasks import ensure_reconciliation_schedule

log = logging.getLogger(__name__)

# write_discounts: unique discount codes in emails (campaigns.coupons)
SCOPES = ["read_customers", "write_customers", "read_orders", "read_products", "read_checkouts", "write_discounts"]
STATE_LIFETIME = timedelta(minutes=10)
MAX_STATES_PER_SHOP = 5


def _session(shop: str) -> shopify.Session:
    shopify.Session.setup(api_key=settings.SHOPIFY_API_KEY, secret=settings.SHOPIFY_API_SECRET)
    return shopify.Session(shop, settings.SHOPIFY_API_VERSION)


def _configured() -> bool:
    return bool(settings.SHOPIFY_API_KEY and settings.SHOPIFY_API_SECRET)


def _text(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _shop(value: str | None) -> str | None:
    """The shop as ``NAME.myshopify.com``, or None: never build a URL from an unchecked name."""
    shop = sanitize_shop_domain(value)
    try:
        return check_shopify_domain(shop) if shop else None
    except OutboundBlocked:
        return None


def _purge_states(shop: str) -> None:
    """Expired nonces go; a shop keeps at most ``MAX_STATES_PER_SHOP`` (the newest)."""
    InstallState.objects.filter(created_at__lt=timezone.now() - STATE_LIFETIME).delete()
    keep = InstallState.objects.filter(shop=shop).order_by("-created_at", "-id").values_list("id", flat=True)
    InstallState.objects.filter(shop=shop).exclude(id__in=list(keep[: MAX_STATES_PER_SHOP - 1])).delete()


def _owned_by_someone_else(shop: str, user) -> bool:
    """The shop's row has an owner, and it is not this user (operators may reinstall any shop)."""
    if user.is_superuser:
        return False
    owners = StoreMembership.objects.filter(
        store__platform=Platform.SHOPIFY, store__domain=shop, role=StoreMembership.Role.OWNER
    )
    return owners.exists() and not owners.filter(user=user).exists()


@require_GET
def install(request: HttpRequest) -> HttpResponse:
    shop = _shop(request.GET.get("shop"))
    if not shop:
        return _text(400, "shop must be a NAME.myshopify.com domain")
    if not _configured():
        return _text(503, "SHOPIFY_API_KEY and SHOPIFY_API_SECRET are not set on this server")
    if not (request.user.is_authenticated and request.user.is_active and request.user.is_staff):
        # The shop is bound to the ShopConnect user who installs it: log in first, then come back here.
        return redirect_to_login(request.get_full_path(), login_url=reverse("admin:login"))
    nonce = secrets.token_urlsafe(24)
    _purge_states(shop)
    InstallState.objects.create(nonce=nonce, shop=shop, user=request.user)
    url = _session(shop).create_permission_url(
        scope=SCOPES, redirect_uri=f"{settings.PUBLIC_BASE_URL}/shopify/callback", state=nonce
    )
    return HttpResponseRedirect(url)


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    params = request.GET.dict()
    shop = _shop(params.get("shop"))
    if not shop:
        return _text(400, "shop must be a NAME.myshopify.com domain")
    if not _configured():
        return _text(503, "SHOPIFY_API_KEY and SHOPIFY_API_SECRET are not set on this server")
    user = request.user if request.user.is_authenticated else None
    # The nonce we issued, for this shop, to the user of this browser session.
    consumed = InstallState.objects.filter(
        nonce=params.get("state") or "-", shop=shop, user=user, created_at__gte=timezone.now() - STATE_LIFETIME
    ).delete()[0] if user is not None else 0
    if not consumed:
        return _text(403, "unknown or expired state: start the installation again (logged in)")
    if not shopify.Session.validate_params(params):  # HMAC and timestamp, before anything else is decided
        log.warning("Shopify callback for %s with an invalid HMAC or timestamp", shop)
        return _text(403, "invalid signature or expired request")
    if _owned_by_someone_else(shop, user):
        log.warning("install of %s by user %s refused: the shop belongs to another account", shop, user.pk)
        return _text(403, "this shop is connected to another ShopConnect account; ask its owner or an operator")
    session = _session(shop)
    try:
        token = session.request_token(params)  # verifies HMAC and timestamp again, then exchanges the code
    except shopify.session.ValidationException:
        return _text(403, "invalid signature or expired request")
    except (URLError, KeyError, ValueError) as exc:
        log.warning("Shopify token exchange for %s failed: %s", shop, type(exc).__name__)
        return _text(502, "Shopify did not give an access token; try again")
    with transaction.atomic():
        store, _ = Store.objects.select_for_update().get_or_create(
            platform=Platform.SHOPIFY, domain=shop, defaults={"url": f"https://{shop}", "name": shop}
        )
        if _owned_by_someone_else(shop, user):  # re-checked under the row lock (two installs at once)
            return _text(403, "this shop is connected to another ShopConnect account; ask its owner or an operator")
        store.access_token = token
        store.status = Store.Status.ACTIVE
        store.uninstalled_at = None
        store.save()
        if not store.memberships.filter(role=StoreMembership.Role.OWNER).exists():
            StoreMembership.objects.update_or_create(
                store=store, user=user, defaults={"role": StoreMembership.Role.OWNER}
            )
        ensure_reconciliation_schedule(store.pk)
        store_id = store.pk
        transaction.on_commit(lambda: async_task("integrations.shopify.tasks.register_webhooks", store_id))
        transaction.on_commit(lambda: async_task("integrations.shopify.tasks.backfill_store", store_id))
    return HttpResponseRedirect(f"/admin/timeline/store/{store_id}/change/")
