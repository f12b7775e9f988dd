"""The marketer's editor in the Django admin, through the test client."""

from __future__ import annotations

import json

import pytest
import time_machine

from segments.models import Segment, SegmentChange
from segments.templates import BY_KEY

from .fixtures import NOW, build


@pytest.fixture
def shop(store):
    with time_machine.travel(NOW, tick=False):
        build(store)
    return store


@pytest.fixture
def marketer(shop, make_user, client):
    user = make_user(shop)
    client.force_login(user)
    return user


def _post(client, definition, shop, name="Boots fans", **extra):
    return client.post(
        "/admin/segments/segment/add/",
        {
            "store": shop.pk,
            "name": name,
            "description": "People who love boots",
            "definition": json.dumps(definition),
            "is_active": "on",
            **extra,
        },
    )


def test_invalid_definition_shows_where_and_why(client, shop, marketer):
    bad = {
        "type": "and",
        "rules": [
            {
                "type": "performed",
                "event": "product.viewed",
                "where": [{"property": "colour", "op": "eq", "value": "red"}],
            }
        ],
    }
    answer = _post(client, bad, shop)
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "$.rules[0].where[0].property" in text and "is not a property of product.viewed" in text
    assert not Segment.objects.exists()


def test_save_logs_who_changed_it_and_warns_when_tiny(
    client, shop, marketer, django_capture_on_commit_callbacks
):
    good = {
        "type": "performed",
        "event": "product.viewed",
        "count": {"op": "gte", "value": 3},
        "where": [{"property": "category", "op": "eq", "value": "boots"}],
    }
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        answer = _post(client, good, shop)
    assert answer.status_code == 302
    segment = Segment.objects.get()
    assert segment.created_by == marketer and segment.changes.get().user == marketer
    page = client.get(f"/admin/segments/segment/{segment.pk}/change/", follow=True).content.decode()
    assert "too small to learn from" in page  # the warning from the save, shown after the redirect
    assert "has done “Viewed product” where category is &#x27;boots&#x27; at least 3 times" in page
    assert "frank" in page  # the member list (frank viewed boots three times)
    assert SegmentChange.objects.count() == 1


def test_live_preview(client, shop, marketer):
    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            "/admin/segments/segment/preview/",
            json.dumps({"store": shop.pk, "definition": BY_KEY["repeat_customers"].definition}),
            content_type="application/json",
        )
    body = answer.json()
    assert (
        answer.status_code == 200 and body["count"] == 1 and body["rule_text"] == "number of orders is at least 2"
    )
    bad = client.post(
        "/admin/segments/segment/preview/",
        json.dumps(
            {"store": shop.pk, "definition": {"type": "percentile", "field": "total_spent", "percent": 0}}
        ),
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["where"] == "$.percent"


def test_template_picker_creates_and_fills(client, shop, marketer):
    page = client.get("/admin/segments/segment/templates/").content.decode()
    assert "Cart abandoners" in page and "Started a checkout between 1 and 72 hours ago" in page
    with time_machine.travel(NOW, tick=False):
        answer = client.post("/admin/segments/segment/templates/", {"template": "win_back", "store": shop.pk})
    segment = Segment.objects.get(template="win_back")
    assert answer.status_code == 302 and segment.memberships.filter(exited_at__isnull=True).count() == 3


def test_recompute_action(client, shop, marketer):
    segment = Segment.objects.create(
        store=shop, name="Repeat", definition=BY_KEY["repeat_customers"].definition
    )
    answer = client.post(
        "/admin/segments/segment/", {"action": "recompute", "_selected_action": [segment.pk]}, follow=True
    )
    assert "1 entered, 0 exited" in answer.content.decode()


def test_another_stores_segment_is_404(client, shop, marketer, make_store):
    theirs = Segment.objects.create(
        store=make_store(),
        name="Theirs",
        definition={"type": "attribute", "field": "orders_count", "op": "gte", "value": 1},
    )
    assert client.get(f"/admin/segments/segment/{theirs.pk}/change/").status_code == 404
    assert "Theirs" not in client.get("/admin/segments/segment/").content.decode()
    answer = client.post(
        "/admin/segments/segment/preview/",
        json.dumps(
            {
                "store": theirs.store_id,
                "definition": {"type": "attribute", "field": "orders_count", "op": "gte", "value": 1},
            }
        ),
        content_type="application/json",
    )
    assert answer.status_code == 404
