"""The start page (the admin index): per store, what is set up and what is missing, the headline numbers
of the last 30 days and shortcuts to the common tasks.

The numbers come from the reports (``campaigns.reports.dashboard``), so the start page and the store
dashboard always agree. A fixed number of queries per store; at most ``MAX_STORES`` stores are shown
(the dashboard has a store picker for the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from shopconnect.tenancy import visible_stores
from shopconnect.timeline.models import Consent, Customer, Event, Store

MAX_STORES = 12
DAYS = 30
DEVELOPMENT_KINDS = {"console", "file", "locmem"}


@dataclass
class Check:
    label: str
    ok: bool
    detail: str
    fix_url: str = ""
    fix_label: str = ""


@dataclass
class StoreStart:
    store: Store
    checks: list[Check] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)

    @property
    def missing(self) -> int:
        return sum(1 for c in self.checks if not c.ok)


def _ago(moment) -> str:
    if not moment:
        return ""
    since = timesince(moment).split(",")[0]
    return "just now" if since.startswith("0\xa0minutes") or since.startswith("0 minutes") else f"{since} ago"


def setup_checks(store: Store) -> list[Check]:
    """Connected and receiving webhooks, email provider verified, storefront script seen, flows enabled."""
    from campaigns.models import EmailProvider, Flow
    from integrations.models import WebhookDelivery
    from integrations.storefront.models import CollectBatch

    store_url = reverse("admin:timeline_store_change", args=[store.pk])
    last_webhook = WebhookDelivery.objects.filter(store=store).aggregate(at=Max("received_at"))["at"]
    if not store.is_active:
        connected = Check("Store connected", False, "The app was uninstalled: nothing is received or sent.",
                          store_url, "Open the store")
    elif last_webhook is None:
        connected = Check("Store connected", False, "Connected, but no webhook has arrived yet. Check the webhook "
                          "URL on the store's page.", store_url, "Show the webhook URL")
    else:
        connected = Check("Store connected", True, f"Last webhook received {_ago(last_webhook)}.")
    provider = EmailProvider.objects.filter(store=store).first()
    if provider is None:
        email = Check("Email provider", False, "No email provider: nothing can be sent.",
                      reverse("admin:campaigns_emailprovider_add") + f"?store={store.pk}", "Add a provider")
    else:
        provider_url = reverse("admin:campaigns_emailprovider_change", args=[provider.pk])
        delivered = Event.objects.filter(store=store, type="email.delivered").exists()
        if provider.problem:  # the sender's alert: the provider failed and nothing has gone through since
            from campaigns.admin import provider_alert

            email = Check("Email provider", False, provider_alert(provider), provider_url, "Open the provider")
        elif provider.kind in DEVELOPMENT_KINDS:
            email = Check("Email provider", False, f"{provider.get_kind_display()}: emails are printed or kept "
                          "here, not delivered to anyone. Connect a real provider to send.", provider_url,
                          "Change the provider")
        elif not delivered:
            email = Check("Email provider", False, f"{provider.get_kind_display()} is set up, but no delivery report "
                          "has come back yet: send a test and point the provider's tracking webhook here.",
                          provider_url, "Open the provider")
        else:
            email = Check("Email provider", True, f"{provider.get_kind_display()}, sending as "
                          f"{provider.from_email}; delivery reports arrive.")
    last_batch = CollectBatch.objects.filter(store=store).aggregate(at=Max("received_at"))["at"]
    script = (Check("Storefront script", True, f"Last seen {_ago(last_batch)}.") if last_batch else
              Check("Storefront script", False, "Never seen: add the tracking script to the storefront to know "
                    "who browses and abandons carts.", store_url, "Show the collect key"))
    flows = Flow.objects.filter(store=store).aggregate(total=Count("pk"), on=Count("pk", filter=Q(enabled=True)))
    flows_url = reverse("admin:campaigns_flow_changelist") + f"?store__id__exact={store.pk}"
    flow_check = (Check("Flows", True, f"{flows['on']} of {flows['total']} flows enabled.", flows_url, "Open flows")
                  if flows["on"] else
                  Check("Flows", False, f"No flow enabled ({flows['total']} set up). Enable abandoned cart and "
                        "welcome first.", flows_url, "Open flows"))
    return [connected, email, script, flow_check]


def headline(store: Store) -> dict:
    """Attributed revenue of the last 30 days (flows, campaigns, other), list size and growth, deliverability."""
    from campaigns.reports.dashboard import deliverability, revenue_by_source
    from campaigns.reports.kpis import DateRange

    dates = DateRange.last(DAYS, zone=store.timezone)
    since = dates.start
    subscribed = Customer.objects.filter(store=store, email_consent=Consent.SUBSCRIBED, deleted_at__isnull=True,
                                         email__isnull=False).count()
    changes = Event.objects.filter(store=store, type="consent.changed", occurred_at__gte=since).aggregate(
        joined=Count("pk", filter=Q(properties__state=Consent.SUBSCRIBED)),
        left=Count("pk", filter=Q(properties__state=Consent.UNSUBSCRIBED)))
    sent = deliverability(store.pk, dates)
    if sent["sent"]:
        text = (f"{sent['delivered'] / sent['sent']:.1%} delivered · bounces {sent['bounce_rate']:.1%} · "
                f"complaints {sent['complaint_rate'] or 0:.2%}")
    else:
        text = "nothing sent in these days"
    return {"dates": dates, "revenue": revenue_by_source(store.pk, dates), "subscribed": subscribed,
            "joined": changes["joined"], "left": changes["left"], "growth": changes["joined"] - changes["left"],
            "deliverability": sent, "delivery_text": text}


def shortcuts() -> list[tuple[str, str]]:
    return [
        ("Send a campaign", reverse("admin:campaigns_campaign_add")),
        ("Write an email template", reverse("admin:campaigns_emailtemplate_add")),
        ("Create a segment from a template", reverse("admin:segments_segment_templates")),
        ("Turn flows on or off", reverse("admin:campaigns_flow_changelist")),
        ("Why didn't someone get an email?", reverse("admin:campaigns_message_changelist")),
        ("See what earned the money", reverse("reports:dashboard")),
    ]


def start_context(request) -> dict:
    stores = list(visible_stores(request.user).order_by("name", "id")[: MAX_STORES + 1])
    more = len(stores) > MAX_STORES
    cards = [StoreStart(store, setup_checks(store), headline(store)) for store in stores[:MAX_STORES]]
    return {"start_stores": cards, "start_more_stores": more, "start_shortcuts": shortcuts(),
            "customer_search_url": reverse("admin:timeline_customer_changelist"), "start_now": timezone.now(),
            "start_days": DAYS, "start_since": timezone.now() - timedelta(days=DAYS)}
