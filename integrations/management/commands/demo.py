from django.core.management.base import BaseCommand

from integrations.demo import load_demo


class Command(BaseCommand):
    help = "Load the demo store through the real webhook and storefront path (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)

    def handle(self, *args, customers, **opts):
        result = load_demo(customers=customers)
        self.stdout.write(
            f"demo store {result['store']}: {result['webhooks_new']} new of {result['webhooks']} signed webhooks, "
            f"{result['batches']} storefront batches, {result['events_direct']} new email history events "
            "(0 new means it was already loaded)"
        )
