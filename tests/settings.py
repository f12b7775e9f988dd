"""Test settings: the project's settings with tasks run inline, fast hashing and in-memory mail."""

from shopconnect.settings import *  # noqa: F401,F403
from shopconnect.settings import PLATFORM_ADAPTERS, Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # tasks run inline: no sleeps, no worker needed
Q_CLUSTER.pop("redis", None)
Q_CLUSTER["orm"] = "default"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
FIELD_ENCRYPTION_KEY = "9x6mJbGdMN3ysq9Ycq8Ed7yRJ1CxdnD5M9QxnZ2tNT8="
PUBLIC_BASE_URL = "https://shopconnect.test"
ALLOWED_HOSTS = ["*"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PLATFORM_ADAPTERS = {**PLATFORM_ADAPTERS, "testplatform": "tests.integrations.fake_adapter.FakeAdapter"}
