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
