from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from integrations.registry import get_adapter
from shopconnect.timeline.models import Store


class Command(BaseCommand):
    help = "Import a store's history (customers, orders, checkouts, products) through the platform API."

    def add_arguments(self, parser):
        parser.add_argument("store_id", type=int)
        parser.add_argument("--since", help="YYYY-MM-DD: only what changed since that day")

    def handle(self, *args, store_id, since=None, **opts):
        store = Store.objects.filter(pk=store_id).first()
        if store is None:
            raise CommandError(f"no store with id {store_id}")
        since_dt = None
        if since:
            try:
                since_dt = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError as exc:
                raise CommandError("--since must be YYYY-MM-DD") from exc
        adapter = get_adapter(store.platform)
        if adapter is None:
            raise CommandError(f"no adapter for platform {store.platform}")
        try:
            counts = adapter.backfill(store, since_dt)
        except NotImplementedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"store": store.pk, **counts}))
