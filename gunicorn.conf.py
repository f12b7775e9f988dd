"""gunicorn settings read automatically when gunicorn starts in this directory (command-line flags win).

    .venv/bin/gunicorn shopconnect.wsgi --bind 0.0.0.0:8000

Threads (gthread) keep requests that wait on the database from holding a whole process.
"""

import gc
import multiprocessing
import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 5


def post_worker_init(worker):
    # Everything loaded so far (Django, the URLconf, the models) lives as long as the worker: keep it out
    # of the cyclic garbage collector, so that its full collections are short pauses instead of long ones.
    gc.freeze()
