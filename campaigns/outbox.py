"""The outbox: enqueue messages idempotently and claim due ones for sending.

Enqueue is ``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING`` (``bulk_create(ignore_conflicts)``),
so flows and campaigns can enqueue the same message any number of times and get one row.

Claiming moves due ``queued`` rows to ``sending`` under a fresh claim token, in one transaction. On
PostgreSQL the candidate rows are locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent
senders take disjoint batches; on SQLite (where a write transaction locks the whole database, and the
project opens transactions with BEGIN IMMEDIATE) the conditional ``UPDATE ... WHERE state='queued'``
is the guard. A row in ``sending`` is never put back to ``queued``: if a worker dies mid-batch its
rows are failed as "interrupted" after ``STALE_AFTER`` (at most once, never twice).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from .models import Message

STALE_AFTER = timedelta(minutes=15)


def message_key(*parts: object) -> str:
    """An idempotency key from its parts: ("flow", 3, "step", 7, "customer", 9, "event", 1234)."""
    return ":".join(str(p) for p in parts)[:255]


def enqueue(messages: Iterable[Message]) -> int:
    """Insert outbox rows, ignoring those whose idempotency key exists. Returns how many were given."""
    rows = list(messages)
    now = timezone.now()
    for row in rows:
        if row.next_attempt_at is None:
            row.next_attempt_at = now
    Message.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def claim_batch(size: int, now: datetime | None = None) -> list[Message]:
    """Claim up to ``size`` due queued messages for this worker; returns them with related rows loaded."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    with transaction.atomic():
        due = (Message.objects.filter(state=Message.State.QUEUED, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "id"))
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:size])
        if not ids:
            return []
        Message.objects.filter(id__in=ids, state=Message.State.QUEUED).update(
            state=Message.State.SENDING, claim_token=token, claimed_at=now
        )
    return list(
        Message.objects.filter(claim_token=token, state=Message.State.SENDING)
        .select_related("store", "customer", "template", "flow", "step", "trigger_event", "enrollment")
        .order_by("id")
    )


def fail_stale_claims(now: datetime | None = None) -> int:
    """Rows stuck in ``sending`` (their worker died): failed, never retried, so never sent twice."""
    now = now or timezone.now()
    return Message.objects.filter(state=Message.State.SENDING, claimed_at__lt=now - STALE_AFTER).update(
        state=Message.State.FAILED,
        note="worker stopped while sending; not retried so that it cannot be sent twice",
    )
