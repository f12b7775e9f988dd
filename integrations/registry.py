"""The platform adapters in use, from ``settings.PLATFORM_ADAPTERS``."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from .base import PlatformAdapter


@cache
def _load(platform: str, path: str) -> PlatformAdapter:
    return import_string(path)()


def get_adapter(platform: str) -> PlatformAdapter | None:
    path = settings.PLATFORM_ADAPTERS.get(platform)
    return _load(platform, path) if path else None


def adapters() -> dict[str, PlatformAdapter]:
    """Every configured adapter, by platform name, in the order of ``settings.PLATFORM_ADAPTERS``."""
    return {name: _load(name, path) for name, path in settings.PLATFORM_ADAPTERS.items()}


def webhook_url(store) -> str:
    """The address to give the platform for this store's webhooks ("" for a platform without adapter)."""
    adapter = get_adapter(store.platform)
    return f"{settings.PUBLIC_BASE_URL}{adapter.webhook_path(store)}" if adapter else ""
