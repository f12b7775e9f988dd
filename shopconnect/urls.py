from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from shopconnect.api import router
from shopconnect.health import healthz

urlpatterns = [
    path("admin/reports/", include("campaigns.reports.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("", include("integrations.urls")),
    path("", include("campaigns.urls")),
    # anymail's tracking views, refused for a provider whose webhook secret is not configured
    path("anymail/", include("campaigns.webhooks")),
    path("", include("integrations.storefront.signup.urls")),
    path("", include("integrations.storefront.urls")),
]
