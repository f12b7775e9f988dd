"""Every built-in template returns exactly the customers its description says, on a hand-built store,
and the compiled SQL agrees with the plain-Python reference there too."""

from __future__ import annotations

import pytest
import time_machine

from segments.evaluate import matching_customers
from segments.membership import current_members
from segments.rules import parse
from segments.tasks import recompute_store
from segments.templates import BY_KEY, TEMPLATES, create_from_template

from .fixtures import EXPECTED, NOW, build
from .reference import Reference


@pytest.fixture
def shop(store):
    store.timezone = "Europe/Berlin"
    store.save()
    with time_machine.travel(NOW, tick=False):
        ids = build(store)
    names = {v: k.split("@")[0] for k, v in ids.items()}
    return store, names


def test_every_template_is_covered():
    assert set(EXPECTED) == set(BY_KEY)
    assert all(t.description for t in TEMPLATES)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_template_members_match_description(shop, key):
    store, names = shop
    definition = BY_KEY[key].definition
    got = {names[cid] for cid in matching_customers(store, definition, now=NOW).values_list("id", flat=True)}
    assert got == EXPECTED[key]
    assert {names[c] for c in Reference(store, NOW).members(parse(definition, store))} == EXPECTED[key]


def test_one_click_creation_and_full_recompute(shop):
    store, names = shop
    segments = {key: create_from_template(store, key) for key in EXPECTED}
    assert create_from_template(store, "vip").pk == segments["vip"].pk  # a second click does not duplicate
    with time_machine.travel(NOW, tick=False):
        assert recompute_store(store.pk) == len(EXPECTED)
    for key, segment in segments.items():
        members = {names[cid] for cid in current_members(segment).values_list("customer_id", flat=True)}
        assert members == EXPECTED[key], key
        assert segment.snapshots.get().size == len(EXPECTED[key])
