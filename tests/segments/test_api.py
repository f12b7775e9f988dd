"""The segments REST API: CRUD, preview, members, 400 with where/why, tenancy."""

from __future__ import annotations

from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from segments.models import Segment, SegmentChange
from segments.templates import BY_KEY

from .fixtures import NOW, build

REPEAT = {
    "version": 1,
    "type": "and",
    "rules": [{"type": "attribute", "field": "orders_count", "op": "gte", "value": 2}],
}


@pytest.fixture
def shop(store):
    with time_machine.travel(NOW, tick=False):
        build(store)
    return store


def test_create_read_update_with_change_log(
    shop, make_user, api_client_for, django_capture_on_commit_callbacks
):
    user = make_user(shop)
    client = api_client_for(user)
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        made = client.post(
            "/api/v1/segments/",
            {"store": shop.pk, "name": "Repeat", "description": "2+ orders", "definition": REPEAT},
            format="json",
        )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["rule_text"] == "number of orders is at least 2"
    assert client.get(f"/api/v1/segments/{body['id']}/").json()["member_count"] == 1  # recomputed after save
    changed = {**REPEAT, "rules": [{**REPEAT["rules"][0], "value": 1}]}
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        updated = client.patch(f"/api/v1/segments/{body['id']}/", {"definition": changed}, format="json")
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert client.get(f"/api/v1/segments/{body['id']}/").json()["member_count"] == 5
    log = list(SegmentChange.objects.filter(segment_id=body["id"]).order_by("version"))
    assert [(c.version, c.user_id) for c in log] == [(1, user.pk), (2, user.pk)]
    assert log[1].old_definition == REPEAT
    members = client.get(f"/api/v1/segments/{body['id']}/members/").json()
    assert members["count"] == 5 and {"customer", "email", "entered_at"} <= set(members["results"][0])


def test_invalid_tree_answers_400_with_where_and_why(shop, make_user, api_client_for):
    client = api_client_for(make_user(shop))
    bad = {
        "type": "and",
        "rules": [
            REPEAT["rules"][0],
            {"type": "performed", "event": "order.placed", "window": {"last": {"weeks": 2}}},
        ],
    }
    answer = client.post(
        "/api/v1/segments/", {"store": shop.pk, "name": "x", "definition": bad}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["definition"]["where"] == "$.rules[1].window.last"
    assert "unknown unit 'weeks'" in answer.json()["definition"]["why"]
    preview = client.post("/api/v1/segments/preview/", {"store": shop.pk, "definition": bad}, format="json")
    assert preview.status_code == 400 and preview.json()["definition"]["where"] == "$.rules[1].window.last"
    assert not Segment.objects.exists()


def test_lookup_injection_is_rejected(shop, make_user, api_client_for):
    client = api_client_for(make_user(shop))
    sneaky = {"type": "attribute", "field": "store__memberships__user__password", "op": "eq", "value": "x"}
    answer = client.post("/api/v1/segments/preview/", {"store": shop.pk, "definition": sneaky}, format="json")
    assert answer.status_code == 400 and answer.json()["definition"]["where"] == "$.field"


def test_preview_counts_samples_and_warns(shop, make_user, api_client_for):
    client = api_client_for(make_user(shop))
    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            "/api/v1/segments/preview/",
            {"store": shop.pk, "definition": BY_KEY["win_back"].definition},
            format="json",
        )
    body = answer.json()
    assert answer.status_code == 200 and body["count"] == 3
    assert {s["email"] for s in body["sample"]} == {"bob@example.com", "carol@example.com", "ned@example.com"}
    assert any("too small" in w for w in body["warnings"])
    assert not Segment.objects.exists()


def test_another_stores_segment_is_404(shop, make_store, make_user, api_client_for):
    other = make_store()
    theirs = Segment.objects.create(store=other, name="theirs", definition=REPEAT)
    client = api_client_for(make_user(shop))
    assert client.get(f"/api/v1/segments/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/segments/{theirs.pk}/members/").status_code == 404
    assert (
        client.post(
            "/api/v1/segments/preview/", {"store": other.pk, "definition": REPEAT}, format="json"
        ).status_code
        == 404
    )
    made = client.post(
        "/api/v1/segments/", {"store": other.pk, "name": "x", "definition": REPEAT}, format="json"
    )
    assert made.status_code == 400 and "store" in made.json()


def test_segment_reference_cycles_are_rejected(shop, make_user, api_client_for):
    client = api_client_for(make_user(shop))
    a = client.post(
        "/api/v1/segments/", {"store": shop.pk, "name": "A", "definition": REPEAT}, format="json"
    ).json()
    b = client.post(
        "/api/v1/segments/",
        {"store": shop.pk, "name": "B", "definition": {"type": "in_segment", "segment": a["id"]}},
        format="json",
    ).json()
    cycle = client.patch(
        f"/api/v1/segments/{a['id']}/",
        {"definition": {"type": "in_segment", "segment": b["id"]}},
        format="json",
    )
    assert cycle.status_code == 400 and "cycle" in cycle.json()["definition"]["why"]


def test_recompute_command(shop):
    Segment.objects.create(store=shop, name="Repeat", definition=REPEAT)
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("recompute_segments", "--store", str(shop.pk), stdout=out)
    assert "1 segments recomputed" in out.getvalue()
    assert Segment.objects.get().memberships.filter(exited_at__isnull=True).count() == 1


def test_preview_warns_when_another_segment_has_nearly_the_same_members(shop, make_user, api_client_for):
    from segments.service import preview
    from segments.tasks import recompute_segment

    client = api_client_for(make_user(shop))
    with time_machine.travel(NOW, tick=False):
        repeat = Segment.objects.create(store=shop, name="Repeat buyers", definition=REPEAT)
        other = Segment.objects.create(store=shop, name="Win-back", definition=BY_KEY["win_back"].definition)
        recompute_segment(repeat.pk)
        recompute_segment(other.pk)
        same = {**REPEAT, "rules": [{"type": "attribute", "field": "orders_count", "op": "gt", "value": 1}]}
        body = client.post("/api/v1/segments/preview/", {"store": shop.pk, "definition": same}, format="json").json()
        own = preview(shop, same, segment_id=repeat.pk)  # editing that segment itself (the admin's builder)
    size = repeat.memberships.filter(exited_at__isnull=True).count()
    assert size >= 1
    assert [w for w in body["warnings"] if "Nearly identical" in w] == [
        f"Nearly identical to “Repeat buyers” ({size} shared of {size} and {size})."]
    assert not [w for w in own.warnings if "Nearly identical" in w]  # not to itself
