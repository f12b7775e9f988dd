"""The test platform's own public page (an adapter's ``urls``), included at the root by integrations.urls."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("testplatform/hello", lambda request: HttpResponse("hello from the test platform"))]
