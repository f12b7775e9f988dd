"""Back-in-stock requests: ``POST /collect/<collect_key>/back-in-stock/`` from the form forms.js adds on a
sold-out product page.

Body (JSON, or text/plain holding JSON): ``{"email", "product_id", "variant_id", "consent": true, "page",
"client_id", "website"}``. The same protections as a signup (an active store's collect key, CORS without
credentials, the body cap, the per-client rate limits, the honeypot ``website``); the product must be in
the synced catalog and sold out there (its variant, when given), and the visitor must tick the consent
box. A request is a signup of its own kind (``Submission.Kind.BACK_IN_STOCK``): the consent ledger
records it with its evidence (page, time, IP address, the wording shown) and the store's opt-in rules
(``service.process_submission``: double opt-in sends the confirmation first; a known customer is never
changed by the claim). One open ``StockRequest`` per address and variant; ``campaigns.catalog_triggers``
notifies it when a product webhook says the variant can be bought again.
Answers: 202 accepted (also for a repeated request), 400 with what is wrong, 404 unknown key, 413, 429.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django_q.tasks import async_task

from integrations.storefront.views import _answer, _store_id, client_address, rate_limited
from shopconnect.timeline.models import Product, Store

from .models import SignupSettings, StockRequest, Submission

MAX_BODY = 2048
#: what the form says (shown by forms.js, and kept as the request's wording)
TEXTS = {
    "headline": "Sold out. Get an email when it is back.",
    "email_placeholder": "Your email address",
    "consent": "Email me when it is back in stock, and with news and offers. Unsubscribe at any time.",
    "button": "Notify me",
    "success": "Thanks! We will email you when it is back.",
}


def variant_available(product: Product, variant_id: str) -> bool | None:
    """Can this variant ("" for the product) be bought, by the catalog: its ``available`` flag, else the
    product's inventory; None when the catalog does not say."""
    variant = _matching(product, variant_id)
    if variant is not None and variant.get("available") is not None:
        return bool(variant["available"])
    if product.inventory is not None and (not variant_id or not product.variants):
        return product.inventory > 0
    return None


def _variant(product: Product, variant_id: str) -> dict | None:
    """The catalog's variant ({} for the product itself), None when the product has no such variant."""
    return _matching(product, variant_id) if variant_id else {}


def _matching(product: Product, variant_id: str) -> dict | None:
    return next((v for v in product.variants or [] if str(v.get("variant_id") or "") == variant_id), None)


def _parse(body: bytes) -> tuple[dict, dict]:
    from .views import read_body

    data, email, errors = read_body(body)
    if data is None:
        return {}, errors
    if data.get("consent") is not True:
        errors["consent"] = "Tick the box to get the email."
    return {"email": email, "product_id": str(data.get("product_id") or "")[:64],
            "variant_id": str(data.get("variant_id") or "")[:64], "page": str(data.get("page") or "")[:2048],
            "client_id": str(data.get("client_id") or "")[:64], "honeypot": str(data.get("website") or "")}, errors


@csrf_exempt
def request_view(request: HttpRequest, collect_key: str) -> HttpResponse:
    from .views import COLLECT_LIMIT, _preflight

    if request.method == "OPTIONS":
        return _preflight()
    if request.method != "POST":
        return _answer(405, {"status": "method not allowed", "allowed": "POST"})
    store_id = _store_id(collect_key)
    if store_id is None:
        return _answer(404, {"status": "unknown collect key"})
    client = client_address(request)
    limits = (COLLECT_LIMIT, ("signup-rl", settings.SIGNUP_RATE_LIMIT_PER_MINUTE))
    if any(rate_limited(store_id, client, prefix=prefix, limit=limit) for prefix, limit in limits):
        response = _answer(429, {"status": "rate limited"})
        response["Retry-After"] = "60"
        return response
    if len(request.body) > MAX_BODY:
        return _answer(413, {"status": "body too large", "limit_bytes": MAX_BODY})
    data, errors = _parse(request.body)
    if data.get("honeypot"):
        return _answer(202, {"status": "accepted", "message": TEXTS["success"]})
    product = Product.objects.filter(store_id=store_id, external_id=data.get("product_id") or "").first()
    variant = _variant(product, data["variant_id"]) if product is not None else None
    if not errors and variant is None:
        errors["product_id"] = "This product is not in the store's catalog."
    elif not errors and variant_available(product, data["variant_id"]) is not False:
        errors["product_id"] = "This product is in stock: no need to wait."
    if errors:
        return _answer(400, {"status": "invalid", "errors": errors})
    store = Store.objects.get(pk=store_id)
    options = SignupSettings.objects.filter(store_id=store_id).first() or SignupSettings(store_id=store_id)
    now = timezone.now()
    title = f"{product.title} ({variant.get('title')})" if variant.get("title") else product.title
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                store=store, kind=Submission.Kind.BACK_IN_STOCK, email=data["email"], client_id=data["client_id"],
                page_url=data["page"], ip=client[:64], user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
                wording=f"{TEXTS['headline']} | {TEXTS['button']} | {TEXTS['consent']} | {title}"[:800],
                opt_in=options.opt_in, submitted_at=now)
            StockRequest.objects.create(store=store, submission=submission, email=data["email"],
                                        product_id=product.external_id, variant_id=data["variant_id"],
                                        variant_title=(variant.get("title") or "")[:255], requested_at=now)
    except IntegrityError:  # an open request for this address and variant: nothing new to record
        return _answer(202, {"status": "accepted", "message": TEXTS["success"]})
    async_task("integrations.storefront.signup.service.process_submission", submission.pk, group="signup")
    return _answer(202, {"status": "accepted", "message": TEXTS["success"]})
