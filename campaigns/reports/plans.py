"""``without_jit``: run a report function with PostgreSQL's JIT compilation off.

Report queries are aggregates with correlated index lookups whose cost estimates cross PostgreSQL's JIT
threshold, and compiling them takes longer than running them (measured by ``bench/reports.py``: the holdout
lift query spent 1.4 s in JIT for 0.2 s of work). ``SET LOCAL`` scopes the change to one transaction,
so nothing else on the connection is affected. Other databases: no-op.
"""

from __future__ import annotations

import threading
from functools import wraps

from django.db import connection, transaction

_state = threading.local()


def without_jit(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if connection.vendor != "postgresql" or getattr(_state, "active", False):
            return fn(*args, **kwargs)
        with transaction.atomic():
            _state.active = True
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
                return fn(*args, **kwargs)
            finally:
                _state.active = False

    return wrapper
