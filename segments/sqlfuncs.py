"""A small SQL function the compiler needs on both backends, with identical results:

``SafeNumber(text)``: a JSON property as a number, NULL when it is not one (PostgreSQL casts only strings
that look like numbers, so a stray "abc" never aborts a segment query).

(Hour-of-day and day-of-week conditions need no function: each event stores its local hour and weekday,
``shopconnect.timeline.localtime``.)
"""

from __future__ import annotations

import re

from django.db.backends.signals import connection_created
from django.db.models import FloatField, Func

_NUMBER = re.compile(r"^\s*-?[0-9]+(\.[0-9]+)?\s*$")


def safe_number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return float(value) if _NUMBER.match(str(value)) else None


class SafeNumber(Func):
    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return (
                f"(CASE WHEN ({sql}) ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$' THEN CAST(({sql}) AS double precision) END)",  # noqa: E501
                [*params, *params],
            )
        return f"sc_number({sql})", params


def register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("sc_number", 1, safe_number, deterministic=True)


def connect() -> None:
    connection_created.connect(register, dispatch_uid="segments.sqlfuncs")
