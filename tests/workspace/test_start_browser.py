"""The start page in a real browser: per store what is set up and missing, the numbers, the navigation."""

from __future__ import annotations

from campaigns.flows.prebuilt import PREBUILT
from campaigns.reports.dashboard import revenue_by_source
from campaigns.reports.kpis import DateRange
from tests import browser

pytestmark = browser.marks


def test_start_page_shows_setup_numbers_and_grouped_navigation(admin_browser, make_user, demo_store):
    page = admin_browser(make_user(demo_store))
    page.goto(admin_browser.url("/admin/"))
    browser.shot(page, "start-page")
    card = page.locator(f"#store-{demo_store.pk}")
    text = card.inner_text()
    assert "Store connected" in text and "Email provider" in text and "Storefront script" in text
    assert "Console (development)" in text  # the demo's provider prints mail: flagged as missing
    assert f"2 of {len(PREBUILT)} flows enabled" in text  # every prebuilt flow, two of them on
    split = revenue_by_source(demo_store.pk, DateRange.last(30, zone=demo_store.timezone))
    assert split["total"] > 0
    assert card.get_by_test_id("revenue-total").inner_text() == f"USD {split['total']:,.2f}"
    headings = [h.title() for h in page.locator("#content-main .module caption").all_inner_texts()]
    assert headings[:4] == ["Audience", "Messages", "Reports", "Settings"] and headings[-1] == "System"
    system = page.locator(".app-system").inner_text()
    assert "Webhook deliveries" in system and "Events" in system
    assert "Customers" not in system
    assert page.locator("#user-tools").get_by_text("View site").count() == 0
    browser.assert_fits(page)
