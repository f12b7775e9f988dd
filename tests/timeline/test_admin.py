"""The admin: tenancy, the customer timeline, write-only secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shopconnect.timeline.models import Customer, Store
from shopconnect.timeline.record import record_events

from ..conftest import order

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(make_store, make_user, make_event):
    mine = make_store(name="Mine", access_token="shpat_0123456789abcdef0123456789abcdef")
    theirs = make_store(name="Theirs")
    record_events(mine, [order(make_event, "me@x.io", "1001", "40.00")] + [
        make_event("product.viewed", at=timedelta(minutes=i + 1), email="me@x.io",
                   properties={"title": f"Boot {i}"}) for i in range(30)
    ])
    record_events(theirs, [order(make_event, "other@x.io", "2", "10.00")])
    return mine, theirs, make_user(mine)


def test_marketer_sees_only_its_stores_customers(client, setup):
    mine, theirs, user = setup
    client.force_login(user)
    listing = client.get("/admin/timeline/customer/")
    assert listing.status_code == 200
    assert b"me@x.io" in listing.content and b"other@x.io" not in listing.content
    other = Customer.objects.get(store=theirs)
    assert client.get(f"/admin/timeline/customer/{other.pk}/change/").status_code == 404
    assert client.get(f"/admin/timeline/store/{theirs.pk}/change/").status_code == 404
    stores = client.get("/admin/timeline/store/")
    assert b"Mine" in stores.content and b"Theirs" not in stores.content


def test_customer_page_shows_a_readable_paginated_timeline(client, setup):
    mine, _, user = setup
    client.force_login(user)
    customer = Customer.objects.get(store=mine)
    page = client.get(f"/admin/timeline/customer/{customer.pk}/change/")
    text = page.content.decode()
    assert "All (31)" in text and "Orders (1)" in text
    assert "Viewed product Boot 29" in text and "page 1 of 2" in text
    older = client.get(f"/admin/timeline/customer/{customer.pk}/change/?timeline_page=2").content.decode()
    assert "Placed order #1001 for 40.00" in older


def test_event_list_filters_by_type(client, setup):
    _, _, user = setup
    client.force_login(user)
    page = client.get("/admin/timeline/event/?type__exact=order.placed").content.decode()
    assert "Placed order #1001" in page and "Viewed product" not in page


def test_secrets_are_write_only_and_encrypted_at_rest(client, setup, admin_user):
    mine, _, _ = setup
    client.force_login(admin_user)
    page = client.get(f"/admin/timeline/store/{mine.pk}/change/").content.decode()
    assert "shpat_0123456789abcdef" not in page and "Stored (leave empty to keep)." in page
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM timeline_store WHERE id = %s", [mine.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("fernet:") and "shpat_" not in raw
    # saving the form with the secret left empty keeps it
    form = client.get(f"/admin/timeline/store/{mine.pk}/change/").context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("members",)}
    data.update({"access_token": "", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    data["status"] = "active"
    response = client.post(f"/admin/timeline/store/{mine.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    assert Store.objects.get(pk=mine.pk).access_token == "shpat_0123456789abcdef0123456789abcdef"
