"""``recompute_segments [--store ID]``: recompute every active segment's membership from scratch."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from segments.tasks import recompute_store
from shopconnect.timeline.models import Store


class Command(BaseCommand):
    help = "Recompute segment membership (all stores, or one with --store)."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, help="Only this store id.")

    def handle(self, *args, store=None, **options):
        stores = Store.objects.all() if store is None else Store.objects.filter(pk=store)
        if store is not None and not stores.exists():
            self.stderr.write(f"no store {store}")
            raise SystemExit(1)
        for s in stores:
            started = time.monotonic()
            count = recompute_store(s.pk)
            self.stdout.write(f"{s}: {count} segments recomputed in {time.monotonic() - started:.2f}s")
