"""The real-time path's cached SQL (``membership.scoped_sql``) is exactly the uncached compile, for any
rule, customer and time, including rule values equal to the cache's probe values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments import membership
from segments.membership import _PROBES, _compiled, scoped_sql
from segments.models import Segment
from segments.rules import parse
from shopconnect.timeline.models import Customer, Store

from .test_property import tree_st

PROBE_IDS = [p[0] for p in _PROBES]
PROBE_TEXT = [str(p[1].replace(tzinfo=None)) for p in _PROBES] + [p[1].isoformat() for p in _PROBES]
# the values the previous cache substituted by value (a rule holding them got another customer's answer)
OLD_SENTINELS = [-7_777_777, "2200-01-01 00:00:00", "2190-05-01T10:00:00"]
tricky_st = st.sampled_from(
    [
        {"type": "attribute", "field": "total_spent", "op": "eq", "value": PROBE_IDS[0]},
        {"type": "attribute", "field": "orders_count", "op": "between", "value": sorted(PROBE_IDS)},
        {"type": "attribute", "field": "created_at", "op": "after", "value": "2000-01-01"},
        {"type": "attribute", "field": "created_at", "op": "before", "value": "2001-06-02T12:30:00Z"},
        {"type": "attribute", "field": "last_seen_at", "op": "within_last", "value": {"days": 7}},
        {"type": "attribute", "field": "last_order_at", "op": "within_next", "value": {"hours": 3}},
        {"type": "attribute", "field": "country", "op": "in", "value": PROBE_TEXT},
        {"type": "performed", "event": "product.viewed",
         "where": [{"property": "price", "op": "eq", "value": PROBE_IDS[1]}]},
        {"type": "performed", "event": "product.viewed",
         "where": [{"property": "title", "op": "in", "value": PROBE_TEXT}], "window": {"last": {"days": 2}}},
        {"type": "performed", "event": "order.placed", "window": {"start": "2000-01-01", "end": "2001-06-02"}},
        {"type": "attribute", "field": "total_spent", "op": "gt", "value": OLD_SENTINELS[0]},
        {"type": "performed", "event": "product.viewed",
         "where": [{"property": "title", "op": "in", "value": OLD_SENTINELS[1:]}]},
        {"type": "performed", "event": "order.placed", "window": {"since": "2001-06-02T12:30:00+00:00"}},
        {"type": "performed", "event": "cart.updated", "count": {"op": "gte", "value": 2},
         "window": {"last": {"days": 30}, "until": {"minutes": 10}}, "same": "product_id"},
    ]
)
rule_st = st.one_of(tree_st, tricky_st, st.builds(lambda a, b: {"type": "and", "rules": [a, b]}, tricky_st, tree_st))
moment_st = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@pytest.fixture
def shop(db):
    store = Store.objects.create(platform="shopify", domain="sql-cache.myshopify.com", timezone="Europe/Paris")
    Customer.objects.create(store=store, email="x@example.com", created_at=datetime(2020, 1, 1, tzinfo=UTC))
    return store


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=rule_st, customer=st.one_of(st.integers(1, 10**9), st.sampled_from([-1, -2, 7])), now=moment_st,
       later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_cached_sql_equals_the_uncached_compile(shop, rule, customer, now, later):
    node = parse({"version": 1, **rule}, shop)
    segment = Segment(pk=1, store=shop, name="s", definition=rule, version=1, updated_at=now)
    membership._SQL.clear()
    for moment, who in ((now, customer), (now + later, customer + 1)):  # the second one is served cached
        assert scoped_sql(shop, segment, node, [who], moment) == _compiled(shop, node, [who], moment), rule


def test_the_cache_is_used_and_answers_like_a_fresh_query(shop):
    customer = Customer.objects.get(store=shop)
    rule = {"type": "attribute", "field": "created_at", "op": "before", "value": "2021-01-01"}
    node = parse(rule)
    segment = Segment(pk=1, store=shop, name="s", definition=rule, version=1, updated_at=datetime.now(UTC))
    membership._SQL.clear()
    scoped_sql(shop, segment, node, [customer.pk], datetime(2026, 1, 1, tzinfo=UTC))
    assert len(membership._SQL) == 1
    sql, params = scoped_sql(shop, segment, node, [customer.pk], datetime(2026, 1, 2, tzinfo=UTC))
    assert list(Customer.objects.raw(sql, params)) == [customer]
