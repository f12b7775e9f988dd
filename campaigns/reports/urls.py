"""``/admin/reports/...``: the report pages, behind the admin login (``admin_site.admin_view``)."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard_view), name="dashboard"),
    path("campaigns/<int:campaign_id>/", admin.site.admin_view(views.campaign_view), name="campaign"),
    path("flows/<int:flow_id>/", admin.site.admin_view(views.flow_view), name="flow"),
    path("segments/<int:segment_id>/", admin.site.admin_view(views.segment_view), name="segment"),
]
