"""GraphQL Admin API queries of the backfill: ``QUERIES[resource] = (query, root field)``.

Customer email is read from ``defaultEmailAddress`` (``Customer.email`` is deprecated since 2025-04).

Each takes ``$after`` (cursor) and ``$query`` (Shopify search syntax, e.g. ``updated_at:>='...'``).
"""

from __future__ import annotations

PAGE_INFO = "pageInfo { hasNextPage endCursor }"
LINE_ITEMS = """lineItems(first: 100) { edges { node {
  title variantTitle vendor quantity sku originalUnitPriceSet { shopMoney { amount } } product { id }
  variant { id } } } }"""

CUSTOMERS = f"""
query Customers($after: String, $query: String) {{
  customers(first: 100, after: $after, query: $query, sortKey: UPDATED_AT) {{
    edges {{ node {{
      id firstName lastName phone createdAt updatedAt state tags verifiedEmail
      defaultEmailAddress {{ emailAddress }}
      defaultAddress {{ countryCodeV2 phone }}
      emailMarketingConsent {{ marketingState marketingOptInLevel consentUpdatedAt }}
    }} }}
    {PAGE_INFO}
  }}
}}"""

ORDERS = f"""
query Orders($after: String, $query: String) {{
  orders(first: 50, after: $after, query: $query, sortKey: UPDATED_AT) {{
    edges {{ node {{
      id name email createdAt processedAt updatedAt cancelledAt cancelReason
      displayFinancialStatus displayFulfillmentStatus currencyCode discountCodes
      tags sourceName customerLocale note customAttributes {{ key value }}
      billingAddress {{ city province countryCodeV2 }}
      customer {{ id email }}
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      subtotalPriceSet {{ shopMoney {{ amount }} }}
      currentTotalPriceSet {{ shopMoney {{ amount }} }}
      totalDiscountsSet {{ shopMoney {{ amount }} }}
      {LINE_ITEMS}
      refunds {{ id createdAt totalRefundedSet {{ shopMoney {{ amount }} }} }}
    }} }}
    {PAGE_INFO}
  }}
}}"""

CHECKOUTS = f"""
query Checkouts($after: String, $query: String) {{
  abandonedCheckouts(first: 50, after: $after, query: $query) {{
    edges {{ node {{
      id abandonedCheckoutUrl createdAt updatedAt completedAt
      customer {{ id email }}
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      {LINE_ITEMS}
    }} }}
    {PAGE_INFO}
  }}
}}"""

PRODUCTS = f"""
query Products($after: String, $query: String) {{
  products(first: 50, after: $after, query: $query) {{
    edges {{ node {{
      id title handle status productType updatedAt onlineStoreUrl totalInventory
      vendor tags descriptionHtml publishedAt
      featuredMedia {{ preview {{ image {{ url }} }} }}
      variants(first: 100) {{ edges {{ node {{ id title sku price compareAtPrice inventoryQuantity }} }} }}
      collections(first: 20) {{ edges {{ node {{ handle title }} }} }}
    }} }}
    {PAGE_INFO}
  }}
}}"""

QUERIES: dict[str, tuple[str, str]] = {
    "customers": (CUSTOMERS, "customers"),
    "orders": (ORDERS, "orders"),
    "checkouts": (CHECKOUTS, "abandonedCheckouts"),
    "products": (PRODUCTS, "products"),
}
