"""In Chromium: a marketer sets up a unique discount code in the template editor (fields, no JSON); the live
preview shows a sample code; saving stores the settings."""

from __future__ import annotations

from django.utils import timezone

from campaigns.models import EmailTemplate
from shopconnect.timeline.models import Customer
from tests import browser

pytestmark = browser.marks


def test_a_marketer_gives_each_recipient_a_unique_code_in_the_editor(admin_browser, make_store, make_user):
    store = make_store(platform="shopify", name="Zoe", currency="EUR")
    Customer.objects.create(store=store, email="ana@example.com", first_name="Ana", created_at=timezone.now())
    template = EmailTemplate.objects.create(
        store=store, name="Cart incentive", subject="A little something, {{ customer.first_name }}",
        html="<html><body><p>Hi {{ customer.first_name }}</p><p>Use code {{ discount_code }}</p></body></html>")
    page = admin_browser(make_user(store))
    page.goto(admin_browser.url(f"/admin/campaigns/emailtemplate/{template.pk}/change/?customer="
                                f"{Customer.objects.get().pk}"))
    frame = page.frame_locator("#editor-frame")
    frame.get_by_text("Hi Ana").wait_for()
    page.check("#id_unique_code")
    page.fill("#id_code_prefix", "thanks")
    page.locator("#id_code_prefix").dispatch_event("input")
    frame.get_by_text("Use code THANKS-SAMPLE42").wait_for()  # a sample: real codes are made at send time
    page.select_option("#id_code_discount_type", "fixed_amount")
    page.fill("#id_code_value", "10")
    page.fill("#id_code_valid_days", "7")
    page.fill("#id_code_minimum_order", "50")
    page.locator("fieldset", has_text="Unique discount code").scroll_into_view_if_needed()
    browser.assert_fits(page)
    browser.shot(page, "template-editor-unique-code")
    page.click("input[name=_save]")
    page.wait_for_selector("text=was changed successfully")
    template.refresh_from_db()
    assert (template.unique_code, template.code_discount_type, template.code_value, template.code_valid_days,
            template.code_minimum_order, template.code_once_per_customer, template.code_prefix) == (
        True, "fixed_amount", 10, 7, 50, True, "THANKS")
