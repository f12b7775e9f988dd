"""The admin: predictions explained on the customer page, and the store-level distribution page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from segments.predictions.models import CustomerPrediction
from segments.predictions.refit import refit_store

from .helpers import at_day, record_orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def predicted(store):
    record_orders(
        store, {"a@example.com": [(0, 20), (30, 20), (60, 20), (90, 20)], "b@example.com": [(200, 50)]}
    )
    refit_store(store.id, now=at_day(210))
    return CustomerPrediction.objects.get(customer__email="a@example.com")


def test_customer_page_shows_the_predictions_in_plain_words(client, store, make_user, predicted):
    client.force_login(make_user(store))
    page = client.get(reverse("admin:timeline_customer_change", args=[predicted.customer_id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Last ordered 120 days ago; usually orders every 30 days (4 orders)." in html
    assert "low confidence: no probability estimated" in html and "Predicted lifetime value" in html
    assert "R3 F5 M5: loyal" in html
    assert html.index("Activity") < html.index("Aggregates") < html.rindex("Last ordered 120 days ago")
    assert html.index("Prediction:") < html.index("Activity")  # the explanation heads the profile too
    assert reverse("admin:predictions_store", args=[store.id]) in html


def test_another_stores_customer_is_not_shown(client, store, make_store, make_user, predicted):
    client.force_login(make_user(make_store()))
    page = client.get(reverse("admin:timeline_customer_change", args=[predicted.customer_id]))
    # Another store's customer answers exactly like a missing one: 404, nothing of it shown.
    assert page.status_code == 404
    assert "Last ordered 120 days ago" not in page.content.decode()


def test_store_page_shows_the_distribution(client, store, make_user, predicted):
    client.force_login(make_user(store))
    page = client.get(reverse("admin:predictions_store", args=[store.id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Heuristic (not enough history)" in html and "2 customers with orders" in html
    bands = {row["label"]: row["count"] for row in page.context["bands"]}
    assert bands == {"low": 1, "medium": 0, "high": 1, "not estimated": 0}
    groups = {row["label"]: row["count"] for row in page.context["groups"] if row["count"]}
    assert sum(groups.values()) == 2
    assert page.context["not_estimated"] == 2  # heuristic: no numeric churn risk


def test_store_page_is_404_for_another_store(client, store, make_store, make_user, predicted):
    client.force_login(make_user(make_store()))
    assert client.get(reverse("admin:predictions_store", args=[store.id])).status_code == 404
