"""gunicorn settings read automatically when gunicorn starts in this directory (command-line flags win).

    .venv/bin/gunicorn shopconnect.wsgi

Threads (gthread) keep requests that wait on the database from holding a whole process. A gthread worker
gives a connection to a thread as soon as it is readable and the thread then reads the whole request, so
a client that sends slowly holds a thread: gunicorn is meant to run behind a buffering proxy (nginx,
``docs/nginx.conf``, README "Deploying") and listens on loopback only unless ``WEB_BIND`` says otherwise.
"""

import gc
import multiprocessing
import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("WEB_THREADS", "4"))
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
# The proxy sends whole requests: anything slower than this is a stuck request, not a slow client.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
# Longer than nginx's upstream keepalive_timeout (60 s, docs/nginx.conf): the proxy, not gunicorn, closes an
# idle upstream connection, so it never sends a request on one gunicorn is closing (a 502).
keepalive = int(os.environ.get("WEB_KEEPALIVE", "75"))
# X-Forwarded-* headers are trusted from the proxy on loopback only (gunicorn's default, stated here).
forwarded_allow_ips = os.environ.get("WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 8190
limit_request_fields = 100


def post_worker_init(worker):
    # Everything loaded so far (Django, the URLconf, the models) lives as long as the worker: keep it out
    # of the cyclic garbage collector, so that its full collections are short pauses instead of long ones.
    gc.freeze()
