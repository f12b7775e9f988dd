"""Roles in a real browser: what an owner and a viewer see on the screens roles change."""

from __future__ import annotations

from campaigns.models import EmailTemplate
from shopconnect.timeline.models import Customer
from tests import browser
from tests.conftest import T0

pytestmark = browser.marks


def test_an_owner_edits_the_store_and_its_members_but_not_where_it_lives(admin_browser, make_store, make_user):
    store = make_store(name="Linen & Co", platform="woocommerce", url="https://linen.example")
    page = admin_browser(make_user(store, role="owner"))
    page.goto(admin_browser.url(f"/admin/timeline/store/{store.pk}/change/"))
    text = page.inner_text("#content")
    assert "linen.example" in text and page.locator("#id_domain").count() == 0  # read-only: text, no input
    assert page.locator("#id_name").count() == 1 and "Store membership" in text
    browser.assert_fits(page)
    browser.shot(page, "timeline-store-owner")
    page.fill("#id_name", "Linen and Co")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert "was changed successfully" in page.inner_text("body") and "Linen and Co" in page.inner_text("#content")


def test_a_viewer_reads_templates_without_save_buttons_or_actions(admin_browser, make_store, make_user):
    store = make_store(name="Linen & Co")
    Customer.objects.create(store=store, email="ann@example.com", created_at=T0)
    template = EmailTemplate.objects.create(store=store, name="Welcome", subject="Hi", html="<p>Hi</p>")
    page = admin_browser(make_user(store, role="viewer"))
    page.goto(admin_browser.url("/admin/campaigns/emailtemplate/"))
    text = page.inner_text("#content")
    assert "Welcome" in text and "Add email template" not in text and page.locator("select[name=action]").count() == 0
    page.goto(admin_browser.url(f"/admin/campaigns/emailtemplate/{template.pk}/change/"))
    assert page.locator("input[name=_save]").count() == 0 and "Hi" in page.inner_text("#content")
    browser.assert_fits(page)
    browser.shot(page, "campaigns-template-viewer")
