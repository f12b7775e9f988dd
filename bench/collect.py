"""Benchmark of ``POST /collect/<collect_key>/``: batches of storefront events against gunicorn on PostgreSQL.

    .venv/bin/python bench/collect.py [--seconds 15] [--concurrency 8] [--workers 3] [--batch 50]
                                      [--database-url postgres://postgres@127.0.0.1:5432/bench_woo]

It migrates a database of its own, creates a store, starts gunicorn (production settings, DEBUG off, no
task worker: the queued tasks wait, as the endpoint only stores and enqueues), and posts batches of
``--batch`` unique events from ``--concurrency`` client threads on the same machine for ``--seconds``.
Prints accepted events/s and the latency percentiles of accepted requests, then the time a task takes to
record a batch on the timeline (the work the endpoint leaves to the worker). Target on the 2-core machine:
10,000 events/s accepted (200 batches of 50 per second) with p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
NAMES = [
    "page_viewed",
    "product_viewed",
    "product_viewed",
    "collection_viewed",
    "search_submitted",
    "product_added_to_cart",
    "product_removed_from_cart",
    "checkout_started",
]
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def env_for(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEY": "9x6mJbGdMN3ysq9Ycq8Ed7yRJ1CxdnD5M9QxnZ2tNT8=",
        "COLLECT_RATE_LIMIT_PER_MINUTE": "100000000",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "shopconnect.settings",
    }


def ensure_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def django_shell(env: dict[str, str], code: str) -> str:
    out = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def batch_body(size: int) -> bytes:
    client = f"bench-{random.randrange(5000)}"
    now = datetime.now(UTC).isoformat()
    events = []
    for _ in range(size):
        product = str(random.randrange(1, 500))
        events.append(
            {
                "id": str(uuid.uuid4()),
                "name": random.choice(NAMES),
                "timestamp": now,
                "client_id": client,
                "url": f"https://shop.example/product/{product}/",
                "data": {
                    "product_id": product,
                    "title": f"Product {product}",
                    "price": "19.90",
                    "quantity": 1,
                },
            }
        )
    return json.dumps({"events": events}).encode()


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def load(
    port: int, path: str, seconds: float, concurrency: int, size: int
) -> tuple[list[float], int, int, float]:
    bodies = [batch_body(size) for _ in range(200)]  # built before the clock starts; ids made unique below
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        mine, bad, i = [], 0, 0
        while time.monotonic() < stop:
            # A fresh batch key per request: prefix every event id (cheap, keeps ids unique).
            body = bodies[i % len(bodies)].replace(b'"id": "', f'"id": "{n}-{i}-'.encode())
            i += 1
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("POST", path, body, {"Content-Type": "text/plain", "User-Agent": UA})
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                conn.close()
            elapsed = time.perf_counter() - start
            if status == 202:
                mine.append(elapsed)
            else:
                bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], size, time.monotonic() - began


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 10 else max(values or [0])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_woo")
    args = parser.parse_args()

    env = env_for(args.database_url)
    ensure_database(args.database_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    key = django_shell(
        env,
        (
            "from django_q.models import OrmQ; from integrations.storefront.models import CollectBatch; "
            "OrmQ.objects.all().delete(); CollectBatch.objects.all().delete(); "  # a fair start each run
            "from shopconnect.timeline.models import Store; "
            "s, _ = Store.objects.get_or_create(platform='woocommerce', domain='bench.example', "
            "defaults={'name': 'Bench'}); print(s.collect_key)"
        ),
    )
    gunicorn = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "shopconnect.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(args.port)
        path = f"/collect/{key}/"
        load(args.port, path, 2, args.concurrency, args.batch)  # warm-up: connections, caches
        latencies, errors, size, elapsed = load(args.port, path, args.seconds, args.concurrency, args.batch)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    accepted = len(latencies)
    print(
        f"collect: {args.workers} gunicorn workers, {args.concurrency} clients, "
        f"batches of {size}, {elapsed:.1f} s"
    )
    print(f"  accepted batches: {accepted} ({accepted / elapsed:.0f}/s), other answers: {errors}")
    print(f"  accepted events/s: {accepted * size / elapsed:,.0f}")
    if latencies:
        print(
            f"  latency ms: p50 {percentile(latencies, 50) * 1000:.1f}"
            f"  p90 {percentile(latencies, 90) * 1000:.1f}"
            f"  p99 {percentile(latencies, 99) * 1000:.1f}  max {max(latencies) * 1000:.1f}"
        )

    # The heavy half, done by the worker: record some of the stored batches on the timeline.
    timing = django_shell(
        env,
        (
            "import time; from integrations.storefront.models import CollectBatch as B; "
            "from integrations.storefront.tasks import process_batch as p; "
            "ids = list(B.objects.filter(status='pending').order_by('id')"
            ".values_list('id', flat=True)[:40]); "
            "t = time.perf_counter(); [p(i) for i in ids]; d = time.perf_counter() - t; "
            "n = sum(len(b.events) for b in B.objects.filter(id__in=ids)); "
            "print(f'{len(ids)} {n} {d:.3f}')"
        ),
    )
    batches, events, seconds = timing.split()
    if int(batches):
        print(
            f"  task (one worker process): {batches} batches, {events} events recorded"
            f" in {float(seconds):.2f} s"
            f" = {int(events) / float(seconds):,.0f} events/s"
        )


if __name__ == "__main__":
    main()
