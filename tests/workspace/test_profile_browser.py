"""Reading a customer's messages from their profile, with the copy that was sent."""

from __future__ import annotations

from campaigns.models import Message, SentCopy
from tests import browser

pytestmark = browser.marks


def test_read_a_customers_messages_and_the_copy_sent(admin_browser, make_user, demo_store):
    sent = Message.objects.filter(store=demo_store, state=Message.State.SENT, campaign__isnull=False).first()
    customer = sent.customer
    assert SentCopy.objects.filter(message=sent).exists()
    page = admin_browser(make_user(demo_store))
    page.goto(admin_browser.url("/admin/timeline/customer/"))
    page.fill("#searchbar", f"{customer.first_name} {customer.last_name}")
    page.press("#searchbar", "Enter")
    page.get_by_role("link", name=customer.email).click()
    # the activity timeline comes first, with filters by kind
    assert page.locator(".profile-tabs a.active").inner_text() == "Activity"
    page.locator(".profile-chip", has_text="Email").click()
    page.wait_for_url("**kind=email**")
    kinds = set(page.locator("#timeline .kind-tag").all_inner_texts())
    assert kinds == {"Email"}
    browser.assert_fits(page)
    browser.shot(page, "customer-profile-activity")
    page.locator(".profile-tabs a", has_text="Messages").click()
    page.wait_for_url("**tab=messages**")
    row = page.locator("#messages tr", has_text=sent.subject).first
    assert "Sent" in row.inner_text() and sent.campaign.name in row.inner_text()
    browser.assert_fits(page)
    browser.shot(page, "customer-profile-messages")
    row.get_by_role("link", name="Read the copy sent").click()
    assert sent.subject in page.inner_text(".sent-copy")
    body = page.frame_locator(".sent-copy iframe").locator("body").inner_text()
    assert "20% off" in body
    browser.shot(page, "message-copy")
    # consent is shown, not edited, on the profile
    page.goto(admin_browser.url(f"/admin/timeline/customer/{customer.pk}/change/?tab=edit"))
    assert page.locator("select#id_email_consent").count() == 0
    page.goto(admin_browser.url(f"/admin/timeline/customer/{customer.pk}/change/?tab=consent"))
    assert page.inner_text("#consent-state") == "Subscribed"  # the consent ledger's panel, with its history
    assert "Shopify" in page.inner_text("#consent .consent-history")
    browser.shot(page, "customer-profile-consent")
