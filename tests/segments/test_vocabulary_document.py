"""The vocabulary document the builder reads: everything it offers, the parser accepts; it is served to
the admin and the API, with only the caller's segments."""

from __future__ import annotations

import pytest

from segments.models import Segment
from segments.rules import parse
from segments.rules.publish import document
from segments.widgets import RuleBuilderWidget
from shopconnect.timeline import vocabulary as v

DOC = document()
SAMPLES = {
    "number": 3,
    "number_pair": [1, 5],
    "string": "boots",
    "string_list": ["boots", "tents"],
    "duration": {"days": 30},
    "datetime": "2026-01-01",
}


def _sample(shape: str, field: dict):
    if shape == "none":
        return None
    if shape in ("choice", "choice_list"):
        first = field["choices"][-1]["value"]
        return first if shape == "choice" else [first]
    return SAMPLES[shape]


def test_every_offered_event_property_and_operator_parses():
    offered = 0
    for event in DOC["events"]:
        assert event["label"] == v.BY_NAME[event["name"]].label
        parse({"type": "performed", "event": event["name"]})
        for prop in event["properties"]:
            for op in DOC["property_operators"][prop["type"]]:
                where = [{"property": prop["name"], "op": op["op"], "value": _sample(op["value"], {})}]
                parse({"type": "performed", "event": event["name"], "where": where})
                offered += 1
    assert offered > 300  # every declared property, every operator of its type


@pytest.mark.parametrize("table,kind", [("attributes", "attribute"), ("predictions", "prediction")])
def test_every_offered_field_and_operator_parses(table, kind):
    for field in DOC[table]:
        for op in field["operators"]:
            node = {"type": kind, "field": field["name"], "op": op["op"]}
            value = _sample(op["value"], field)
            if value is not None:
                node["value"] = value
            parse(node)


def test_counts_percentiles_and_weekdays_parse():
    for op in DOC["count_operators"]:
        value = [1, 3] if op["op"] == "between" else 2
        parse({"type": "performed", "event": "order.placed", "count": {"op": op["op"], "value": value}})
    for field in DOC["percentile_fields"]:
        parse({"type": "percentile", "field": field["name"], "direction": "bottom", "percent": 10})
    days = [d["value"] for d in DOC["weekdays"]]
    assert parse({"type": "performed", "event": "order.placed", "day_of_week": days}).weekdays == set(range(1, 8))
    assert [k["type"] for k in DOC["kinds"]][:3] == ["performed", "not_performed", "attribute"]


def test_non_filterable_properties_are_not_offered():
    placed = next(e for e in DOC["events"] if e["name"] == "order.placed")
    names = {p["name"] for p in placed["properties"]}
    assert "total" in names and "line_items" not in names and "discount_codes" not in names


def test_the_admin_serves_it_with_only_the_callers_segments(client, store, make_store, make_user):
    mine = Segment.objects.create(store=store, name="Mine", definition={"type": "attribute",
                                  "field": "orders_count", "op": "gte", "value": 1})
    theirs_store = make_store()
    Segment.objects.create(store=theirs_store, name="Theirs", definition=mine.definition)
    client.force_login(make_user(store))
    body = client.get("/admin/segments/segment/vocabulary/", {"store": store.pk}).json()
    assert body["segments"] == [{"id": mine.pk, "name": "Mine"}]
    assert body["events"] == DOC["events"]
    assert client.get("/admin/segments/segment/vocabulary/", {"store": theirs_store.pk}).status_code == 404
    assert client.get("/admin/segments/segment/vocabulary/", {"store": "x"}).status_code == 400
    assert client.get("/admin/segments/segment/vocabulary/").json()["segments"] == []


def test_the_api_serves_it(store, make_store, make_user, api_client_for):
    Segment.objects.create(store=store, name="Mine", definition={"type": "attribute",
                           "field": "orders_count", "op": "gte", "value": 1})
    api = api_client_for(make_user(store))
    body = api.get("/api/v1/segments/vocabulary/", {"store": store.pk}).json()
    assert [s["name"] for s in body["segments"]] == ["Mine"] and body["attributes"] == DOC["attributes"]
    assert api.get("/api/v1/segments/vocabulary/", {"store": make_store().pk}).status_code == 404
    assert api.get("/api/v1/segments/vocabulary/", {"store": "x"}).status_code == 400


def test_the_widget_renders_and_posts_the_stored_value():
    widget = RuleBuilderWidget(preview=True)
    html = widget.render("definition", {"version": 1, "type": "attribute", "field": "country", "op": "eq",
                                        "value": "FR"}, attrs={"id": "id_definition"})
    assert 'name="definition"' in html and "&quot;country&quot;" in html and "rule-builder" in html
    assert "/admin/segments/segment/vocabulary/" in html and "/admin/segments/segment/preview/" in html
    assert widget.value_from_datadict({"definition": '{"a": 1}'}, {}, "definition") == '{"a": 1}'
    where = RuleBuilderWidget(mode="where", event="checkout.started")
    assert "checkout.started" in where.render("f", [], attrs={"id": "id_f"})
    with pytest.raises(ValueError):
        RuleBuilderWidget(mode="tree")
