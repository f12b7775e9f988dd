"""The email-provider screen in a real browser, as a store owner uses it: a credential that points inside
is refused with a reason on the form, and a failed test email says so without the provider's answer."""

from __future__ import annotations

import responses

from campaigns.models import EmailProvider
from tests import browser

pytestmark = browser.marks


def test_an_owner_sees_why_a_provider_is_refused_and_a_plain_test_failure(admin_browser, make_store, make_user):
    store = make_store(name="Linen & Co", platform="woocommerce", url="https://linen.example")
    provider = EmailProvider.objects.create(store=store, kind="locmem", from_email="hello@linen.example")
    owner = make_user(store, role="owner")
    owner.email = "owner@linen.example"
    owner.save()
    page = admin_browser(owner)
    page.goto(admin_browser.url(f"/admin/campaigns/emailprovider/{provider.pk}/change/"))
    assert "Files (development)" not in page.inner_text("#id_kind")
    page.select_option("#id_kind", label="Postmark")
    page.fill("#id_credentials", '{"server_token": "pm-token", "api_url": "https://169.254.169.254/latest/"}')
    page.click("input[name=_save]")
    browser.assert_fits(page)
    browser.shot(page, "provider-internal-api-url-refused")
    assert "169.254.169.254 is not a public address" in page.inner_text(".errorlist")
    assert EmailProvider.objects.get(pk=provider.pk).kind == "locmem"

    page.fill("#id_credentials", '{"server_token": "pm-token", "api_url": "https://mail-api.example/"}')
    page.click("input[name=_save]")
    assert EmailProvider.objects.get(pk=provider.pk).kind == "postmark"
    with responses.RequestsMock() as fake:
        fake.post("https://mail-api.example/email", status=500, body="internal: SecretAccessKey=wJalrXUtnFEMI")
        page.goto(admin_browser.url("/admin/campaigns/emailprovider/"))
        page.check("input[name=_selected_action]")
        page.select_option("select[name=action]", label="Send a test email to me")
        page.click("button[name=index]")
    browser.shot(page, "provider-test-email-failed")
    text = page.inner_text(".messagelist")
    assert "did not accept the test email" in text and "SecretAccessKey" not in text
