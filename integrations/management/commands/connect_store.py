"""Connect (or update) a store and print its identifiers as one JSON object."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from integrations.registry import clean_store_address, get_adapter
from integrations.urls import webhook_url
from shopconnect.outbound import OutboundBlocked
from shopconnect.timeline.models import Platform, Store


class Command(BaseCommand):
    help = "Connect a Shopify or WooCommerce store; running it again updates the same store."

    def add_arguments(self, parser):
        parser.add_argument("--platform", required=True, choices=[Platform.SHOPIFY, Platform.WOOCOMMERCE])
        parser.add_argument("--domain", help="Shopify: NAME.myshopify.com")
        parser.add_argument("--url", help="WooCommerce: the site URL, https://shop.example")
        parser.add_argument("--name", default="")
        parser.add_argument("--currency")
        parser.add_argument("--timezone")
        parser.add_argument("--access-token", default="", help="Shopify Admin API access token")
        parser.add_argument("--webhook-secret", default="", help="WooCommerce webhook secret")
        parser.add_argument("--consumer-key", default="")
        parser.add_argument("--consumer-secret", default="")

    def handle(self, *args, **opts):
        platform = opts["platform"]
        # Checked before anything is stored or fetched: a Shopify shop is NAME.myshopify.com, a WooCommerce
        # site a public https URL (never loopback, private or metadata addresses).
        try:
            if platform == Platform.SHOPIFY:
                domain, url = clean_store_address(platform, opts["domain"] or "", "")
            else:
                domain, url = clean_store_address(platform, "", opts["url"] or "")
        except OutboundBlocked as exc:
            option = "--domain" if platform == Platform.SHOPIFY else "--url"
            raise CommandError(f"{option}: {exc}") from None
        if platform != Platform.SHOPIFY and bool(opts["consumer_key"]) != bool(opts["consumer_secret"]):
            raise CommandError("--consumer-key and --consumer-secret go together")
        store, created = Store.objects.get_or_create(platform=platform, domain=domain, defaults={"url": url})
        store.url = url
        store.status = Store.Status.ACTIVE
        store.uninstalled_at = None
        for option, field in (("name", "name"), ("currency", "currency"), ("timezone", "timezone"),
                              ("access_token", "access_token"), ("webhook_secret", "webhook_secret"),
                              ("consumer_key", "consumer_key"), ("consumer_secret", "consumer_secret")):
            if opts.get(option):
                setattr(store, field, opts[option])
        if not store.name:
            store.name = domain
        store.save()
        adapter = get_adapter(platform)
        if adapter is not None:
            adapter.connect(store, opts)
        self.stdout.write(json.dumps({
            "id": store.pk,
            "platform": store.platform,
            "domain": store.domain,
            "webhook_url": webhook_url(store),
            "collect_key": store.collect_key,
        }))
