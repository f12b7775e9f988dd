"""The demo store's segments, flows and campaign: call ``install_demo_flows(store)`` after the demo data is
loaded, then ``install_demo_campaign(store)``.

Creates every built-in segment (``segments.templates``) and an "Email subscribers" segment, the prebuilt
flows with two of them enabled (abandoned cart and post-purchase: the two that react to what a store does
every day, so that the next checkout or order shows a flow at work; the others stay disabled, as for a
real store) and a console email provider. The demo's history is the past: no flow mails about it (a
loaded checkout is days old, and many became orders); the enabled flows react to what happens from then
on, like a store that installs ShopConnect.

``install_demo_campaign(store)`` runs a whole A/B-tested campaign with a holdout: "Spring sale" to the
email subscribers minus recent purchasers, two subject lines, 10% holdout, 20% test share, launched and
sent through the real sender (console backend, muted while loading), with engagement recorded the way
the tracking views record it (``record_events``: email.opened / email.clicked, B opened more than A) and
the decision (the winner is picked and the rest of the audience gets it), the rest's engagement, and
orders from half of the clickers and from one holdout member, so the report shows attributed revenue
and the lift over the holdout. Done once: a campaign that is no longer a draft is left alone.

The campaign runs on a simulated clock (``_clock``) that starts ``CAMPAIGN_DAYS_AGO`` days in the past and
moves with real time, so the send, the opens and clicks hours later and the orders a day later all lie
in the past: nothing in the demo is dated after the moment it was loaded.
"""

from __future__ import annotations

import contextlib
import io
import time
from datetime import timedelta
from decimal import Decimal
from unittest import mock

from django.utils import timezone

from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.models import Event, Store
from shopconnect.timeline.record import record_events

from .flows.prebuilt import install_prebuilt_flows
from .models import Campaign, CampaignVariant, EmailProvider, EmailTemplate, Message

DEMO_CAMPAIGN = "Spring sale (demo A/B test)"
CAMPAIGN_DAYS_AGO = 3
DEMO_FLOWS = ("abandoned_cart", "post_purchase")
#: engagement shares of the test recipients (opens include the clicks), per variant
ENGAGEMENT = {"A": (0.20, 0.05), "B": (0.55, 0.15)}
SALE_HTML = ("<html><body><p>Hi {{ customer.first_name|default:'there' }},</p><p>Everything for the trail is 20% off "
             "this week.</p><p><a href=\"https://demo-outdoor.example/collections/sale\">Shop the sale</a></p>"
             "</body></html>")


def install_demo_flows(store: Store) -> dict[str, int]:
    _demo_segments(store)
    EmailProvider.objects.get_or_create(store=store, defaults={
        "kind": EmailProvider.Kind.CONSOLE, "from_email": "hello@demo-outdoor.example", "from_name": store.name,
        "smart_sending_hours": 0})
    flows = install_prebuilt_flows(store, enable=DEMO_FLOWS)
    return {"flows": len(flows), "entered": 0}


def _demo_segments(store: Store):
    from segments.membership import snapshot, sync_segment
    from segments.models import Segment
    from segments.templates import TEMPLATES, create_from_template

    subscribers, _ = Segment.objects.get_or_create(store=store, name="Email subscribers", defaults={
        "description": "Customers who consent to marketing email.",
        "definition": {"version": 1, "type": "and",
                       "rules": [{"type": "attribute", "field": "consent", "op": "eq", "value": "subscribed"}]}})
    built_in = [create_from_template(store, t.key) for t in TEMPLATES]  # every built-in segment the README names
    for segment in (subscribers, *built_in):
        sync_segment(segment)
        snapshot(segment)  # today's size, the first point of the dashboard's segment-growth chart
    return subscribers, next(s for s in built_in if s.template == "recent_purchasers")


def _engagement_events(campaign: Campaign, now, *, ab_test: bool) -> list[CanonicalEvent]:
    """Opens and clicks for a fixed share of each variant's recipients (deterministic: by row order)."""
    from .sender import event_ids

    events = []
    for label, (open_share, click_share) in ENGAGEMENT.items():
        rows = list(Message.objects.filter(campaign=campaign, variant=label, ab_test=ab_test,
                                           state=Message.State.SENT).order_by("id"))
        for n, message in enumerate(rows[:round(len(rows) * open_share)]):
            props = {**event_ids(message), "subject": message.subject}
            events.append(CanonicalEvent(type="email.opened", occurred_at=now, source="email",
                                         dedupe_key=f"email.opened:{message.pk}:demo", customer_id=message.customer_id,
                                         properties={**props, "machine": False}))
            if n < round(len(rows) * click_share):
                events.append(CanonicalEvent(
                    type="email.clicked", occurred_at=now, source="email",
                    dedupe_key=f"email.clicked:{message.pk}:0:demo", customer_id=message.customer_id,
                    properties={**props, "url": "https://demo-outdoor.example/collections/sale"}))
    return events


