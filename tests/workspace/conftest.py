"""A small demo store for the workspace's browser tests: the real demo loader at a tenth of its size."""

from __future__ import annotations

import pytest


@pytest.fixture
def demo_store(transactional_db):
    """The demo store (60 customers through the real webhook path, its flows and its campaign)."""
    from campaigns.demo import install_demo_campaign, install_demo_flows
    from integrations.demo import load_demo, tasks_inline
    from shopconnect.timeline.models import Store

    result = load_demo(customers=60)
    store = Store.objects.get(pk=result["store"])
    with tasks_inline():
        install_demo_flows(store)
        install_demo_campaign(store)
    return store
