"""The project's URLs plus a WooCommerce-like shop page that embeds the storefront script (browser tests)."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import include, path

SHOP_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Linen Shirt - Linen &amp; Co</title>
<script src="%(script)s" async></script>
</head><body style="font-family:sans-serif;margin:40px">
<h1>Linen Shirt</h1><p>27.40 EUR</p>
<div style="height:1600px">A long product description.</div>
<div data-shopconnect-form="%(form)s"></div>
</body></html>"""


def shop_page(request, collect_key: str, form_id: str):
    from django.conf import settings

    script = f"{settings.PUBLIC_BASE_URL}/collect/{collect_key}/script.js"
    return HttpResponse(SHOP_PAGE % {"script": script, "form": form_id})


SOLD_OUT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Linen Shirt - Linen &amp; Co</title>
<script type="application/json" id="shopconnect-page">
{"type": "product", "product": {"product_id": "93", "variant_id": "", "available": false}}
</script>
<script src="%(script)s" async></script>
</head><body style="font-family:sans-serif;margin:40px;max-width:640px">
<h1>Linen Shirt</h1><p>27.40 EUR &middot; <strong>Sold out</strong></p>
<form class="cart" action="/cart/add"><button type="submit" disabled>Add to cart</button></form>
</body></html>"""


def sold_out_page(request, collect_key: str):
    from django.conf import settings

    return HttpResponse(SOLD_OUT_PAGE % {"script": f"{settings.PUBLIC_BASE_URL}/collect/{collect_key}/script.js"})


urlpatterns = [
    path("test-shop/<str:collect_key>/product/sold-out/", sold_out_page),
    path("test-shop/<str:collect_key>/<str:form_id>/product/linen-shirt/", shop_page),
    path("", include("shopconnect.urls")),
]
