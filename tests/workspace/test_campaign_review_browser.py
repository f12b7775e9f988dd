"""Launching a campaign through the review step, then pausing and cancelling it from its page."""

from __future__ import annotations

from campaigns.campaign.audience import preview
from campaigns.models import Campaign, CampaignVariant, EmailTemplate, Message
from segments.models import Segment
from tests import browser

pytestmark = browser.marks


def test_review_then_confirm_then_pause_and_cancel(admin_browser, make_user, demo_store):
    template = EmailTemplate.objects.get(store=demo_store, name="Spring sale")
    campaign = Campaign.objects.create(store=demo_store, name="Autumn boots", template=template, holdout_percent=10,
                                       test_percent=50, min_sample=100, send_mode=Campaign.SendMode.NOW)
    campaign.include_segments.set([Segment.objects.get(store=demo_store, name="Email subscribers")])
    campaign.exclude_segments.set([Segment.objects.get(store=demo_store, name="Recent purchasers")])
    CampaignVariant.objects.create(campaign=campaign, label="A", subject="Boots for autumn")
    CampaignVariant.objects.create(campaign=campaign, label="B", subject="Your feet will thank you",
                                   from_name="Lena at Demo Outdoor")
    expected = preview(campaign)
    page = admin_browser(make_user(demo_store))
    page.goto(admin_browser.url(f"/admin/campaigns/campaign/{campaign.pk}/change/"))
    browser.assert_fits(page)
    browser.shot(page, "campaign-draft")
    page.get_by_role("link", name="Review and launch").click()
    assert page.inner_text("#review-audience") == str(expected.size)
    assert page.inner_text("#review-reachable") == str(expected.reachable)
    text = page.inner_text("#content-main")
    assert "Your feet will thank you" in text and "Lena at Demo Outdoor <hello@demo-outdoor.example>" in text
    assert "The minimum sample cannot be reached" in text  # about a dozen per variant, minimum 100
    assert "Recent purchasers" in text
    assert Message.objects.filter(campaign=campaign).count() == 0  # nothing happens before the confirm
    browser.assert_fits(page)
    browser.shot(page, "campaign-review")
    page.get_by_role("button", name=f"Confirm and launch to {expected.reachable} reachable customers").click()
    assert "is launching" in page.inner_text(".messagelist")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.TESTING
    assert Message.objects.filter(campaign=campaign).count() > 0

    page.get_by_role("link", name="Pause").click()
    page.get_by_role("button", name="Yes, pause “Autumn boots”").click()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert "is paused" in page.inner_text(".messagelist")
    page.get_by_role("link", name="Cancel sending").click()
    page.get_by_role("button", name="Yes, cancel “Autumn boots”").click()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    assert not Message.objects.filter(campaign=campaign, state=Message.State.QUEUED).exists()
    browser.shot(page, "campaign-cancelled")
