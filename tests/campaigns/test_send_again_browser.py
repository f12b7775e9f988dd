"""In a real browser: a message in doubt is found with the state filter, sent again after a confirmation
that says it may arrive twice; the owner sees a failing provider's alert on the start page (screenshots)."""

from __future__ import annotations

from django.utils import timezone

from campaigns.models import EmailProvider, Message
from campaigns.outbox import enqueue
from tests import browser

pytestmark = browser.marks


def test_a_marketer_finds_a_message_in_doubt_and_sends_it_again(admin_browser, make_user, shop, subscribe,
                                                                template):
    enqueue([Message(store=shop, customer=subscribe(shop, f"c{i}@example.com"), template=template,
                     idempotency_key=f"k{i}") for i in range(3)])
    doubt = Message.objects.order_by("id").first()
    Message.objects.filter(pk=doubt.pk).update(state="unknown", subject="Spring sale",
                                               note="unknown: worker stopped during send")
    page = admin_browser(make_user(shop))
    page.goto(admin_browser.url("/admin/campaigns/message/"))
    page.get_by_role("link", name="In doubt", exact=True).click()
    page.wait_for_url("**state__exact=unknown**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1 and "c0@example.com" in rows.first.inner_text()
    browser.shot(page, "messages-in-doubt")
    page.locator("#result_list tbody input[type=checkbox]").first.check()
    page.select_option("select[name=action]", "send_again")
    page.get_by_role("button", name="Go").click()
    text = page.locator("#content-main").inner_text()
    assert "1 in doubt" in text and "twice" in text and "c0@example.com" in text
    browser.shot(page, "send-again-confirm")
    browser.assert_fits(page)
    page.get_by_role("button", name="Yes, send 1 again").click()
    assert "1 message queued to be sent again" in page.locator(".messagelist").inner_text()
    doubt.refresh_from_db()
    assert doubt.state == "queued"


def test_the_owner_sees_that_the_provider_cannot_send(admin_browser, make_user, shop):
    EmailProvider.objects.filter(store=shop).update(
        kind="postmark", problem="the provider refused the credentials (HTTP 401 Unauthorized)",
        problem_at=timezone.now())
    page = admin_browser(make_user(shop, role="owner"))
    page.goto(admin_browser.url("/admin/"))
    card = page.locator(f"#store-{shop.pk}").inner_text()
    assert "Postmark cannot send: the provider refused the credentials (HTTP 401 Unauthorized)" in card
    browser.shot(page, "start-provider-alert")
    page.get_by_role("link", name="Open the provider").click()
    assert "cannot send" in page.locator(".messagelist").inner_text()
    browser.shot(page, "provider-alert")
