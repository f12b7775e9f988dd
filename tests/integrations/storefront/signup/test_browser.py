"""In Chromium: a WooCommerce visitor subscribes through a double opt-in popup, gets the confirmation
email (locmem), follows its link, is subscribed, and the welcome flow sends; a marketer designs the form.

Needs Debian's ``chromium`` and the ``playwright`` package (no browser download).
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import connections
from django.test import override_settings

from campaigns.flows.engine import advance_due_enrollments
from campaigns.flows.prebuilt import install_prebuilt_flows
from campaigns.models import EmailProvider, Enrollment
from campaigns.sender import send_due_messages
from integrations.storefront.signup.models import FormDay, SignupForm, SignupSettings
from shopconnect.timeline.consent import history
from shopconnect.timeline.models import Customer, StoreMembership
from tests import browser

pytestmark = browser.marks


def _confirm_link(message) -> str:
    html = next(content for content, kind in message.alternatives if kind == "text/html")
    return re.search(r'href="([^"]+)"', html).group(1)


@pytest.mark.urls("tests.integrations.storefront.signup.browser_urls")
def test_a_woocommerce_visitor_subscribes_by_double_opt_in_and_gets_the_welcome_flow(
        admin_browser, make_store):
    mail.outbox = []
    store = make_store(platform="woocommerce", url="https://linen.example", name="Linen & Co")
    EmailProvider.objects.create(store=store, kind=EmailProvider.Kind.LOCMEM, from_email="hi@linen.example",
                                 smart_sending_hours=0)
    SignupSettings.objects.create(store=store, opt_in=SignupSettings.OptIn.DOUBLE)
    form = SignupForm.objects.create(store=store, name="Welcome popup", kind="popup", enabled=True, delay_seconds=1,
                                     fields=["first_name"], headline="Join Linen & Co",
                                     success_text="Check your inbox to confirm.")
    (welcome,) = install_prebuilt_flows(store, ["welcome"], enable=("welcome",))
    live = admin_browser.live_server.url
    page_url = live.replace("localhost", "127.0.0.1") + f"/test-shop/{store.collect_key}/{form.pk}/product/linen-shirt/"
    with override_settings(PUBLIC_BASE_URL=live, SIGNUP_MIN_FILL_SECONDS=1):
        page = admin_browser.browser.new_page(viewport=browser.VIEWPORT)
        page.goto(page_url)
        page.wait_for_selector(".sc-popup .sc-form", timeout=10_000)  # after the 1 s delay
        assert page.locator(".sc-popup h2").inner_text() == "Join Linen & Co"
        page.fill(".sc-popup input[name=first_name]", "Mia")
        page.fill(".sc-popup input[name=email]", "mia@example.com")
        page.wait_for_timeout(1100)  # a person takes a moment; the server refuses faster submissions as bots
        browser.shot(page, "signup-popup-filled")
        with page.expect_response(lambda r: r.url.endswith("/submit")) as answer:
            page.click(".sc-popup button[type=submit]")
        assert answer.value.status == 202
        page.wait_for_selector("text=Check your inbox to confirm.")
        browser.shot(page, "signup-popup-thanks")
        customer = Customer.objects.get(store=store, email="mia@example.com")
        assert customer.email_consent == "pending"

        send_due_messages()
        (confirmation,) = mail.outbox
        assert confirmation.to == ["mia@example.com"] and "confirm" in confirmation.subject.lower()
        page.goto(_confirm_link(confirmation).replace("https://shopconnect.test", live))
        page.click("#confirm")
        page.wait_for_selector("text=You are subscribed")
        browser.shot(page, "signup-confirmed")
        customer.refresh_from_db()
        assert customer.email_consent == "subscribed" and customer.first_name == "Mia"
        assert history(customer).first().properties["source"] == "double_opt_in"

        # The popup never comes back for someone who signed up.
        page.goto(page_url, wait_until="networkidle")
        page.wait_for_timeout(1500)  # longer than the popup's delay
        assert page.locator(".sc-popup").count() == 0
        page.close()
    connections.close_all()
    assert Enrollment.objects.filter(flow=welcome, customer=customer).exists()
    advance_due_enrollments()
    send_due_messages()
    assert [m.subject for m in mail.outbox[1:]] == ["Welcome to Linen & Co"]
    assert FormDay.objects.get(form=form).submissions == 1


def test_a_marketer_designs_a_popup_with_a_live_preview(admin_browser, make_store, make_user):
    store = make_store(platform="woocommerce", name="Linen & Co")
    marketer = make_user(store)
    from django.contrib.auth.models import Permission

    marketer.user_permissions.add(*Permission.objects.filter(content_type__app_label="signup"))
    page = admin_browser(marketer)
    page.goto(admin_browser.url("/admin/signup/signupform/add/"))
    page.select_option("#id_store", str(store.pk))
    page.fill("#id_name", "Spring popup")
    page.fill("#id_headline", "10% off your first linen shirt")
    page.check("input[name=fields][value=first_name]")
    page.fill("#id_button_label", "Send me the code")
    preview = page.locator("#sc-preview")
    assert preview.locator("h2").inner_text() == "10% off your first linen shirt"
    assert preview.locator("input[name=first_name]").count() == 1
    assert preview.locator("button[type=submit]").inner_text() == "Send me the code"
    page.fill("#id_scroll_percent", "50")
    page.locator("#id_scroll_percent").dispatch_event("input")
    assert "scrolled 50% down" in page.locator("#sc-when").inner_text()
    page.evaluate("document.getElementById('id_button_colour').value = '#aa3300'; "
                  "document.getElementById('id_button_colour').dispatchEvent(new Event('input', {bubbles: true}))")
    colour = preview.locator("button[type=submit]").evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(170, 51, 0)"
    browser.assert_fits(page)
    browser.shot(page, "signup-designer")
    page.check("#id_enabled")
    page.click("input[name=_save]")
    page.wait_for_selector("text=was added successfully")
    assert "Spring popup" in page.locator("#result_list").inner_text()
    last = page.locator("#result_list thead th").last.bounding_box()
    visible = page.locator("#changelist .results").bounding_box()
    assert "CONVERSION" in page.locator("#result_list thead").inner_text().upper()
    assert last["x"] + last["width"] <= visible["x"] + visible["width"]  # no column scrolled out of sight
    browser.assert_fits(page)
    browser.shot(page, "signup-form-list")
    saved = SignupForm.objects.get(name="Spring popup")
    assert saved.enabled and saved.fields == ["first_name"] and saved.button_colour == "#aa3300"
    assert saved.scroll_percent == 50


def test_a_consent_change_in_the_admin_appears_in_the_ledger(admin_browser, make_store, make_user, make_event):
    from shopconnect.timeline.record import record_events

    store = make_store(platform="woocommerce", name="Linen & Co")
    record_events(store, [make_event("consent.changed", email="rosa@example.com", source="woocommerce",
                                     properties={"channel": "email", "state": "subscribed", "source": "woocommerce"})])
    rosa = Customer.objects.get(email="rosa@example.com")
    marketer = make_user(store)
    StoreMembership.objects.filter(user=marketer).update(role="marketer")
    page = admin_browser(marketer)
    page.goto(admin_browser.url(f"/admin/timeline/customer/{rosa.pk}/change/"))
    assert page.locator("#consent-state").inner_text() == "Subscribed"
    page.click("#change-consent")
    page.check("input[name=state][value=unsubscribed]")
    page.fill("#id_reason", "Asked us by phone to stop")
    browser.assert_fits(page)
    page.click("input[type=submit]")
    page.wait_for_selector("text=recorded in the consent history")
    assert page.locator("#consent-state").inner_text() == "Unsubscribed"
    first_row = page.locator("#consent table.consent-history tbody tr").first.inner_text()
    assert "Admin (staff user)" in first_row and "Asked us by phone to stop" in first_row
    assert marketer.username in first_row
    browser.shot(page, "customer-consent-ledger")


@pytest.mark.urls("tests.integrations.storefront.signup.browser_urls")
def test_a_visitor_asks_to_be_told_when_a_sold_out_product_is_back(admin_browser, make_store):
    from decimal import Decimal

    from integrations.storefront.signup.models import StockRequest
    from shopconnect.timeline.canonical import ProductRecord
    from shopconnect.timeline.catalog import upsert_products

    store = make_store(platform="woocommerce", url="https://linen.example", name="Linen & Co")
    SignupSettings.objects.create(store=store, opt_in=SignupSettings.OptIn.SINGLE)
    upsert_products(store, [ProductRecord(external_id="93", title="Linen Shirt", price=Decimal("27.40"), inventory=0,
                                          variants=[{"variant_id": "", "title": "", "sku": "LS", "available": False}])])
    live = admin_browser.live_server.url
    with override_settings(PUBLIC_BASE_URL=live):
        page = admin_browser.browser.new_page(viewport=browser.VIEWPORT)
        page.goto(live.replace("localhost", "127.0.0.1") + f"/test-shop/{store.collect_key}/product/sold-out/")
        form = page.wait_for_selector("#sc-back-in-stock form", timeout=10_000)
        assert "Sold out. Get an email when it is back." in page.locator("#sc-back-in-stock").inner_text()
        page.fill("#sc-back-in-stock input[name=email]", "mia@example.com")
        with page.expect_response(lambda r: r.url.endswith("/back-in-stock/")) as refused:
            page.click("#sc-back-in-stock button[type=submit]")
        assert refused.value.status == 400
        page.wait_for_selector("text=Tick the box to get the email.")
        page.check("#sc-back-in-stock input[name=consent]")
        browser.shot(page, "back-in-stock-form")
        with page.expect_response(lambda r: r.url.endswith("/back-in-stock/")) as answer:
            form.query_selector("button[type=submit]").click()
        assert answer.value.status == 202
        page.wait_for_selector("text=Thanks! We will email you when it is back.")
        browser.shot(page, "back-in-stock-thanks")
        page.close()
    connections.close_all()
    (request,) = StockRequest.objects.all()
    assert (request.email, request.product_id, request.notified_at) == ("mia@example.com", "93", None)
    customer = Customer.objects.get(store=store, email="mia@example.com")
    assert customer.email_consent == "subscribed"
    assert history(customer).first().properties["evidence"]["kind"] == "back_in_stock"
