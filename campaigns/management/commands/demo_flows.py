from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from integrations.demo import DEMO_DOMAIN
from shopconnect.timeline.models import Store


class Command(BaseCommand):
    help = "Create the prebuilt flows for the demo store (abandoned cart enabled) with a console provider."

    def handle(self, *args, **options):
        from campaigns.demo import install_demo_flows
        from campaigns.flows.engine import advance_due_enrollments

        store = Store.objects.get(platform="shopify", domain=DEMO_DOMAIN)
        result = install_demo_flows(store)
        result["advanced"] = advance_due_enrollments()
        self.stdout.write(json.dumps(result))
