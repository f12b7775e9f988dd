"""The demo campaign: launched, tested, a winner picked early and sent to the rest; run twice, once."""

from __future__ import annotations

from decimal import Decimal

from django.core import mail

from campaigns.demo import install_demo_campaign
from campaigns.models import Campaign, Message
from campaigns.reports.dashboard import campaign_report
from shopconnect.timeline.models import Event

from . import campaign_factory as f


def test_demo_campaign_picks_a_winner_and_sends_it_to_the_rest(shop):
    people = f.customers(shop, 150)
    result = install_demo_campaign(shop)
    campaign = Campaign.objects.get(pk=result["campaign"])
    assert result["audience"] == 150 and campaign.status == "sent"
    assert campaign.winner == "B" and "win probability" in campaign.winner_reason
    rest = Message.objects.filter(campaign=campaign, ab_test=False).exclude(variant="holdout")
    assert rest.count() == 150 - result["holdout"] - result["test"] > 0
    assert set(rest.values_list("variant", "state")) == {("B", "sent")}
    by_email = {p.email: p for p in people}
    for row in rest.select_related("customer")[:5]:
        sent = [m for m in mail.outbox if m.to == [row.customer.email]]
        assert [m.subject for m in sent] == [f"{by_email[row.customer.email].first_name}, your trail kit is 20% off "
                                             "this week"]
    held = set(Message.objects.filter(campaign=campaign, variant="holdout", state="skipped")
               .values_list("customer__email", flat=True))
    assert len(held) == result["holdout"] > 0 and not held & {m.to[0] for m in mail.outbox}
    orders = Event.objects.filter(store=shop, type="order.placed", order_ref__startswith="demo-campaign-")
    assert orders.filter(customer__email__in=held).exists() and orders.exclude(customer__email__in=held).exists()
    # The campaign report: attributed revenue, and recipients ahead of the holdout.
    report = campaign_report(campaign)
    assert Decimal(report["totals"]["revenue"]) > 0 and report["totals"]["conversions"] > 0
    lift = report["holdout_lift"]
    assert lift["revenue_per_recipient"]["difference"] > 0 and lift["conversion_rate"]["difference"] > 0
    counts = (Message.objects.count(), Event.objects.count(), len(mail.outbox))
    assert install_demo_campaign(shop)["campaign"] == campaign.pk
    assert (Message.objects.count(), Event.objects.count(), len(mail.outbox)) == counts
