"""Public endpoints: open pixel, click redirect, unsubscribe (docs/CONTRACT.md)."""

from django.urls import path

from . import tracking, unsubscribe

urlpatterns = [
    path("t/o/<str:token>.gif", tracking.open_pixel, name="track-open"),
    path("t/c/<str:token>", tracking.click, name="track-click"),
    path("u/<str:token>/", unsubscribe.unsubscribe_view, name="unsubscribe"),
]
