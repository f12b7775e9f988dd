from __future__ import annotations

from django.conf import settings
from django.urls import path

from shopconnect.timeline.models import Platform, Store

from . import views

urlpatterns = [
    path("webhooks/shopify/", views.webhook, {"platform": "shopify"}, name="webhook-shopify"),
    path("webhooks/woocommerce/<int:store_id>/", views.webhook, {"platform": "woocommerce"},
         name="webhook-woocommerce"),
    path("webhooks/<str:platform>/<int:store_id>/", views.webhook, name="webhook-generic"),
]


def webhook_url(store: Store) -> str:
    base = settings.PUBLIC_BASE_URL
    if store.platform == Platform.SHOPIFY:
        return f"{base}/webhooks/shopify/"
    return f"{base}/webhooks/{store.platform}/{store.pk}/"
