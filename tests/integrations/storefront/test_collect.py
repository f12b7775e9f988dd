"""The collect endpoint: answers per docs/CONTRACT.md, the inbox, replays, limits, CORS, arbitrary input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.storefront.mapping import MAX_CLOCK_SKEW
from integrations.storefront.models import CollectBatch
from shopconnect.timeline.models import Event, Visitor

from .conftest import ev


def test_batch_is_accepted_and_lands_on_the_visitor_timeline(db, store, post_batch):
    events = [
        ev("page_viewed"),
        ev("product_viewed", data={"product_id": "93", "title": "Linen Shirt", "price": "27.40"}),
        ev("product_added_to_cart", data={"product_id": "93", "quantity": 2}),
    ]
    response = post_batch(store, events)
    assert response.status_code == 202 and response.json() == {"status": "accepted", "events": 3}
    assert response["Access-Control-Allow-Origin"] == "*"
    visitor = Visitor.objects.get(store=store, client_id="visitor-1")
    assert visitor.device == "desktop" and visitor.customer is None
    by_type = {e.type: e for e in Event.objects.filter(visitor=visitor)}
    assert set(by_type) == {"page.viewed", "product.viewed", "cart.updated"}
    assert by_type["product.viewed"].properties["title"] == "Linen Shirt"
    assert by_type["cart.updated"].properties["action"] == "added"
    assert by_type["cart.updated"].dedupe_key == f"storefront:{events[2]['id']}"
    assert CollectBatch.objects.get().status == "processed"


def test_json_content_type_is_accepted_too(db, store, post_batch):
    assert post_batch(store, [ev()], content_type="application/json").status_code == 202


def test_a_replayed_batch_is_202_and_stored_once(db, store, post_batch):
    events = [ev(), ev("search_submitted", data={"query": "linen"})]
    assert post_batch(store, events).status_code == 202
    replay = post_batch(store, list(reversed(events)))
    assert replay.status_code == 202 and replay.json()["status"] == "duplicate"
    assert CollectBatch.objects.count() == 1 and Event.objects.count() == 2


def test_an_event_resent_in_another_batch_is_recorded_once(db, store, post_batch):
    first = ev()
    post_batch(store, [first])
    post_batch(store, [first, ev("page_viewed")])
    assert Event.objects.filter(dedupe_key=f"storefront:{first['id']}").count() == 1
    assert Event.objects.count() == 2


def test_unknown_names_are_kept_in_the_batch_and_not_recorded(db, store, post_batch):
    assert post_batch(store, [ev("alert_displayed"), ev("page_viewed")]).status_code == 202
    assert CollectBatch.objects.get().events[0]["name"] == "alert_displayed"
    assert list(Event.objects.values_list("type", flat=True)) == ["page.viewed"]


def test_invalid_batches_are_400_saying_what_is_wrong(db, store, post_batch):
    bad = ev(timestamp="yesterday")
    del bad["client_id"]
    response = post_batch(store, [ev(), bad, {"name": 3}])
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "events[1].client_id: required, a string of 1 to 64 characters" in errors
    assert any(e.startswith("events[1].timestamp:") for e in errors)
    assert any(e.startswith("events[2].name:") for e in errors)
    assert not CollectBatch.objects.exists() and not Event.objects.exists()
    assert post_batch(store, [], raw=b"{not json").json()["errors"] == ["body: not JSON (JSONDecodeError)"]
    assert post_batch(store, [], raw=b'[{"events": []}]').status_code == 400
    assert post_batch(store, []).json()["errors"] == ["events: empty"]


def test_values_the_database_cannot_store_are_400(db, store, post_batch):
    for raw, message in (
        (b'{"events": [{"x": Infinity}]}', "not JSON"),
        (b'{"events": ["\\u0000"]}', "NUL"),
        (b'{"events": ["\\ud800"]}', "surrogate"),
    ):
        response = post_batch(store, [], raw=raw)
        assert response.status_code == 400 and message in response.json()["errors"][0]


def test_unknown_key_is_404(db, client):
    response = client.post("/collect/nope/", data=b'{"events": []}', content_type="text/plain")
    assert response.status_code == 404


def test_too_many_events_or_too_big_a_body_is_413(db, store, post_batch, settings):
    settings.COLLECT_MAX_EVENTS = 3
    response = post_batch(store, [ev() for _ in range(4)])
    assert response.status_code == 413 and "at most 3 per batch" in response.json()["errors"][0]
    settings.COLLECT_MAX_BODY_BYTES = 1000
    assert post_batch(store, [ev(data={"title": "x" * 2000})]).status_code == 413
    assert not CollectBatch.objects.exists()


@time_machine.travel(datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC), tick=False)  # one rate window
def test_rate_limit_per_key_and_client_is_429(db, store, make_store, post_batch, settings):
    settings.COLLECT_RATE_LIMIT_PER_MINUTE = 2
    assert [post_batch(store, [ev()]).status_code for _ in range(3)] == [202, 202, 429]
    limited = post_batch(store, [ev()])
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert post_batch(store, [ev()], remote_addr="198.51.100.9").status_code == 202  # another client
    assert post_batch(make_store(), [ev()]).status_code == 202  # another key
    assert CollectBatch.objects.count() == 4


def test_cors_preflight(db, store, client):
    response = client.options(f"/collect/{store.collect_key}/", headers={"Origin": "https://shop.example"})
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]


@time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False)
def test_a_future_timestamp_is_clamped_to_now(db, store, post_batch):
    """A visitor's clock cannot date an event after the batch arrived (plus the allowed skew), while a
    timestamp inside the skew is kept as sent."""
    post_batch(store, [ev(timestamp="2099-01-01T00:00:00Z"), ev(timestamp="2026-03-01T12:03:00Z")])
    received = CollectBatch.objects.get().received_at
    assert received == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    times = sorted(Event.objects.values_list("occurred_at", flat=True))
    assert times == [datetime(2026, 3, 1, 12, 3, tzinfo=UTC), received + MAX_CLOCK_SKEW]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
storable_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=20)
finite_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | storable_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(storable_text, children, max_size=4),
    max_leaves=20,
)
event_like = st.fixed_dictionaries(
    {
        "id": st.one_of(st.uuids().map(str), json_values),
        "name": st.sampled_from(["page_viewed", "product_viewed"]) | json_values,
        "timestamp": st.datetimes(timezones=st.just(None)).map(lambda d: d.isoformat()) | json_values,
        "client_id": st.text(min_size=1, max_size=70) | json_values,
    },
    optional={"data": json_values, "email": json_values, "customer_id": json_values, "extra": json_values},
)


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=json_values | st.fixed_dictionaries({"events": st.lists(event_like, max_size=5)}))
def test_arbitrary_json_gets_202_or_a_clear_4xx_never_an_error(store, post_batch, document):
    cache.clear()  # one store for all examples: keep the rate limit out of it
    response = post_batch(store, [], raw=json.dumps(document).encode())
    assert response.status_code in (202, 400, 413)
    body = response.json()
    if response.status_code == 202:
        assert body["status"] in ("accepted", "duplicate")
        assert CollectBatch.objects.filter(store=store).exists()
    else:
        assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"])


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    events=st.lists(
        st.fixed_dictionaries(
            {
                "name": st.sampled_from(
                    [
                        "page_viewed",
                        "product_viewed",
                        "collection_viewed",
                        "search_submitted",
                        "product_added_to_cart",
                        "product_removed_from_cart",
                        "checkout_started",
                        "page_left",
                    ]
                ),
                "data": st.dictionaries(
                    st.sampled_from(["product_id", "title", "price", "quantity", "query", "duration_seconds"]),
                    finite_json,
                    max_size=4,
                ),
            }
        ),
        min_size=1,
        max_size=10,
    )
)
def test_every_well_formed_batch_is_recorded(store, post_batch, events):
    cache.clear()
    full = [ev(e["name"], data=e["data"]) for e in events]
    response = post_batch(store, full)
    assert response.status_code == 202
    recorded = set(Event.objects.filter(store=store).values_list("dedupe_key", flat=True))
    assert {f"storefront:{e['id']}" for e in full} <= recorded


def test_the_hot_path_is_one_insert_and_one_enqueue(db, store, post_batch, monkeypatch, django_assert_num_queries):
    from django_q.conf import Conf
    from django_q.models import OrmQ

    monkeypatch.setattr(Conf, "SYNC", False)  # really enqueue (ORM broker) instead of running inline
    post_batch(store, [ev()])  # the collect key is then known to this process
    with django_assert_num_queries(2):
        assert post_batch(store, [ev() for _ in range(50)]).status_code == 202
    assert OrmQ.objects.count() == 2
    assert CollectBatch.objects.filter(status="pending").count() == 2  # the worker records them later


def test_a_failed_batch_is_kept_with_its_error_and_can_be_reprocessed(
    db, store, post_batch, monkeypatch, make_user, client
):
    from django.contrib.auth.models import Permission

    import integrations.storefront.tasks as tasks

    real = tasks.record_events
    monkeypatch.setattr(tasks, "record_events", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db down")))
    assert post_batch(store, [ev()]).status_code == 202  # acknowledged: the batch is stored
    batch = CollectBatch.objects.get()
    assert batch.status == "failed" and "db down" in batch.last_error
    monkeypatch.setattr(tasks, "record_events", real)
    user = make_user(store)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="storefront"))
    client.force_login(user)
    response = client.post(
        "/admin/storefront/collectbatch/", {"action": "reprocess_batches", "_selected_action": [batch.pk]}
    )
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == "processed" and Event.objects.count() == 1


def test_the_rate_window_is_one_minute(db, store, post_batch, settings):
    settings.COLLECT_RATE_LIMIT_PER_MINUTE = 1
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC), tick=False) as traveller:
        assert [post_batch(store, [ev()]).status_code for _ in range(2)] == [202, 429]
        traveller.move_to(datetime(2026, 3, 1, 12, 1, 5, tzinfo=UTC))
        assert post_batch(store, [ev()]).status_code == 202
