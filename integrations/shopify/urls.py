from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("shopify/install", views.install, name="shopify-install"),
    path("shopify/callback", views.callback, name="shopify-callback"),
]
