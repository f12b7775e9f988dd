"""The storefront side of signup forms, behind the collect endpoint's protections, and the confirmation page.

- ``GET /collect/<collect_key>/forms/``: the store's enabled forms and checkout opt-in, for script.js,
  which then loads ``GET /collect/<collect_key>/forms.js`` (the renderer) when there is any;
- ``POST /collect/<collect_key>/forms/<form>/view``: counts a view and hands out a signed "shown at" token;
- ``POST /collect/<collect_key>/forms/<form>/submit``: a signup (``<form>`` is a form id or ``checkout``);
- ``POST /collect/<collect_key>/back-in-stock/``: a back-in-stock request (``stock``);
- ``GET``/``POST /signup/confirm/<token>/``: the double opt-in link. A GET only shows a page with a
  button (mail scanners follow links: a GET never subscribes anyone); the button's POST confirms.

Protections, as for ``POST /collect/``: an active store's collect key (404 otherwise), CORS for any
origin without credentials, the body size cap, the per-key-and-client rate limit, plus a tighter
per-client limit on submissions (``SIGNUP_RATE_LIMIT_PER_MINUTE``). Bots: a hidden honeypot field that
people leave empty, and a minimum fill time (``SIGNUP_MIN_FILL_SECONDS``) measured from the signed token
the view call returned (not from the visitor's clock). A bot's submission is answered like any other
(202) and recorded nowhere but the form's "blocked" count. Answers: 202 accepted, 400 with what is
wrong (the visitor sees it), 404 unknown key or form, 413 too large, 429 rate-limited.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_q.tasks import async_task

from integrations.storefront.views import _CORS, _answer, _store_id, client_address, rate_limited
from shopconnect.timeline.canonical import normalize_email
from shopconnect.timeline.models import Store

from . import service
from .models import SignupForm, SignupSettings, Submission

FORMS_SOURCE = (Path(__file__).parent / "forms.js").read_text()
VIEW_SALT = "sc.signup.view"
MAX_BODY = 4096
NAME = re.compile(r"[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?")
CHECKOUT = "checkout"


def _preflight() -> HttpResponse:
    response = HttpResponse(status=204)
    for header, value in _CORS.items():
        response[header] = value
    return response


def _form(store_id: int, form_ref: str) -> SignupForm | None:
    if not form_ref.isdigit():
        return None
    return SignupForm.objects.filter(pk=int(form_ref), store_id=store_id, enabled=True).first()


def _options(store_id: int) -> SignupSettings:
    """The store's signup settings for reading (the defaults when it has none: nothing is written)."""
    return SignupSettings.objects.filter(store_id=store_id).first() or SignupSettings(store_id=store_id)


