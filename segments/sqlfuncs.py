"""Two small SQL functions the compiler needs on both backends, with identical results:

- ``LocalPart(ts, tz, "hour"|"isodow")``: the hour / ISO weekday of a UTC timestamp in a time zone
  (PostgreSQL ``AT TIME ZONE``; SQLite a registered Python function using zoneinfo).
- ``SafeNumber(text)``: a JSON property as a number, NULL when it is not one (PostgreSQL casts only
  strings that look like numbers, so a stray "abc" never aborts a segment query).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.db.backends.signals import connection_created
from django.db.models import FloatField, Func, IntegerField

_NUMBER = re.compile(r"^\s*-?[0-9]+(\.[0-9]+)?\s*$")


def local_part(value, tz: str, part: str) -> int | None:
    if value is None:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(ZoneInfo(tz))
    return local.hour if part == "hour" else local.isoweekday()


def safe_number(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return float(value) if _NUMBER.match(str(value)) else None


class LocalPart(Func):
    output_field = IntegerField()

    def __init__(self, ts, tz, part: str):
        assert part in ("hour", "isodow")
        self.part = part
        super().__init__(ts, tz)

    def as_sql(self, compiler, connection, **extra):
        (ts_sql, ts_params), (tz_sql, tz_params) = (compiler.compile(e) for e in self.source_expressions)
        if connection.vendor == "postgresql":
            field = "HOUR" if self.part == "hour" else "ISODOW"
            return f"CAST(EXTRACT({field} FROM ({ts_sql} AT TIME ZONE {tz_sql})) AS integer)", [
                *ts_params,
                *tz_params,
            ]
        return f"sc_local_part({ts_sql}, {tz_sql}, '{self.part}')", [*ts_params, *tz_params]


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
        connection.connection.create_function("sc_local_part", 3, local_part, deterministic=True)
        connection.connection.create_function("sc_number", 1, safe_number, deterministic=True)


def connect() -> None:
    connection_created.connect(register, dispatch_uid="segments.sqlfuncs")
