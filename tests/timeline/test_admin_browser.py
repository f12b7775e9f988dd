"""The admin in a real browser: a store member sees their own customers, never another store's."""

from __future__ import annotations

from shopconnect.timeline.models import Customer
from tests import browser
from tests.conftest import T0

pytestmark = browser.marks


def test_a_member_sees_only_their_stores_customers(admin_browser, make_store, make_user):
    mine, theirs = make_store(name="Linen & Co"), make_store(name="Other Shop")
    Customer.objects.create(store=mine, email="ann@example.com", first_name="Ann", last_name="Lee", created_at=T0)
    Customer.objects.create(store=theirs, email="bob@example.com", first_name="Bob", last_name="Stone", created_at=T0)
    page = admin_browser(make_user(mine))
    page.goto(admin_browser.url("/admin/timeline/customer/"))
    text = page.inner_text("#content")
    assert "ann@example.com" in text and "bob@example.com" not in text
    browser.assert_fits(page)
    browser.shot(page, "timeline-customers-member")
