"""A fake Shopify at the HTTP level.

- OAuth token exchange: ShopifyAPI posts with ``urllib``; ``FakeShopify.urllib_handler()`` is a urllib
  handler installed as the global opener, answering ``https://<shop>/admin/oauth/access_token``.
- GraphQL Admin API: ``requests`` to ``https://<shop>/admin/api/<version>/graphql.json``, answered through
  ``responses`` by ``graphql`` below: webhook subscriptions, the backfill's paginated resources and the
  consent mutation. ``fail_on`` makes one call fail with HTTP 500 (to test resuming).
"""

from __future__ import annotations

import io
import json
import urllib.parse
import urllib.request
import urllib.response
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import responses

from .helpers import SHOP


@dataclass
class FakeShopify:
    shop: str = SHOP
    token: str = "shpat_fake_token_0123456789"
    token_status: int = 200
    data: dict[str, list[dict]] = field(
        default_factory=lambda: {"customers": [], "orders": [], "abandonedCheckouts": [], "products": []}
    )
    page_size: int = 2
    subscriptions: list[dict] = field(default_factory=list)
    token_requests: list[dict] = field(default_factory=list)
    graphql_calls: list[dict] = field(default_factory=list)
    fail_on: tuple[str, int] | None = None  # (root field, call number) -> HTTP 500
    _calls_by_root: dict[str, int] = field(default_factory=dict)

    # -- urllib side (OAuth) ----------------------------------------------------------------------
    def urllib_handler(self) -> urllib.request.BaseHandler:
        fake = self

        class Handler(urllib.request.BaseHandler):
            handler_order = 100  # before the real HTTPSHandler: nothing leaves the machine

            def https_open(self, req):
                url = urllib.parse.urlparse(req.full_url)
                assert url.hostname == fake.shop, f"unexpected host {url.hostname}"
                assert url.path == "/admin/oauth/access_token", url.path
                fake.token_requests.append(dict(urllib.parse.parse_qsl(req.data.decode())))
                body = json.dumps({"access_token": fake.token, "scope": "read_customers,write_customers"})
                if fake.token_status != 200:
                    body = json.dumps({"error": "invalid_request"})
                headers = Message()
                headers["Content-Type"] = "application/json"
                response = urllib.response.addinfourl(
                    io.BytesIO(body.encode()), headers, req.full_url, fake.token_status
                )
                response.msg = "OK" if fake.token_status == 200 else "Bad Request"
                return response

        return Handler()

    # -- requests side (GraphQL) ------------------------------------------------------------------
    def install(self, rsps: responses.RequestsMock, version: str = "2025-10") -> None:
        rsps.add_callback(
            responses.POST, f"https://{self.shop}/admin/api/{version}/graphql.json", callback=self.graphql
        )

    def graphql(self, request) -> tuple[int, dict, str]:
        assert request.headers["X-Shopify-Access-Token"] == self.token
        body = json.loads(request.body)
        query, variables = body["query"], body.get("variables") or {}
        self.graphql_calls.append({"query": query, "variables": variables})
        if "webhookSubscriptionCreate" in query:
            self.subscriptions.append(
                {
                    "id": f"gid://shopify/WebhookSubscription/{len(self.subscriptions) + 1}",
                    "topic": variables["topic"],
                    "uri": variables["uri"],
                }
            )
            return self._ok({"webhookSubscriptionCreate": {"webhookSubscription": {"id": "x"}, "userErrors": []}})
        if "customerEmailMarketingConsentUpdate" in query:
            return self._ok({"customerEmailMarketingConsentUpdate": {"customer": {"id": "x"}, "userErrors": []}})
        if "webhookSubscriptions(" in query:
            return self._ok(
                {"webhookSubscriptions": self._page([{"node": s} for s in self.subscriptions], variables.get("after"))}
            )
        for root in self.data:
            if f" {root}(" in query:
                count = self._calls_by_root[root] = self._calls_by_root.get(root, 0) + 1
                if self.fail_on == (root, count):
                    return 500, {}, json.dumps({"errors": "Internal error"})
                return self._ok({root: self._page([{"node": n} for n in self.data[root]], variables.get("after"))})
        raise AssertionError(f"unexpected GraphQL: {query[:80]}")

    def _page(self, edges: list[dict], after: str | None) -> dict[str, Any]:
        start = int(after) if after else 0
        end = start + self.page_size
        return {
            "edges": edges[start:end],
            "pageInfo": {"hasNextPage": end < len(edges), "endCursor": str(min(end, len(edges)))},
        }

    @staticmethod
    def _ok(data: dict) -> tuple[int, dict, str]:
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": data})

    def calls_for(self, root: str) -> list[dict]:
        return [c for c in self.graphql_calls if f" {root}(" in c["query"]]


def gql_customer(n: int, **over) -> dict:
    node = {
        "id": f"gid://shopify/Customer/{7408451977439 + n}",
        "defaultEmailAddress": {"emailAddress": f"kunde{n}@example.com"},
        "firstName": "Jürgen",
        "lastName": f"Nº{n}",
        "phone": None,
        "createdAt": "2025-06-01T10:00:00Z",
        "updatedAt": "2025-07-01T10:00:00Z",
        "state": "ENABLED",
        "tags": ["VIP"],
        "verifiedEmail": True,
        "defaultAddress": {"countryCodeV2": "AT", "phone": None},
        "emailMarketingConsent": {
            "marketingState": "SUBSCRIBED",
            "marketingOptInLevel": "SINGLE_OPT_IN",
            "consentUpdatedAt": "2025-06-01T10:05:00Z",
        },
    }
    return {**node, **over}


def gql_order(order_id: int, customer_n: int, total: str, **over) -> dict:
    node = {
        "id": f"gid://shopify/Order/{order_id}",
        "name": f"#{order_id % 10000}",
        "email": f"kunde{customer_n}@example.com",
        "createdAt": "2025-08-01T10:00:00Z",
        "processedAt": "2025-08-01T10:00:00Z",
        "updatedAt": "2025-08-02T10:00:00Z",
        "cancelledAt": None,
        "cancelReason": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "currencyCode": "EUR",
        "discountCodes": [],
        "tags": ["Erstbestellung"],
        "sourceName": "web",
        "customerLocale": "de-AT",
        "billingAddress": {"city": "Wien", "province": None, "countryCodeV2": "AT"},
        "customer": {
            "id": f"gid://shopify/Customer/{7408451977439 + customer_n}",
            "email": f"kunde{customer_n}@example.com",
        },
        "totalPriceSet": {"shopMoney": {"amount": total, "currencyCode": "EUR"}},
        "subtotalPriceSet": {"shopMoney": {"amount": total}},
        "lineItems": {
            "edges": [
                {
                    "node": {
                        "title": "Wollsocken",
                        "variantTitle": "42-45",
                        "vendor": "Nordlicht",
                        "quantity": 1,
                        "sku": "WS",
                        "originalUnitPriceSet": {"shopMoney": {"amount": total}},
                        "product": {"id": "gid://shopify/Product/8123456789013"},
                        "variant": {"id": "gid://shopify/ProductVariant/45123456789013"},
                    }
                }
            ]
        },
        "refunds": [],
    }
    return {**node, **over}