def forms_script(request: HttpRequest, collect_key: str) -> HttpResponse:
    """forms.js, which the storefront script loads when the store has forms to show (cacheable for an hour)."""
    if _store_id(collect_key) is None:
        return HttpResponse("/* unknown collect key */", status=404, content_type="text/javascript")
    response = HttpResponse(FORMS_SOURCE, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def forms_config(request: HttpRequest, collect_key: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _preflight()
    store_id = _store_id(collect_key)
    if store_id is None:
        return _answer(404, {"status": "unknown collect key"})
    forms = [f.storefront_config() for f in SignupForm.objects.filter(store_id=store_id, enabled=True)]
    options = _options(store_id)
    checkout = {"label": options.checkout_optin_label} if options.checkout_optin else None
    from .stock import TEXTS

    # back_in_stock: the wording of the form a sold-out product page gets (stock.py)
    response = _answer(200, {"forms": forms, "checkout": checkout, "back_in_stock": TEXTS})
    response["Cache-Control"] = "public, max-age=60"
    return response


def _gate(request: HttpRequest, collect_key: str, form_ref: str, *, limits: tuple[tuple[str, int | None], ...]):
    """The checks every form call passes: method, collect key, rate limits, an enabled form (or the
    checkout checkbox the store turned on). Returns (answer, None, None) or (None, store id, form)."""
    if request.method == "OPTIONS":
        return _preflight(), None, None
    if request.method != "POST":
        return _answer(405, {"status": "method not allowed", "allowed": "POST"}), None, None
    store_id = _store_id(collect_key)
    if store_id is None:
        return _answer(404, {"status": "unknown collect key"}), None, None
    client = client_address(request)
    if any(rate_limited(store_id, client, prefix=prefix, limit=limit) for prefix, limit in limits):
        response = _answer(429, {"status": "rate limited"})
        response["Retry-After"] = "60"
        return response, None, None
    form = _form(store_id, form_ref)
    if form is None and not (form_ref == CHECKOUT and _options(store_id).checkout_optin):
        return _answer(404, {"status": "unknown form"}), None, None
    return None, store_id, form


COLLECT_LIMIT = ("collect-rl", None)


@csrf_exempt
def form_viewed(request: HttpRequest, collect_key: str, form_ref: str) -> HttpResponse:
    refused, store_id, form = _gate(request, collect_key, form_ref, limits=(COLLECT_LIMIT,))
    if refused is not None:
        return refused
    if form is not None:
        service.count(form.pk, "views")
    token = signing.dumps([store_id, form_ref, int(time.time() * 1000)], salt=VIEW_SALT)
    return _answer(200, {"token": token})


def _shown_long_enough(token: str, store_id: int, form_ref: str) -> bool:
    try:
        value = signing.loads(token or "", salt=VIEW_SALT, max_age=24 * 3600)
    except signing.BadSignature:
        return False
    if not (isinstance(value, list) and len(value) == 3 and value[:2] == [store_id, form_ref]):
        return False
    return time.time() * 1000 - value[2] >= settings.SIGNUP_MIN_FILL_SECONDS * 1000


def read_body(body: bytes) -> tuple[dict | None, str, dict[str, str]]:
    """A storefront form's JSON object (None when it is not one), its email normalized, and the errors
    to show the visitor (signups here, back-in-stock requests in ``stock``)."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None, "", {"body": "not JSON"}
    if not isinstance(data, dict):
        return None, "", {"body": "not a JSON object"}
    errors: dict[str, str] = {}
    email = normalize_email(str(data.get("email") or ""))
    try:
        validate_email(email or "")
    except ValidationError:
        errors["email"] = "Enter a valid email address."
    return data, email, errors


def _parse(body: bytes, form: SignupForm | None) -> tuple[dict, dict]:
    """The submission's fields, or the errors to show the visitor."""
    data, email, errors = read_body(body)
    if data is None:
        return {}, errors
    fields = {}
    extra = data.get("fields") if isinstance(data.get("fields"), dict) else {}
    for key in (form.fields if form else []):
        value = " ".join(str(extra.get(key) or "").split())
        if value and (len(value) > 60 or not NAME.fullmatch(value)):
            errors[key] = "Use letters only."
        elif value:
            fields[key] = value
    page = str(data.get("page") or "")[:2048]
    client_id = str(data.get("client_id") or "")[:64]
    return {"email": email, "fields": fields, "page": page, "client_id": client_id,
            "token": str(data.get("token") or ""), "honeypot": str(data.get("website") or "")}, errors


@csrf_exempt
def submit(request: HttpRequest, collect_key: str, form_ref: str) -> HttpResponse:
    refused, store_id, form = _gate(request, collect_key, form_ref, limits=(
        COLLECT_LIMIT, ("signup-rl", settings.SIGNUP_RATE_LIMIT_PER_MINUTE)))
    if refused is not None:
        return refused
    client = client_address(request)
    store = Store.objects.filter(pk=store_id).first()
    options = _options(store_id)
    body = request.body
    if len(body) > MAX_BODY:
        return _answer(413, {"status": "body too large", "limit_bytes": MAX_BODY})
    data, errors = _parse(body, form)
    if data.get("honeypot") or (not errors and not _shown_long_enough(data["token"], store_id, form_ref)):
        service.count(form.pk if form else None, "blocked")
        return _answer(202, {"status": "accepted", "message": form.success_text if form else ""})
    if errors:
        return _answer(400, {"status": "invalid", "errors": errors})
    wording = form.consent_text if form else options.checkout_optin_label
    # Stored (autocommitted) before the task is queued, as the collect endpoint does: a broker that
    # runs the task at once still finds the row.
    submission = Submission.objects.create(
        store=store, form=form, kind=Submission.Kind.FORM if form else Submission.Kind.CHECKOUT,
        email=data["email"], fields=data["fields"], client_id=data["client_id"], page_url=data["page"],
        ip=client[:64], user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        wording=(f"{form.headline} | {form.button_label} | {wording}" if form else wording)[:800],
        opt_in=options.opt_in, submitted_at=timezone.now())
    if form is not None:
        service.count(form.pk, "submissions")
    async_task("integrations.storefront.signup.service.process_submission", submission.pk, group="signup")
    return _answer(202, {"status": "accepted", "message": form.success_text if form else ""})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    found = service.read_confirm_token(token)
    submission = (
        Submission.objects.select_related("store", "customer").filter(pk=found[1], store_id=found[0]).first()
        if found else None
    )
    if submission is None or submission.customer_id is None:
        return render(request, "signup/confirm.html", {"invalid": True}, status=404)
    store = submission.store
    if request.method == "POST":
        service.confirm(submission, client_address(request))
        return render(request, "signup/confirm.html", {"store": store, "done": True})
    return render(request, "signup/confirm.html", {"store": store, "done": submission.confirmed_at is not None})
