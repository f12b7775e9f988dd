"""The webhook endpoints and the platforms' own public pages, from the configured adapters.

``POST /webhooks/<platform>/<store id>/`` serves every adapter; one whose platform names the store in its
headers (``store_in_url = False``, Shopify) also gets ``POST /webhooks/<platform>/``; an adapter's
``urls`` module (Shopify's OAuth install and callback) is included at the root. Nothing here names a
platform: adding one is a line in ``settings.PLATFORM_ADAPTERS``.
"""

from __future__ import annotations

from django.urls import include, path

from . import views
from .registry import adapters, webhook_url

__all__ = ["urlpatterns", "webhook_url"]


def _patterns() -> list:
    out = []
    for name, adapter in adapters().items():
        if not adapter.store_in_url:
            out.append(path(f"webhooks/{name}/", views.webhook, {"platform": name}, name=f"webhook-{name}"))
    out.append(path("webhooks/<str:platform>/<int:store_id>/", views.webhook, name="webhook-generic"))
    out += [path("", include(adapter.urls)) for adapter in adapters().values() if adapter.urls]
    return out


urlpatterns = _patterns()

