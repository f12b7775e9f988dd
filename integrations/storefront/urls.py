from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("collect/<str:collect_key>/", views.collect, name="collect"),
    path("collect/<str:collect_key>/script.js", views.script, name="collect-script"),
]
