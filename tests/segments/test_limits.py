"""Bounded costs (issue 13, item 7), written as the attacks: a tree of 50 references to segments of 50
references..., a 10k-node tree, deep nesting. Each answers 400 with a reason in the admin preview, the
API preview and on save, after work that grows with the number of segments, not with the expansion.
Parsed rules are cached per segment version instead of being re-parsed for every event batch."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments import parsed
from segments.models import Segment
from segments.rules import RuleError, parse
from segments.rules.limits import MAX_DEPTH, MAX_EXPANDED, MAX_NODES
from segments.tasks import reevaluate_customers
from shopconnect.timeline.models import Customer

LEAF = {"type": "attribute", "field": "tags", "op": "has", "value": "x"}


def tree(width: int, levels: int) -> dict:
    node = LEAF
    for _ in range(levels):
        node = {"type": "or", "rules": [node] * width}
    return {"version": 1, **node}


@pytest.fixture
def nested_references(store):
    """Five levels of 50 references each, stored directly (as rows saved before limits existed would be)."""
    level = Segment.objects.create(store=store, name="level 5", definition=LEAF)
    for n in range(4, -1, -1):
        level = Segment.objects.create(
            store=store, name=f"level {n}",
            definition={"type": "or", "rules": [{"type": "in_segment", "segment": level.pk}] * 50},
        )
    return level


@pytest.fixture
def marketer(store, make_user, client):
    user = make_user(store)
    client.force_login(user)
    return user


def _admin_preview(client, store, definition):
    return client.post("/admin/segments/segment/preview/", json.dumps({"store": store.pk, "definition": definition}),
                       content_type="application/json")


def test_fifty_by_fifty_references_are_refused_after_one_read_per_segment(store, nested_references, client,
                                                                           marketer, make_user, api_client_for):
    attack = {"type": "in_segment", "segment": nested_references.pk}
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(RuleError, match=f"more than {MAX_EXPANDED} conditions"):
            parse(attack, store)
    assert len(queries) <= 6  # each segment read once at most: 50**5 references never expanded
    answer = _admin_preview(client, store, attack)
    assert answer.status_code == 400 and f"more than {MAX_EXPANDED} conditions" in answer.json()["why"]
    api = api_client_for(marketer)
    answer = api.post("/api/v1/segments/preview/", {"store": store.pk, "definition": attack}, format="json")
    assert answer.status_code == 400 and "conditions" in answer.json()["definition"]["why"]
    answer = api.post("/api/v1/segments/", {"store": store.pk, "name": "boom", "definition": attack}, format="json")
    assert answer.status_code == 400 and not Segment.objects.filter(name="boom").exists()


def test_saving_a_reference_tree_level_by_level_stops_at_the_cap(store, marketer, api_client_for):
    api = api_client_for(marketer)
    below = api.post("/api/v1/segments/", {"store": store.pk, "name": "leaf", "definition": LEAF}, format="json")
    for level in range(1, 4):
        definition = {"type": "or", "rules": [{"type": "in_segment", "segment": below.json()["id"]}] * 50}
        answer = api.post("/api/v1/segments/", {"store": store.pk, "name": f"l{level}", "definition": definition},
                          format="json")
        if answer.status_code == 400:
            break
        below = answer
    assert level == 2 and "conditions" in answer.json()["definition"]["why"]


def test_a_ten_thousand_node_tree_is_refused(store, client, marketer, api_client_for):
    attack = tree(10, 4)  # 11,111 nodes
    answer = _admin_preview(client, store, attack)
    assert answer.status_code == 400 and answer.json()["where"] == "$" and "bytes" in answer.json()["why"]
    api = api_client_for(marketer)
    answer = api.post("/api/v1/segments/preview/", {"store": store.pk, "definition": attack}, format="json")
    assert answer.status_code == 400 and "bytes" in answer.json()["definition"]["why"]
    page = client.post("/admin/segments/segment/add/", {"store": store.pk, "name": "huge",
                                                        "definition": json.dumps(attack), "is_active": "on"})
    assert page.status_code == 200 and "bytes" in page.content.decode() and not Segment.objects.exists()


def test_a_small_but_wide_tree_is_refused_by_its_number_of_conditions(store, client, marketer):
    wide = {"version": 1, "type": "or", "rules": [{"type": "or", "rules": [LEAF] * 50}] * 5}  # 256, 16 KB
    answer = _admin_preview(client, store, wide)
    assert answer.status_code == 400 and f"at most {MAX_NODES} conditions" in answer.json()["why"]


def test_deep_nesting_is_refused_not_a_server_error(store, client, marketer):
    deep = LEAF
    for _ in range(MAX_DEPTH + 1):
        deep = {"type": "not", "rule": deep}
    answer = _admin_preview(client, store, deep)
    assert answer.status_code == 400 and "nested more than" in answer.json()["why"]
    nested = '{"type": "not", "rule": ' * 5000 + "{}" + "}" * 5000
    body = f'{{"store": {store.pk}, "definition": {nested}}}'
    answer = client.post("/admin/segments/segment/preview/", body, content_type="application/json")
    assert answer.status_code == 400


def test_references_deeper_than_the_limit_are_refused(store):
    below = Segment.objects.create(store=store, name="s0", definition=LEAF)
    for n in range(1, MAX_DEPTH + 2):
        below = Segment.objects.create(store=store, name=f"s{n}", definition={"type": "in_segment",
                                                                            "segment": below.pk})
    with pytest.raises(RuleError, match="nested more than"):
        parse({"type": "in_segment", "segment": below.pk}, store)


def test_parsed_rules_are_cached_per_version(store, monkeypatch):
    buyers = Segment.objects.create(store=store, name="Buyers",
                                    definition={"type": "attribute", "field": "orders_count", "op": "gte", "value": 1})
    fans = Segment.objects.create(store=store, name="Fans", definition={"type": "in_segment", "segment": buyers.pk})
    customer = Customer.objects.create(store=store, email="a@example.com", created_at=buyers.created_at)
    calls = []
    real = parsed.parse
    monkeypatch.setattr(parsed, "parse", lambda *a, **kw: calls.append(kw["segment_id"]) or real(*a, **kw))
    batch = {str(customer.pk): ["order.placed"]}
    reevaluate_customers(store.pk, batch)
    reevaluate_customers(store.pk, batch)
    assert sorted(calls) == sorted([buyers.pk, fans.pk])  # the second batch parsed nothing
    buyers.definition = {**buyers.definition, "value": 2}
    buyers.save()
    reevaluate_customers(store.pk, batch)
    assert sorted(calls[2:]) == sorted([buyers.pk, fans.pk])  # both: fans refers to buyers
    fans.name = "Big fans"
    fans.save()
    reevaluate_customers(store.pk, batch)
    assert calls[4:] == []  # a name change of the segment itself changes nothing it evaluates
