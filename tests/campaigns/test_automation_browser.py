"""The automation screens in a real browser, as a marketer uses them: frequency caps by engagement (a plain
form, the tier's size, what was saved), a flow's relevance window and email classes, and a campaign whose
A/B test found no winner."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import time_machine
from django.utils import timezone

from campaigns.campaign.launch import launch
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import EmailProvider, EmailTemplate, FrequencyCap, Message
from campaigns.tasks import send_messages
from shopconnect.timeline.canonical import CanonicalEvent
from shopconnect.timeline.record import record_events
from tests import browser

from . import campaign_factory as f
from .conftest import T0

pytestmark = browser.marks


def test_a_marketer_caps_low_engaged_customers_in_a_form(admin_browser, make_store, make_user):
    store = make_store(name="Linen & Co")
    people = f.customers(store, 3)
    record_events(store, [CanonicalEvent(type="email.opened", occurred_at=timezone.now() - timedelta(days=60),
                                         source="email",
                                         dedupe_key=f"open{p.pk}", customer_id=p.pk,
                                         properties={"message_id": "old", "machine": False}) for p in people[:2]])
    page = admin_browser(make_user(store))
    page.goto(admin_browser.url("/admin/"))
    page.click("text=Frequency caps by engagement")
    page.click("text=Add frequency cap by engagement")
    page.select_option("#id_store", label="Linen & Co")
    page.select_option("#id_tier", label="Low engaged (opened in 90 days, not in the last 30)")
    page.fill("#id_per_week", "2")
    browser.assert_fits(page)
    browser.shot(page, "automation-frequency-cap-form")
    page.click("input[name=_save]")
    browser.shot(page, "automation-frequency-caps")
    text = page.inner_text(".messagelist").lower()
    assert "low engaged: 2 per week: applied at send time to the 2 customers now in the segment" in text
    assert FrequencyCap.objects.get(store=store).per_week == 2
    row = page.inner_text("#result_list")
    assert "Low engaged (opened in 90 days, not in the last 30)" in row and "Linen & Co" in row
    browser.assert_fits(page)
    browser.shot(page, "automation-frequency-caps")


def test_a_flow_page_shows_its_relevance_window_and_email_classes(admin_browser, make_store, make_user):
    store = make_store(name="Linen & Co")
    install_prebuilt_flows(store, ["post_purchase"])
    page = admin_browser(make_user(store))
    page.goto(admin_browser.url("/admin/campaigns/flow/"))
    page.click("#result_list a:has-text('Post-purchase')")
    browser.shot(page, "automation-flow-relevance-classes")
    page.click("text=More settings")
    text = page.inner_text("#content-main")
    assert "Relevance window in effect" in text and "24 h (default: 0 min before the first email + 24 h)." in text
    first = page.locator("#flow-canvas .fc-card.fc-send_email select[aria-label='email class']").first
    assert first.evaluate("el => el.options[el.selectedIndex].text") == (
        "Order follow-up (thank-you, shipping, review request)")
    browser.assert_fits(page)
    browser.shot(page, "automation-flow-relevance-classes")


def test_a_campaign_without_evidence_says_no_winner(admin_browser, make_store, make_user):
    store = make_store(name="Linen & Co")
    EmailProvider.objects.create(store=store, kind="locmem", from_email="hello@linen.example")
    template = EmailTemplate.objects.create(store=store, name="Sale", subject="Sale", html="<p>Sale</p>")
    people = f.customers(store, 20)
    c = f.campaign(store, template, [f.segment(store, people)], name="Summer sale", test_percent=50, test_hours=4,
                   min_sample=5, win_probability=Decimal("0.9"),
                   variants=[{"label": "A", "subject": "Sale A"}, {"label": "B", "subject": "Sale B",
                                                                   "is_default": True}])
    with time_machine.travel(T0, tick=False):
        launch(c.pk)
        send_messages()
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        send_messages()
    assert set(Message.objects.filter(campaign=c, ab_test=False).values_list("variant", flat=True)) == {"B"}
    page = admin_browser(make_user(store))
    page.goto(admin_browser.url(f"/admin/campaigns/campaign/{c.pk}/change/"))
    text = page.inner_text("#content-main")
    assert "no winner: not enough data (no opens in any variant); the rest got the default variant B" in text
    assert "B (default: no winner, sent to the rest)" in text and "(winner)" not in text
    browser.assert_fits(page)
    browser.shot(page, "automation-campaign-no-winner")
