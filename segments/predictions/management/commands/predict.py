"""``python manage.py predict [--store ID]``: refit predictions now (all active stores by default).

Prints one JSON line per store: the method used (model or heuristic), customers scored, the fitted
parameters and the time taken.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from segments.predictions.refit import refit_store, store_ids_to_refit
from shopconnect.timeline.models import Store


class Command(BaseCommand):
    help = "Refit churn, lifetime value, next order and RFM predictions from the order history."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, help="Only this store id (default: every active store).")

    def handle(self, *args, **options):
        if options["store"] is not None:
            if not Store.objects.filter(pk=options["store"]).exists():
                raise CommandError(f"no store with id {options['store']}")
            ids = [options["store"]]
        else:
            ids = store_ids_to_refit()
        for store_id in ids:
            run = refit_store(store_id)
            self.stdout.write(
                json.dumps(
                    {
                        "store": store_id,
                        "method": run.method,
                        "customers": run.customers,
                        "repeat_customers": run.repeat_customers,
                        "parameters": run.parameters,
                        "note": run.note,
                        "seconds": run.seconds,
                    }
                )
            )