def _order_events(campaign: Campaign, now) -> list[CanonicalEvent]:
    """Orders a day later: from every second customer who clicked, and from one holdout member (the control
    group buys too, less often: that difference is the lift the report shows)."""
    clicked = list(Event.objects.filter(store=campaign.store, type="email.clicked",
                                        properties__campaign_id=campaign.pk)
                   .order_by("id").values_list("customer_id", flat=True))[::2]
    held = list(Message.objects.filter(campaign=campaign, variant="holdout").order_by("id")
                .values_list("customer_id", flat=True)[:1])
    events = []
    for n, customer_id in enumerate(clicked + held):
        order_id = f"demo-campaign-{campaign.pk}-{customer_id}"
        total = Decimal("79.00") + (40 * (n % 3) if n < len(clicked) else 0)
        events.append(CanonicalEvent(
            type="order.placed", occurred_at=now + timedelta(days=1), source="demo",
            dedupe_key=f"order.placed:{order_id}", customer_id=customer_id, order_ref=order_id, amount=total,
            properties={"order_id": order_id, "total": str(total), "currency": campaign.store.currency,
                        "line_items": [{"product_id": "8100000001", "title": "Trail Runner Shoes", "quantity": 1,
                                        "price": str(total)}]}))
    return events


class _Clock:
    """``timezone.now()`` for the simulated campaign run: ``start`` plus the real time elapsed plus the
    simulated waits (``advance``)."""

    def __init__(self, start) -> None:
        self.start, self.began, self.skipped = start, time.monotonic(), timedelta()

    def now(self):
        return self.start + self.skipped + timedelta(seconds=time.monotonic() - self.began)

    def advance(self, by: timedelta) -> None:
        self.skipped += by


@contextlib.contextmanager
def _clock(start):
    clock = _Clock(start)
    with mock.patch("django.utils.timezone.now", clock.now):
        yield clock


def install_demo_campaign(store: Store) -> dict:
    """Run the demo A/B campaign once (see the module docstring); returns what happened."""
    from .campaign.abtest import decide_tests
    from .campaign.launch import launch
    from .campaign.run import finish_sent
    from .sender import send_due_messages

    existing = Campaign.objects.filter(store=store, name=DEMO_CAMPAIGN).first()
    if existing is not None and existing.status != Campaign.Status.DRAFT:
        return {"campaign": existing.pk, "status": existing.status, "winner": existing.winner}
    subscribers, recent = _demo_segments(store)
    template, _ = EmailTemplate.objects.get_or_create(store=store, name="Spring sale", defaults={
        "subject": "Spring sale: 20% off trail gear", "html": SALE_HTML})
    campaign = existing or Campaign.objects.create(
        store=store, name=DEMO_CAMPAIGN, template=template, holdout_percent=10, test_percent=20,
        winning_metric=Campaign.Metric.OPEN_RATE, test_hours=4, win_probability=Decimal("0.9"), min_sample=10)
    campaign.include_segments.set([subscribers])
    campaign.exclude_segments.set([recent])
    for label, subject in (("A", "Spring sale: 20% off trail gear"), ("B", "{{ customer.first_name|default:'Hey' }}, "
                                                                        "your trail kit is 20% off this week")):
        CampaignVariant.objects.get_or_create(campaign=campaign, label=label, defaults={"subject": subject})
    muted = io.StringIO()  # the console backend prints every email: keep `manage.py demo` readable
    with contextlib.redirect_stdout(muted), _clock(timezone.now() - timedelta(days=CAMPAIGN_DAYS_AGO)) as clock:
        counts = launch(campaign.pk, now=timezone.now())
        send_due_messages()
        clock.advance(timedelta(hours=2))  # the test share opens and clicks in the two hours after the send
        record_events(store, _engagement_events(campaign, timezone.now(), ab_test=True))
        decided = decide_tests(timezone.now())
        if Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.TESTING).exists():
            # no early winner (a small demo: too few per variant): the test runs its hours, the best one wins
            clock.advance(timedelta(hours=campaign.test_hours))
            decided = decide_tests(timezone.now())
        send_due_messages()
        clock.advance(timedelta(hours=3))
        record_events(store, _engagement_events(campaign, timezone.now(), ab_test=False))
        # Orders the next day (still days before the real now): the report shows revenue and lift at once.
        record_events(store, _order_events(campaign, timezone.now()))
        clock.advance(timedelta(days=1, hours=1))
        finish_sent(timezone.now())
    campaign.refresh_from_db()
    return {"campaign": campaign.pk, **counts, "winner": campaign.winner, "reason": campaign.winner_reason,
            "rest_queued": decided["queued"], "status": campaign.status}
