"""``GET /healthz``: database and task worker status for operators and load balancers."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone


def healthz(request):
    body: dict = {"status": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means the database is not usable
        return JsonResponse({"status": "error", "database": f"error: {type(exc).__name__}"}, status=503)
    body["worker"] = worker_status()
    return JsonResponse(body)


def worker_status() -> dict:
    """What the task queue looks like: queued tasks and when a worker last finished one."""
    from django_q.brokers import get_broker
    from django_q.models import Task

    latest = Task.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    try:
        queued = get_broker().queue_size()
    except Exception:  # noqa: BLE001 - a broken broker is a status to report, not a crash
        return {"queued": None, "last_task_finished_at": latest.isoformat() if latest else None,
                "state": "broker unreachable"}
    stale = queued > 0 and (latest is None or timezone.now() - latest > timedelta(minutes=5))
    return {
        "queued": queued,
        "last_task_finished_at": latest.isoformat() if latest else None,
        "state": "stalled" if stale else "ok",
    }
