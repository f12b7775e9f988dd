"""The outcomes of one store's share of a sending batch, written at every hand-over to the provider.

``campaigns.sender`` decides each row's outcome; the ledger makes it durable at the right moment: the
transaction that marks a row handed over (``send_started_at``) also writes every outcome decided since
the previous hand-over, so a killed worker leaves at most one row handed over without an outcome.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection, transaction

from .models import Message


class Ledger:
    """Outcomes of one store's batch, written at every hand-over to the provider (see the module docstring).

    ``hand_over(message)`` commits, in one transaction, the outcomes decided so far and the message's
    ``send_started_at``; ``flush()`` writes what is left at the end. Rows marked ``sent`` keep their claim
    token until their ``email.sent`` events are recorded (``_record_sent``), so a dead worker's are found."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.pending: list[tuple[int, str, dict]] = []

    def add(self, message: Message, state: str, **fields) -> None:
        if state != Message.State.SENT:
            fields.setdefault("claim_token", "")
        self.pending.append((message.pk, state, fields))

    def hand_over(self, message: Message, now: datetime) -> bool:
        """False when the row is no longer this worker's (its claim was taken as dead): do not send it."""
        with transaction.atomic():
            self._write()
            return bool(Message.objects.filter(pk=message.pk, state=Message.State.SENDING,
                                               claim_token=self.token).update(send_started_at=now))

    def flush(self) -> None:
        if self.pending:
            with transaction.atomic():
                self._write()

    def _write(self) -> None:
        groups: dict[tuple, list[tuple[int, dict]]] = defaultdict(list)
        for pk, state, fields in self.pending:
            groups[(state, *sorted(fields))].append((pk, fields))
        for (state, *names), rows in groups.items():
            if len(rows) > 1:
                _update_from_values(state, names, rows, self.token)
            else:
                for pk, fields in rows:
                    Message.objects.filter(pk=pk, state=Message.State.SENDING, claim_token=self.token).update(
                        state=state, **fields)
        self.pending = []


def _update_from_values(state: str, names: list[str], rows: list[tuple[int, dict]], token: str) -> None:
    """One ``UPDATE ... FROM`` a VALUES list for many rows with different values (Django's ``bulk_update``
    builds CASE expressions that take PostgreSQL seconds to plan at a few hundred rows). Works on
    PostgreSQL and SQLite >= 3.33."""
    fields = [Message._meta.get_field(name) for name in names]
    qn = connection.ops.quote_name
    pg = connection.vendor == "postgresql"
    sets = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" + (f"::{f.db_type(connection)}" if pg else "")
                     for f in fields)
    columns = ", ".join(["id"] + [qn(f.column) for f in fields])
    placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"] * len(rows))
    params: list = []
    for pk, values in rows:
        params.append(pk)
        params.extend(f.get_db_prep_save(values[f.name], connection) for f in fields)
    table = qn(Message._meta.db_table)
    sql = (f"WITH v({columns}) AS (VALUES {placeholders}) UPDATE {table} AS m SET state = %s, {sets} FROM v "
           f"WHERE m.id = v.id{'::bigint' if pg else ''} AND m.state = %s AND m.claim_token = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, state, Message.State.SENDING, token])
