"""The outbox: enqueue messages idempotently and claim due ones for sending.

Enqueue is ``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING`` (``bulk_create(ignore_conflicts)``),
so flows and campaigns can enqueue the same message any number of times and get one row.

Claiming moves due ``queued`` rows to ``sending`` under a fresh claim token, in one transaction. On
PostgreSQL the candidate rows are locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent
senders take disjoint batches; on SQLite (where a write transaction locks the whole database, and the
project opens transactions with BEGIN IMMEDIATE) the conditional ``UPDATE ... WHERE state='queued'``
is the guard.

A worker that dies leaves its rows in ``sending``. A claim is dead when none of its rows was handed to
the provider for ``STALE_AFTER`` (a live worker hands one over at least every provider timeout: SMTP
``EMAIL_TIMEOUT`` and anymail's 30 s are far below it). ``dead_claims`` tells apart, by
``send_started_at`` (committed before the hand-over), the rows never handed over, which go back to
``queued``, from the one the provider had when the worker died, which is in doubt (``campaigns.sender``
decides what happens to it).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import Message

STALE_AFTER = timedelta(seconds=settings.SENDER_STALE_SECONDS)  # default 5 minutes


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
            state=Message.State.SENDING, claim_token=token, claimed_at=now, send_started_at=None
        )
    return list(
        Message.objects.filter(claim_token=token, state=Message.State.SENDING)
        .select_related("store", "customer", "template", "flow", "step", "trigger_event", "enrollment")
        .order_by("id")
    )


def _dead(now: datetime) -> Q:
    cutoff = now - STALE_AFTER
    live = Message.objects.filter(claim_token=OuterRef("claim_token"), send_started_at__gte=cutoff)
    return Q(claimed_at__lt=cutoff) & ~Q(claim_token="") & ~Exists(live)


def requeue_unstarted(now: datetime | None = None) -> int:
    """Rows of dead claims that were never handed to the provider: queued again (nobody has them)."""
    now = now or timezone.now()
    return Message.objects.filter(_dead(now), state=Message.State.SENDING, send_started_at__isnull=True).update(
        state=Message.State.QUEUED, claim_token="", next_attempt_at=now,
        note="queued again: its sending worker stopped before handing it to the provider")


def in_doubt(now: datetime | None = None) -> list[Message]:
    """Rows of dead claims that the provider had when the worker died (at most one per dead worker)."""
    now = now or timezone.now()
    return list(Message.objects.filter(_dead(now), state=Message.State.SENDING, send_started_at__isnull=False)
                .select_related("store__email_provider").order_by("id"))


def unrecorded_sends(now: datetime | None = None) -> list[Message]:
    """Rows a dead worker marked sent but whose ``email.sent`` event it did not record (it clears the
    claim token once recorded)."""
    now = now or timezone.now()
    return list(Message.objects.filter(_dead(now), state=Message.State.SENT).order_by("store_id", "id"))


def release(ids: list[int], note: str = "") -> int:
    """Give back claimed rows this worker has not handed to the provider (out of time, provider down)."""
    return Message.objects.filter(id__in=ids, state=Message.State.SENDING, send_started_at__isnull=True).update(
        state=Message.State.QUEUED, claim_token="", note=note[:300])
