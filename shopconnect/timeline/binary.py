"""Statements with server-side binding and binary parameters (PostgreSQL only).

Django's psycopg cursor binds on the client, quoting every element of a big array parameter with a
regular expression (and a ``bytea`` as hex text); on the hot paths (``record_events``' arrays, a webhook's
body) that quoting costs more than the statement. A plain psycopg cursor on the same connection (so the
same transaction) sends the values in binary. The statement is still logged where Django logs queries
(debug mode, ``assertNumQueries``), so query counts stay honest.
"""

from __future__ import annotations

import time

from django.db import connection


def execute_binary(sql: str, params: list, *, fetch: bool = False) -> list[tuple]:
    """Run SQL whose placeholders are ``%s`` with PARAMS bound in binary; the rows if FETCH."""
    import psycopg

    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql.replace("%s", "%b"), params)
        rows = cursor.fetchall() if fetch else []
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows
