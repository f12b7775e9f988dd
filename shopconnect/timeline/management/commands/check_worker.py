"""Enqueue a task and wait for a running ``qcluster`` to execute it (used by .ci/run with Redis)."""

from django.core.management.base import BaseCommand, CommandError
from django_q.tasks import async_task, result


class Command(BaseCommand):
    help = "Prove that a task worker executes queued tasks: enqueue a ping and wait for its result."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=int, default=60, help="seconds to wait")

    def handle(self, *args, timeout, **opts):
        task_id = async_task("shopconnect.tasks.ping", "worker-ok", save=True)  # results are not kept by default
        value = result(task_id, wait=timeout * 1000)
        if value != "worker-ok":
            raise CommandError(f"no worker executed task {task_id} within {timeout} s")
        self.stdout.write(f"worker executed task {task_id}")
