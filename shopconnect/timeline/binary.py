"""Statements with server-side binding and binary parameters (PostgreSQL only).

Django's psycopg cursor binds on the client, quoting every element of a big array parameter with a
regular expression; for the ``unnest`` arrays of the timeline's hot path that quoting costs more than the
statement. A plain psycopg cursor on the same connection (so the same transaction) sends them in binary.
"""

from __future__ import annotations

from django.db import connection


def execute_binary(sql: str, params: list, *, fetch: bool = False) -> list[tuple]:
    """Run SQL whose placeholders are ``%s`` with PARAMS bound in binary; the rows if FETCH."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql.replace("%s", "%b"), params)
        return cursor.fetchall() if fetch else []
