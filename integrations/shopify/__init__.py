"""Shopify: OAuth install, signed webhooks, compliance topics, GraphQL backfill and reconciliation.

A Django app (label ``shopify``) for its own few models (install nonces, data-request exports, sync
state). The adapter is ``integrations.shopify.adapter.ShopifyAdapter``; the topic table is in
``integrations.shopify.topics``.
"""
