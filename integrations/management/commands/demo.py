from django.core.management.base import BaseCommand

from integrations.demo import load_demo, tasks_inline


class Command(BaseCommand):
    help = "Load the demo store through the real webhook and storefront path, with its flows (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)

    def handle(self, *args, customers, **opts):
        from campaigns.demo import install_demo_campaign, install_demo_flows
        from shopconnect.timeline.models import Store

        self.stdout.write(f"loading the demo store ({customers} customers) through signed webhooks and the "
                          "storefront endpoint; the first time takes a minute or two...")
        result = load_demo(customers=customers)
        self.stdout.write(
            f"demo store {result['store']}: {result['webhooks_new']} new of {result['webhooks']} signed webhooks, "
            f"{result['batches']} storefront batches, {result['events_direct']} new email history events "
            "(0 new means it was already loaded)"
        )
        with tasks_inline():  # segment, attribution and report updates done now, not left queued
            flows = install_demo_flows(Store.objects.get(pk=result["store"]))
            self.stdout.write(f"demo flows: {flows}")
            campaign = install_demo_campaign(Store.objects.get(pk=result["store"]))
            self.stdout.write(f"demo campaign: {campaign}")
            from integrations.storefront.signup.demo import install_demo_forms

            self.stdout.write(f"demo signup forms: {install_demo_forms(Store.objects.get(pk=result['store']))}")
