"""Unique discount codes on Shopify: one ``discountCodeBasicCreate`` (GraphQL Admin API) per code.

An amount-off code on the whole order: a percentage or a fixed amount, from now until the expiry, with an
optional minimum subtotal, limited to the recipient when their Shopify customer id is known, usable once
(and once per customer) when the template says so. Shopify answers a code it already has with a
``TAKEN`` user error: that is an earlier attempt of ours whose answer was lost (``DiscountCodeTaken``).
"""

from __future__ import annotations

import requests

from integrations.base import DiscountCodeError, DiscountCodeTaken, DiscountRequest
from shopconnect.timeline.models import Store

from .graphql import ShopifyAPIError, execute

CREATE = """
mutation UniqueCode($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}"""


def _money(value) -> str:
    return f"{value:.2f}"


def discount_input(request: DiscountRequest) -> dict:
    if request.kind == "percentage":
        value = {"percentage": float(request.value / 100)}
    else:
        value = {"discountAmount": {"amount": _money(request.value), "appliesOnEachItem": False}}
    context = ({"customers": {"add": [f"gid://shopify/Customer/{request.customer_external_id}"]}}
               if request.customer_external_id else {"all": "ALL"})
    data = {
        "title": request.title[:255],
        "code": request.code,
        "startsAt": request.starts_at.isoformat(),
        "endsAt": request.expires_at.isoformat() if request.expires_at else None,
        "context": context,
        "customerGets": {"value": value, "items": {"all": True}},
        "appliesOncePerCustomer": request.once_per_customer,
    }
    if request.once_per_customer:
        data["usageLimit"] = 1
    if request.minimum_order:
        data["minimumRequirement"] = {"subtotal": {"greaterThanOrEqualToSubtotal": _money(request.minimum_order)}}
    return data


def create_code(store: Store, request: DiscountRequest) -> str:
    """Create the code; returns the discount's GraphQL id."""
    try:
        data = execute(store, CREATE, {"basicCodeDiscount": discount_input(request)})
    except requests.RequestException as exc:
        raise DiscountCodeError(f"Shopify did not answer ({type(exc).__name__})", transient=True) from None
    except ShopifyAPIError as exc:
        transient = exc.status is not None and (exc.status == 429 or exc.status >= 500)
        raise DiscountCodeError(str(exc), transient=transient) from None
    result = data.get("discountCodeBasicCreate") or {}
    errors = result.get("userErrors") or []
    if any(e.get("code") == "TAKEN" for e in errors):
        raise DiscountCodeTaken(f"Shopify already has the code {request.code}")
    if errors:
        raise DiscountCodeError("Shopify refused the code: " + "; ".join(
            f"{'.'.join(e.get('field') or [])}: {e.get('message')}" for e in errors)[:300])
    node = result.get("codeDiscountNode") or {}
    return str(node.get("id") or "")
