"""Connect (or update) a store and print its identifiers as one JSON object.

The ``--platform`` choices are the configured adapters (``settings.PLATFORM_ADAPTERS``); each adapter
reads the store's address from the options (``store_address``) and connects it (``connect``), so a new
platform needs no change here.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from integrations.registry import adapters, webhook_url
from shopconnect.timeline.models import Store

#: options every platform may use; an adapter's ``connect_options`` add to these
COMMON_OPTIONS = {
    "url": "the store's address, https://shop.example (platforms connected by their site's address)",
    "name": "the store's name in the admin",
    "currency": "ISO 4217 code, for example EUR",
    "timezone": "IANA time zone, for example Europe/Berlin",
}
#: options that are stored on the Store when given (secrets are encrypted at rest)
STORED = ("name", "currency", "timezone", "access_token", "webhook_secret", "consumer_key", "consumer_secret")


class Command(BaseCommand):
    help = "Connect a store of any configured platform; running it again updates the same store."

    def add_arguments(self, parser):
        configured = adapters()
        parser.add_argument("--platform", required=True, choices=list(configured))
        options = dict(COMMON_OPTIONS)
        for name, adapter in configured.items():
            for option, text in adapter.connect_options.items():
                label = adapter.label or name
                options[option] = f"{options[option]}; {label}: {text}" if option in options else f"{label}: {text}"
        for option, text in options.items():
            parser.add_argument(f"--{option}", default="", help=text)

    def handle(self, *args, **opts):
        adapter = adapters()[opts["platform"]]
        try:
            domain, url = adapter.store_address(opts)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        store, created = Store.objects.get_or_create(platform=adapter.platform, domain=domain,
                                                     defaults={"url": url})
        store.url = url
        store.status = Store.Status.ACTIVE
        store.uninstalled_at = None
        for field in STORED:
            if opts.get(field):
                setattr(store, field, opts[field])
        if not store.name:
            store.name = domain
        store.save()
        adapter.connect(store, opts)
        self.stdout.write(json.dumps({
            "id": store.pk,
            "platform": store.platform,
            "domain": store.domain,
            "webhook_url": webhook_url(store),
            "collect_key": store.collect_key,
        }))
