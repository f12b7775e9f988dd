"""The project's URLs plus a test product page that embeds the tracking script (browser test only)."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import include, path

PRODUCT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Linen Shirt</title>
<script type="application/json" id="shopconnect-page">
{"type": "product", "product": {"product_id": "93", "title": "Linen Shirt", "price": "27.40"}}
</script>
<script src="%(script)s" async></script>
</head><body>
<h1>Linen Shirt</h1>
<form class="cart" onsubmit="return false">
  <input name="quantity" value="2">
  <button type="button" id="add" data-sc-add-to-cart>Add to cart</button>
</form>
<input type="email" id="email" placeholder="you@example.com">
</body></html>"""


def product_page(request, collect_key: str):
    from django.conf import settings

    script = f"{settings.PUBLIC_BASE_URL}/collect/{collect_key}/script.js"
    return HttpResponse(PRODUCT_PAGE % {"script": script})


urlpatterns = [
    path("test-shop/<str:collect_key>/product/linen-shirt/", product_page),
    path("", include("shopconnect.urls")),
]
