"""The template editor in a real browser: preview for a customer found by search, then a test to me."""

from __future__ import annotations

from django.core import mail

from campaigns.models import EmailProvider, EmailTemplate
from shopconnect.timeline.models import Customer
from tests import browser

pytestmark = browser.marks


def test_preview_for_a_searched_customer_and_send_a_test(admin_browser, make_user, demo_store):
    EmailProvider.objects.filter(store=demo_store).update(kind=EmailProvider.Kind.LOCMEM)
    template = EmailTemplate.objects.get(store=demo_store, name="Abandoned cart: Reminder")
    # the newest customers come first in lists: pick the oldest one, whom no "latest 200" list would hold
    customer = Customer.objects.filter(store=demo_store, first_name__gt="").order_by("id").first()
    user = make_user(demo_store)
    user.email = "marketer@demo-outdoor.example"
    user.save()
    page = admin_browser(user)
    page.goto(admin_browser.url(f"/admin/campaigns/emailtemplate/{template.pk}/change/"))
    page.fill("#editor-customer-search", customer.email.split("@")[0])
    page.locator("#editor-customer-results li", has_text=customer.email).click()
    page.wait_for_selector(f"#editor-status:has-text('Previewing as {customer.first_name}')")
    assert page.inner_text("#editor-subject") == "You left something in your cart"
    frame = page.frame_locator("#editor-frame")
    assert f"Hi {customer.first_name}" in frame.locator("body").inner_text()

    # the source changes: the preview follows; the variable menu says what each variable holds
    page.locator("#id_subject").fill("{{ customer.first_name }}, your cart misses you")
    page.wait_for_selector(f"#editor-subject:has-text('{customer.first_name}, your cart misses you')")
    page.click("#insert-variable summary")
    row = page.locator("#variable-list tr", has_text="customer.engagement_tier")
    assert row.count() == 1
    # the cursor where a marketer puts it: in the body, before the greeting
    page.eval_on_selector("#id_html", "a => { const i = a.value.indexOf('<p>Hi'); a.focus(); "
                                      "a.setSelectionRange(i, i); }")
    page.locator("#variable-list tr", has_text="customer.email").first.get_by_role("button").click()
    assert "{{ customer.email }}" in page.input_value("#id_html")
    page.frame_locator("#editor-frame").get_by_text(customer.email).wait_for()
    page.click("[data-width=mobile]")
    assert page.eval_on_selector("#editor-frame", "f => f.getBoundingClientRect().width") <= 380
    browser.assert_fits(page)
    browser.shot(page, "template-editor")

    page.click("#editor-send-test")
    page.wait_for_selector("#editor-status:has-text('Test sent to marketer@demo-outdoor.example')")
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["marketer@demo-outdoor.example"]
    assert sent.subject == f"[Test] {customer.first_name}, your cart misses you"
    html = sent.alternatives[0][0]
    assert customer.email in html  # the inserted variable, rendered for the previewed customer
    assert "/u/preview-only-not-a-real-link/" in html  # no working unsubscribe link in a test
    template.refresh_from_db()
    assert template.subject == "You left something in your cart"  # a preview saves nothing


def test_old_preview_link_opens_the_editor_with_that_customer(admin_browser, make_user, demo_store):
    template = EmailTemplate.objects.get(store=demo_store, name="Abandoned cart: Reminder")
    customer = Customer.objects.filter(store=demo_store, first_name__gt="").order_by("id").first()
    page = admin_browser(make_user(demo_store))
    page.goto(admin_browser.url(f"/admin/campaigns/emailtemplate/{template.pk}/preview/?customer={customer.pk}"))
    page.wait_for_selector(f"#editor-status:has-text('Previewing as {customer.first_name}')")
    assert customer.email in page.input_value("#editor-customer-search")
