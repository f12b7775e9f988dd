import time

from django.core.management.base import BaseCommand

from integrations.demo import DEMO_DOMAIN, load_demo, tasks_inline


class Command(BaseCommand):
    help = ("Load the demo store through the real webhook and storefront path, with its segments, flows and "
            "campaign. Once: when the demo is already loaded, nothing is changed.")

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args, customers, **opts):
        from campaigns.demo import DEMO_CAMPAIGN, install_demo_campaign, install_demo_flows
        from campaigns.models import Campaign
        from shopconnect.timeline.models import Store

        loaded = Campaign.objects.filter(store__platform="shopify", store__domain=DEMO_DOMAIN, name=DEMO_CAMPAIGN)
        if loaded.exclude(status=Campaign.Status.DRAFT).exists():
            # a second `make run` must not touch what a marketer did since (no re-enrolment into their flows)
            self.say("demo store already loaded: nothing changed")
            return
        began = time.monotonic()
        self.say(f"1/3 loading the demo store ({customers} customers) through signed webhooks and the storefront "
                 "endpoint...")
        result = load_demo(customers=customers, progress=lambda done, total: self.say(
            f"    {done}/{total} customers ({time.monotonic() - began:.0f} s)"))
        self.say(f"    {result['webhooks_new']} new of {result['webhooks']} signed webhooks, {result['batches']} "
                 f"storefront batches, {result['events_direct']} email history events")
        store = Store.objects.get(pk=result["store"])
        _analyze()  # before the segments are computed over the loaded events
        with tasks_inline():  # segment, attribution and report updates done now, not left queued
            self.say("2/3 segments and flows...")
            flows = install_demo_flows(store)
            self.say(f"    {flows['flows']} prebuilt flows (abandoned cart and post-purchase enabled)")
            self.say("3/3 the demo campaign (A/B test with a holdout, three days ago)...")
            campaign = install_demo_campaign(store)
            from integrations.storefront.signup.demo import install_demo_forms

            forms = install_demo_forms(store)
        self.say(f"    winner {campaign.get('winner') or '-'}: {campaign.get('reason', '')}")
        self.say(f"    signup forms: {forms}")
        _analyze()  # and the campaign's and segments' rows, for the first previews
        self.say(f"demo loaded in {time.monotonic() - began:.0f} s")


def _analyze() -> None:
    """What autovacuum does shortly after a bulk load (and never, where it is off): without statistics
    PostgreSQL plans queries over the freshly loaded tables as if each had one row (minutes, not ms)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
