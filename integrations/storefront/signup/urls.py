from __future__ import annotations

from django.urls import path

from . import stock, views

urlpatterns = [
    path("collect/<str:collect_key>/forms/", views.forms_config, name="signup-forms"),
    path("collect/<str:collect_key>/forms.js", views.forms_script, name="signup-forms-script"),
    path("collect/<str:collect_key>/forms/<str:form_ref>/view", views.form_viewed, name="signup-view"),
    path("collect/<str:collect_key>/forms/<str:form_ref>/submit", views.submit, name="signup-submit"),
    path("collect/<str:collect_key>/back-in-stock/", stock.request_view, name="signup-back-in-stock"),
    path("signup/confirm/<str:token>/", views.confirm_view, name="signup-confirm"),
]
