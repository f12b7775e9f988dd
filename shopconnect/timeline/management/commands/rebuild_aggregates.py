from django.core.management.base import BaseCommand

from shopconnect.timeline.aggregates import rebuild_aggregates


class Command(BaseCommand):
    help = "Recompute every customer's aggregates from the timeline."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int)

    def handle(self, *args, store=None, **opts):
        n = rebuild_aggregates(store)
        self.stdout.write(f"rebuilt aggregates of {n} customers")
