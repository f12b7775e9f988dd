"""The flow canvas in a real browser, as a marketer uses it: prebuilt flows drawn as cards, and the
two-email abandoned-cart flow built without typing JSON, turned on, and entered by a signed Shopify
checkout webhook sent over real HTTP to the live server."""

from __future__ import annotations

from campaigns.flows.prebuilt import install_prebuilt_flows
from tests import browser

pytestmark = browser.marks


def _open(page, admin_browser, flow):
    page.goto(admin_browser.url(f"/admin/campaigns/flow/{flow.pk}/change/"))
    page.wait_for_selector(".fc-card")


def test_prebuilt_browse_abandonment_and_win_back_in_the_canvas(admin_browser, make_store, make_user):
    store = make_store(name="Linen & Co")
    browse, win_back = install_prebuilt_flows(store, ["browse_abandonment", "win_back"])
    page = admin_browser(make_user(store))
    _open(page, admin_browser, browse)
    cards = page.locator("#flow-canvas .fc-card")
    assert cards.count() == 2
    assert cards.nth(0).locator("select[aria-label=unit]").input_value() == "hours"
    assert cards.nth(0).locator("input[aria-label='how long']").input_value() == "2"
    assert "Browse abandonment: Still thinking?" in cards.nth(1).locator("select.fc-template").evaluate(
        "el => el.options[el.selectedIndex].text")
    assert page.locator("#id_trigger_event_type").input_value() == "product.viewed"
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-browse-abandonment")

    _open(page, admin_browser, win_back)
    labels = page.locator(".fc-branch-label").all_inner_texts()
    assert labels == ["If they do", "If not within 90 days"]
    timeout_branch = page.locator(".fc-branch").nth(1)
    assert timeout_branch.locator(".fc-card.fc-send_email").count() == 1  # the email is on the timeout side
    browser.assert_fits(page)
    browser.shot(page, "flow-canvas-win-back")
