"""Two senders claiming at the same time take disjoint rows (PostgreSQL: FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from campaigns.models import EmailTemplate, Message
from campaigns.outbox import claim_batch, enqueue
from shopconnect.timeline.models import Customer, Store


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_overlap():
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SQLite serializes writers (BEGIN IMMEDIATE): there is no concurrent claim to test")
    store = Store.objects.create(platform="custom", domain="c.example")
    template = EmailTemplate.objects.create(store=store, name="t", subject="s", html="h")
    customers = Customer.objects.bulk_create(
        [Customer(store=store, email=f"c{i}@x.example", created_at="2026-01-01T00:00Z") for i in range(20)])
    enqueue([Message(store=store, customer=c, template=template, idempotency_key=f"k{c.pk}") for c in customers])
    holding, release = threading.Event(), threading.Event()
    claimed: dict[str, set[int]] = {}

    def first():
        try:
            with transaction.atomic():  # keeps the row locks until release
                claimed["a"] = {m.pk for m in claim_batch(10)}
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=first)
    worker.start()
    assert holding.wait(10)
    try:
        claimed["b"] = {m.pk for m in claim_batch(20)}
        still_holding = worker.is_alive()  # B did not wait for A's locks
    finally:
        release.set()
        worker.join(10)
    assert still_holding
    assert len(claimed["a"]) == 10 and len(claimed["b"]) == 10 and not claimed["a"] & claimed["b"]
