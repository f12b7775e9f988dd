"""A small client for the Shopify GraphQL Admin API (plain ``requests``; faked with ``responses`` in tests).

Calls ``https://{shop}/admin/api/{SHOPIFY_API_VERSION}/graphql.json`` with the store's access token.
Throttling (HTTP 429 or a ``THROTTLED`` error) is retried a few times after a short wait; other errors
raise ``ShopifyAPIError`` with the status and Shopify's error message (never the token, never a raw body).
The shop domain is checked again before every request (``outbound.check_shopify_domain``).
"""

from __future__ import annotations

import time
from typing import Any

import requests
from django.conf import settings

from shopconnect.outbound import OutboundBlocked, check_shopify_domain, error_summary
from shopconnect.timeline.models import Store

TIMEOUT = 30
MAX_THROTTLE_RETRIES = 4


class ShopifyAPIError(RuntimeError):
    #: the HTTP status when Shopify answered with an error status (None for GraphQL and local errors)
    status: int | None = None


def endpoint(shop: str) -> str:
    return f"https://{shop}/admin/api/{settings.SHOPIFY_API_VERSION}/graphql.json"


def execute(store: Store, query: str, variables: dict[str, Any] | None = None, *, sleep=time.sleep) -> dict:
    """Run one query or mutation; returns ``data``."""
    if not store.access_token:
        raise ShopifyAPIError(f"store {store.pk} has no Shopify access token (install the app or connect_store)")
    try:
        shop = check_shopify_domain(store.domain)  # again at request time: the token goes only to Shopify
    except OutboundBlocked as exc:
        raise ShopifyAPIError(f"store {store.pk}: {exc}; nothing was sent") from None
    for attempt in range(MAX_THROTTLE_RETRIES + 1):
        response = requests.post(
            endpoint(shop),
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": store.access_token, "Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
        if response.status_code == 429 and attempt < MAX_THROTTLE_RETRIES:
            sleep(float(response.headers.get("Retry-After") or 2))
            continue
        if response.status_code >= 400:
            error = ShopifyAPIError(f"Shopify answered HTTP {response.status_code}{error_summary(response)}")
            error.status = response.status_code
            raise error
        body = response.json()
        errors = body.get("errors") or []
        if (
            any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors)
            and attempt < MAX_THROTTLE_RETRIES
        ):
            sleep(2)
            continue
        if errors:
            raise ShopifyAPIError("GraphQL errors: " + "; ".join(str(e.get("message")) for e in errors)[:1000])
        return body.get("data") or {}
    raise ShopifyAPIError("Shopify kept throttling the request")


def user_errors(payload: dict, name: str) -> None:
    errors = (payload.get(name) or {}).get("userErrors") or []
    if errors:
        raise ShopifyAPIError(f"{name}: " + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors))


# Since 2025-10 a subscription's destination is its ``uri`` (``callbackUrl``/``endpoint`` are deprecated).
WEBHOOK_SUBSCRIPTIONS = """
query Existing($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    edges { node { id topic uri } }
    pageInfo { hasNextPage endCursor }
  }
}"""

WEBHOOK_CREATE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic }
    userErrors { field message }
  }
}"""

CONSENT_UPDATE = """
mutation Consent($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id emailMarketingConsent { marketingState consentUpdatedAt } }
    userErrors { field message }
  }
}"""


def graphql_topic(topic: str) -> str:
    """``orders/create`` -> ``ORDERS_CREATE``, ``customer.tags_added`` -> ``CUSTOMER_TAGS_ADDED`` (the
    GraphQL ``WebhookSubscriptionTopic`` enum)."""
    return topic.replace("/", "_").replace(".", "_").upper()


def register_webhooks(store: Store, topics: tuple[str, ...], callback_url: str) -> list[str]:
    """Subscribe to every topic not yet subscribed for this URL; returns the topics created."""
    existing: set[str] = set()
    after = None
    while True:
        data = execute(store, WEBHOOK_SUBSCRIPTIONS, {"after": after})["webhookSubscriptions"]
        for edge in data["edges"]:
            node = edge["node"]
            if node.get("uri") == callback_url:
                existing.add(node["topic"])
        if not data["pageInfo"]["hasNextPage"]:
            break
        if data["pageInfo"]["endCursor"] in (None, after):
            raise ShopifyAPIError("webhookSubscriptions: the cursor did not advance")
        after = data["pageInfo"]["endCursor"]
    created = []
    for topic in topics:
        if graphql_topic(topic) in existing:
            continue
        result = execute(store, WEBHOOK_CREATE, {"topic": graphql_topic(topic), "uri": callback_url})
        user_errors(result, "webhookSubscriptionCreate")
        created.append(topic)
    return created


def write_email_consent(store: Store, customer_external_id: str, state: str, consent_updated_at: str,
                        opt_in_level: str = "SINGLE_OPT_IN") -> None:
    """Tell Shopify about a consent change made in ShopConnect (for example an unsubscribe link)."""
    result = execute(
        store,
        CONSENT_UPDATE,
        {
            "input": {
                "customerId": f"gid://shopify/Customer/{customer_external_id}",
                "emailMarketingConsent": {
                    "marketingState": state.upper(),
                    "marketingOptInLevel": opt_in_level,
                    "consentUpdatedAt": consent_updated_at,
                },
            }
        },
    )
    user_errors(result, "customerEmailMarketingConsentUpdate")
