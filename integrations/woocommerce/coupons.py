"""Unique discount codes on WooCommerce: one ``POST /wp-json/wc/v3/coupons`` per code (the REST API
keys of the store, its checked public https address: ``sync.client``).

A ``percent`` or ``fixed_cart`` coupon for individual use, restricted to the recipient's email address,
expiring at the given time, with an optional minimum order amount, usable once (and once per user) when
the template says so. WooCommerce answers a code it already has with
``woocommerce_rest_coupon_code_already_exists``: an earlier attempt of ours (``DiscountCodeTaken``).
"""

from __future__ import annotations

from datetime import UTC

import requests

from integrations.base import DiscountCodeError, DiscountCodeTaken, DiscountRequest
from shopconnect.outbound import error_summary
from shopconnect.timeline.models import Store

from .sync import WooCommerceError, client

TAKEN = "woocommerce_rest_coupon_code_already_exists"


def coupon_body(request: DiscountRequest) -> dict:
    body = {
        "code": request.code,
        "description": request.title[:255],
        "discount_type": "percent" if request.kind == "percentage" else "fixed_cart",
        "amount": f"{request.value:.2f}",
        "individual_use": True,
        "email_restrictions": [request.customer_email] if request.customer_email else [],
    }
    if request.expires_at:
        body["date_expires_gmt"] = request.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if request.minimum_order:
        body["minimum_amount"] = f"{request.minimum_order:.2f}"
    if request.once_per_customer:
        body["usage_limit"] = 1
        body["usage_limit_per_user"] = 1
    return body


def create_code(store: Store, request: DiscountRequest) -> str:
    """Create the coupon; returns its id."""
    try:
        response = client(store).post("coupons", coupon_body(request))
    except WooCommerceError as exc:
        raise DiscountCodeError(str(exc)) from None
    except requests.RequestException as exc:
        raise DiscountCodeError(f"WooCommerce did not answer ({type(exc).__name__})", transient=True) from None
    if response.status_code >= 400:
        try:
            code = (response.json() or {}).get("code")
        except ValueError:
            code = None
        if code == TAKEN:
            raise DiscountCodeTaken(f"WooCommerce already has the coupon {request.code}")
        raise DiscountCodeError(f"WooCommerce answered HTTP {response.status_code}{error_summary(response)}",
                                transient=response.status_code == 429 or response.status_code >= 500)
    try:
        return str((response.json() or {}).get("id") or "")
    except ValueError:
        raise DiscountCodeError("WooCommerce answered with something that is not JSON", transient=True) from None
