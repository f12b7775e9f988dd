"""Settings, all read from the environment (see README "Configuration").

Development works with no environment at all (SQLite file, DEBUG on, a development key). A production
start (DEBUG off) without SECRET_KEY, ALLOWED_HOSTS or FIELD_ENCRYPTION_KEY is stopped by the system
checks in ``shopconnect.checks`` with a message saying what to set.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

# A known development-only value; with DEBUG off the system checks refuse to start with it, so a missing
# SECRET_KEY is reported by our check with a clear message instead of Django's bare error.
DEV_SECRET_KEY = "dev-insecure-shopconnect-secret-key-change-me"
SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Fernet keys (urlsafe base64, 32 bytes), comma-separated: the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")

SHOPIFY_API_KEY = os.environ.get("SHOPIFY_API_KEY", "")
SHOPIFY_API_SECRET = os.environ.get("SHOPIFY_API_SECRET", "")
SHOPIFY_API_SECRET_PREVIOUS = os.environ.get("SHOPIFY_API_SECRET_PREVIOUS", "")
SHOPIFY_API_VERSION = os.environ.get("SHOPIFY_API_VERSION", "2025-10")

# Outbound requests (shopconnect.outbound): hosts that skip the public-address check (an egress proxy, a
# mail relay on the private network), and whether plain http URLs may be configured (development only).
OUTBOUND_ALLOW_HOSTS = env_list("OUTBOUND_ALLOW_HOSTS", [])
OUTBOUND_ALLOW_HTTP = env_bool("OUTBOUND_ALLOW_HTTP", False)

# Largest webhook / collect body accepted, in bytes (413 above it).
WEBHOOK_MAX_BODY_BYTES = int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
# How many times a failed delivery is retried automatically before it waits for a person.
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "5"))
# A delivery that arrived before the order it needs (a refund) waits this long for it, then fails.
WEBHOOK_PARK_SECONDS = int(os.environ.get("WEBHOOK_PARK_SECONDS", "3600"))
# The django-q2 queue of the webhook drain (README: deployment); empty: the default queue.
WEBHOOK_QUEUE = os.environ.get("WEBHOOK_QUEUE", "")

INSTALLED_APPS = [
    "shopconnect.workspace.admin_app.WorkspaceAdminConfig",  # django.contrib.admin with our site (navigation, start)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "anymail",
    "axes",
    "shopconnect.timeline",
    "shopconnect.workspace",
    "integrations",
    "integrations.shopify",
    "segments",
    "segments.predictions",
    "campaigns",
    "integrations.woocommerce",
    "integrations.storefront",
    "integrations.storefront.signup",
    "shopconnect.privacy",
]

# One adapter per platform: adding a platform is a subpackage plus a line here
# (docs/ADDING_A_PLATFORM.md).
PLATFORM_ADAPTERS = {
    "shopify": "integrations.shopify.adapter.ShopifyAdapter",
    # "woocommerce": "integrations.woocommerce.adapter.WooCommerceAdapter",
    "woocommerce": "integrations.woocommerce.adapter.WooCommerceAdapter",
}
# WooCommerce REST calls (the `woocommerce` package defaults to 5 s, too short for big pages).
WOOCOMMERCE_TIMEOUT_SECONDS = int(os.environ.get("WOOCOMMERCE_TIMEOUT_SECONDS", "30"))
WOOCOMMERCE_RECONCILE_MINUTES = int(os.environ.get("WOOCOMMERCE_RECONCILE_MINUTES", "15"))
# Storefront collect endpoint: body and batch caps (413 above), and requests per minute per key and client.
COLLECT_MAX_BODY_BYTES = int(os.environ.get("COLLECT_MAX_BODY_BYTES", str(64 * 1024)))
COLLECT_MAX_EVENTS = int(os.environ.get("COLLECT_MAX_EVENTS", "50"))
COLLECT_RATE_LIMIT_PER_MINUTE = int(os.environ.get("COLLECT_RATE_LIMIT_PER_MINUTE", "120"))
# Behind a proxy that sets X-Forwarded-For, the client is its first address.
COLLECT_TRUST_X_FORWARDED_FOR = env_bool("COLLECT_TRUST_X_FORWARDED_FOR", False)
# Signup forms: submissions per minute per key and client, and the least time a person takes to fill one.
SIGNUP_RATE_LIMIT_PER_MINUTE = int(os.environ.get("SIGNUP_RATE_LIMIT_PER_MINUTE", "10"))
# Price drops reach customers who viewed or carted the product within this many days (campaigns.catalog_triggers);
# each price-drop flow narrows it with its trigger filter on days_since_interest.
PRICE_DROP_LOOKBACK_DAYS = int(os.environ.get("PRICE_DROP_LOOKBACK_DAYS", "30"))
SIGNUP_MIN_FILL_SECONDS = float(os.environ.get("SIGNUP_MIN_FILL_SECONDS", "3"))

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # login throttling (last, as django-axes wants)
]

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one user name from one
# address, that pair is locked out for LOGIN_COOLOFF_MINUTES (429); a good login resets the count. The
# address is the client's (X-Forwarded-For behind a proxy when COLLECT_TRUST_X_FORWARDED_FOR is set).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_CLIENT_IP_CALLABLE = "shopconnect.inputs.client_address"
AXES_VERBOSE = False

ROOT_URLCONF = "shopconnect.urls"
WSGI_APPLICATION = "shopconnect.wsgi.application"
ASGI_APPLICATION = "shopconnect.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "shopconnect" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        # Off by default: a check is one more round trip on every request (a third of a webhook's
        # database time). Without it a connection the server dropped fails one request (the platform
        # retries the webhook) and is then replaced.
        conn_health_checks=os.environ.get("CONN_HEALTH_CHECKS", "0") == "1",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiler costs more than it saves on this service's queries: it took 0.55 s of a
    # 1.0 s segment query at 1M customers, 1.4 s of a 0.2 s report query, and adds ~10 ms to small
    # queries it misjudges as big.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker share the file: wait for the lock instead of failing,
    # and take the write lock at BEGIN so that read-then-write transactions cannot deadlock.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"

REDIS_URL = os.environ.get("REDIS_URL", "")

# django-q2: the ORM broker by default (no extra service), Redis when REDIS_URL is set.
Q_CLUSTER = {
    "name": "shopconnect",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": int(os.environ.get("Q_TIMEOUT", "300")),
    "retry": int(os.environ.get("Q_RETRY", "360")),
    "max_attempts": 1,  # our tasks record their own failures and retry explicitly
    "catch_up": False,
    # Successful task results are not stored (our tasks record their own outcome on the rows they
    # process; failures are still stored). django-q2 prunes stored successes by loading every stored
    # one on each task completion, which made every task slower as the table filled.
    "save_limit": int(os.environ.get("Q_SAVE_LIMIT", "-1")),
    "label": "Tasks",
    "poll": 0.5,
    # The webhook drain's own cluster (WEBHOOK_QUEUE=webhooks, then `Q_CLUSTER_NAME=webhooks manage.py
    # qcluster`): drain tasks never wait behind segment, report and flow tasks (README, deployment).
    "ALT_CLUSTERS": {"webhooks": {"workers": int(os.environ.get("WEBHOOK_WORKERS", "2"))}},
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Roles (viewer reads, marketer writes and launches, owner...): shopconnect.tenancy.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "shopconnect.tenancy.StoreRolePermission",
    ],
    # JSON nested at most shopconnect.inputs.MAX_JSON_DEPTH levels: deeper bodies answer 400, not 500.
    "DEFAULT_PARSER_CLASSES": [
        "shopconnect.inputs.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ShopConnect API",
    "DESCRIPTION": "Customers, timelines, events, segments, flows and campaigns of your stores.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served locally, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "shop@example.com")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds an SMTP server may take to answer (Django waits forever by default): a sending worker must
# hand a message over well within campaigns.outbox.STALE_AFTER, or its claim is taken as dead.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
# A sending worker that handed nothing to the provider for this long is taken as dead: its rows are
# recovered (campaigns.sender). Keep it well above EMAIL_TIMEOUT and anymail's 30 s request timeout.
SENDER_STALE_SECONDS = int(os.environ.get("SENDER_STALE_SECONDS", "300"))
# Provider tracking webhooks (campaigns/webhooks.py): django-anymail's settings, from the environment as
# ANYMAIL_<NAME>. A provider whose secret is not set has its tracking webhook refused (README: Connecting
# an email provider). WEBHOOK_SECRET is "user:password" (comma-separated to rotate: old and new).
ANYMAIL: dict = {name: value for name, value in {
    "WEBHOOK_SECRET": env_list("ANYMAIL_WEBHOOK_SECRET", []),
    "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY", ""),
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": os.environ.get(
        "ANYMAIL_SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", ""),
    "RESEND_SIGNING_SECRET": os.environ.get("ANYMAIL_RESEND_SIGNING_SECRET", ""),
    "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": env_bool("ANYMAIL_AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS", True),
}.items() if value not in ("", [])}
# SNS topics whose messages the SES tracking webhook accepts (empty: any topic that passes basic auth).
AMAZON_SES_TOPIC_ARNS = env_list("AMAZON_SES_TOPIC_ARNS", [])

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "shopconnect.logging.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
