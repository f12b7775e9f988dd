"""Keep ``MessageOutcome`` (one row per sent message: when it was sent, bounced, opened, clicked...) from
the ``email.*`` events of the timeline.

Every ``email.*`` event carries ``message_id`` (the outbox row id as a string, see ``campaigns.sender``).
``record_outcomes`` takes a batch of event ids and upserts the rows of the messages they belong to in
ONE statement: ``INSERT ... SELECT ... GROUP BY message ON CONFLICT (message) DO UPDATE``, keeping the
earliest time of each engagement, so a redelivered event or a second open changes nothing and the
order in which events arrive does not matter. ``rebuild_outcomes`` replays a store's events.

Opens are kept twice: ``opened_at`` (any open) and ``human_opened_at`` (opens without ``machine: true``,
the privacy-proxy prefetches), so each store's ``exclude_machine_opens`` picks its column at report time.
Bounces are any ``email.bounced`` (hard or soft).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection

from ..models import Message, MessageOutcome

EMAIL_TYPES = ("email.sent", "email.bounced", "email.opened", "email.clicked", "email.complained",
               "email.unsubscribed")
_COLUMNS = ("bounced_at", "opened_at", "human_opened_at", "clicked_at", "complained_at", "unsubscribed_at")
CHUNK = 5000


def _json_text(column: str, key: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def _is_machine(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"(({column} -> 'machine') = 'true'::jsonb)"
    return f"(json_extract({column}, '$.machine') IN (1, 'true'))"


def _digits(expr: str) -> str:
    """Only message ids that are plain integers join (a forged or odd value never errors)."""
    if connection.vendor == "postgresql":
        return f"{expr} ~ '^[0-9]{{1,18}}$'"
    return f"(CAST(CAST({expr} AS INTEGER) AS TEXT) = {expr})"


def _upsert(where: str, params: Sequence) -> int:
    qn = connection.ops.quote_name
    outcome = qn(MessageOutcome._meta.db_table)
    message = qn(Message._meta.db_table)
    types = ", ".join(f"'{t}'" for t in EMAIL_TYPES)
    mid = _json_text("e.properties", "message_id")
    cast = "bigint" if connection.vendor == "postgresql" else "INTEGER"
    materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""

    def first(condition: str) -> str:
        return f"MIN(CASE WHEN {condition} THEN ev.occurred_at END)"

    firsts = [
        first("ev.type = 'email.bounced'"),
        first("ev.type = 'email.opened'"),
        first("ev.type = 'email.opened' AND NOT ev.machine"),
        first("ev.type = 'email.clicked'"),
        first("ev.type = 'email.complained'"),
        first("ev.type = 'email.unsubscribed'"),
    ]
    updates = ", ".join(
        f"{c} = CASE WHEN {outcome}.{c} IS NULL OR excluded.{c} < {outcome}.{c} THEN excluded.{c} "
        f"ELSE {outcome}.{c} END"
        for c in _COLUMNS
    )
    # The CTE filters the batch's events first (PostgreSQL: MATERIALIZED), then joins messages by id.
    sql = f"""
        WITH ev AS {materialized} (
            SELECT e.store_id, e.type, e.occurred_at, CAST({mid} AS {cast}) AS message_id,
                   {_is_machine("e.properties")} AS machine
            FROM {qn("timeline_event")} e
            WHERE {where} AND e.type IN ({types}) AND {_digits(mid)}
        )
        INSERT INTO {outcome} (message_id, store_id, customer_id, campaign_id, flow_id, step_id, variant, ab_test,
                               sent_at, {", ".join(_COLUMNS)})
        SELECT m.id, m.store_id, m.customer_id, m.campaign_id, m.flow_id, m.step_id, m.variant, m.ab_test,
               COALESCE(MIN(m.sent_at), {first("ev.type = 'email.sent'")}), {", ".join(firsts)}
        FROM ev JOIN {message} m ON m.id = ev.message_id AND m.store_id = ev.store_id
        WHERE true
        GROUP BY m.id, m.store_id, m.customer_id, m.campaign_id, m.flow_id, m.step_id, m.variant, m.ab_test
        ON CONFLICT (message_id) DO UPDATE SET
            sent_at = COALESCE({outcome}.sent_at, excluded.sent_at), {updates}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.rowcount


def record_outcomes(store_id: int, event_ids: Sequence[int]) -> int:
    """Fold these events (any type: non-email ones are ignored) into the outcomes of their messages."""
    done = 0
    ids = list(event_ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        done += _upsert(f"e.store_id = %s AND e.id IN ({', '.join(['%s'] * len(chunk))})", [store_id, *chunk])
    return done


def rebuild_outcomes(store_id: int, since: datetime | None = None, until: datetime | None = None) -> int:
    """Recompute the outcomes of a store's messages sent in [since, until) from the timeline."""
    messages = Message.objects.filter(store_id=store_id)
    if since:
        messages = messages.filter(sent_at__gte=since)
    if until:
        messages = messages.filter(sent_at__lt=until)
    MessageOutcome.objects.filter(message__in=messages).delete()
    where = "e.store_id = %s"
    params: list = [store_id]
    if since:
        where += " AND e.occurred_at >= %s"
        params.append(connection.ops.adapt_datetimefield_value(since))
    # events of those messages may come after ``until``: take everything after ``since``; the join to
    # already-kept rows of later messages only confirms their earliest times.
    return _upsert(where, params)
