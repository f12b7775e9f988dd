from django.core.management.base import BaseCommand

from shopconnect.timeline.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo store (idempotent: running it again changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)

    def handle(self, *args, customers, **opts):
        result = load_demo(customers=customers)
        self.stdout.write(
            f"demo store {result['store']}: {result['inserted']} new events of {result['events']} "
            "(0 new means it was already loaded)"
        )
