"""Benchmark: signed Shopify ``orders/create`` webhooks into the app under gunicorn on PostgreSQL.

Run by hand (never in the test suite):

    .venv/bin/python bench/webhooks.py [--seconds 15] [--connections 32] [--web-workers 3] [--threads 4]

What it does, all on this machine:
1. recreates its own PostgreSQL database (``--database-url``, default ``.../bench_shopify``), migrates it
   and connects a Shopify store with ``connect_store``;
2. builds ``--bodies`` distinct, realistic, signed ``orders/create`` bodies of 5-10 KB (64-bit ids,
   money strings, non-ASCII names, 4-9 line items); every request gets its own ``X-Shopify-Event-Id``
   (the HMAC covers the body only), so every acknowledged request must be a stored delivery;
3. starts gunicorn (gthread) and loads it for ``--seconds`` with ``wrk`` (Debian package ``wrk``; a
   Python thread pool is the fallback, and it then competes for the same two cores);
4. prints acknowledged requests/s, p50/p99 latency, and stored vs acknowledged deliveries;
5. stops the web server and starts ``manage.py qcluster`` (``--drain-workers``) to process the inbox,
   printing the drain rate (deliveries/s into the timeline) and the events written.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SHOP = "bench-shop.myshopify.com"
SECRET = "bench-app-secret"
FIRST = ["Zoë", "Jürgen", "Ana", "Søren", "美咲", "Łukasz", "Chloé", "Mohammed", "Ева", "Björn"]
LAST = [
    "Ångström",
    "Müller",
    "Núñez",
    "Kowalski",
    "山田",
    "O'Brien",
    "Dvořák",
    "García",
    "Иванова",
    "Lindqvist",
]
PRODUCTS = [
    "Merino-Pullover „Fjäll“",
    "Wollsocken (2er-Pack)",
    "Regenjacke Ærø",
    "Mütze Nº5",
    "Thermobecher",
    "Rucksack 28 L",
    "Handschuhe Größe M",
    "Schal aus Alpaka",
    "Stirnlampe",
    "Trinkflasche 0,75 l",
]


def order_body(n: int, rng: random.Random) -> bytes:
    order_id = 5_800_000_000_000 + n
    customer_id = 7_400_000_000_000 + rng.randrange(0, max(1, n // 3 + 1))
    first, last = rng.choice(FIRST), rng.choice(LAST)
    items = []
    for i in range(rng.randint(4, 9)):
        price = f"{rng.randint(5, 180)}.{rng.choice(['00', '50', '90', '95'])}"
        title = rng.choice(PRODUCTS)
        items.append(
            {
                "id": 14_000_000_000_000 + n * 10 + i,
                "admin_graphql_api_id": f"gid://shopify/LineItem/{14_000_000_000_000 + n * 10 + i}",
                "fulfillable_quantity": 1,
                "fulfillment_service": "manual",
                "fulfillment_status": None,
                "gift_card": False,
                "grams": 300,
                "name": title,
                "price": price,
                "price_set": {
                    "shop_money": {"amount": price, "currency_code": "EUR"},
                    "presentment_money": {"amount": price, "currency_code": "EUR"},
                },
                "product_exists": True,
                "product_id": 8_100_000_000_000 + rng.randrange(500),
                "properties": [],
                "quantity": rng.randint(1, 3),
                "requires_shipping": True,
                "sku": f"SKU-{rng.randrange(99999)}",
                "taxable": True,
                "title": title,
                "total_discount": "0.00",
                "variant_id": 45_000_000_000_000 + rng.randrange(5000),
                "variant_inventory_management": "shopify",
                "variant_title": rng.choice(["S", "M", "L", "XL"]),
                "vendor": "Nordlicht",
                "tax_lines": [{"price": "3.19", "rate": 0.19, "title": "MwSt"}],
                "duties": [],
                "discount_allocations": [],
            }
        )
    total = sum(float(i["price"]) * i["quantity"] for i in items)
    address = {
        "first_name": first,
        "last_name": last,
        "address1": "Müllerstraße 12",
        "city": "Berlin",
        "zip": "10115",
        "country": "Germany",
        "country_code": "DE",
        "phone": "+4915112345678",
        "name": f"{first} {last}",
        "company": None,
        "address2": None,
        "province": None,
    }
    email = f"kunde{customer_id % 100000}@example.com"
    body = {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "app_id": 580111,
        "browser_ip": "203.0.113.7",
        "buyer_accepts_marketing": True,
        "cancel_reason": None,
        "cancelled_at": None,
        "cart_token": f"cart-{n}",
        "checkout_id": 36_000_000_000_000 + n,
        "checkout_token": hashlib.md5(str(n).encode()).hexdigest(),
        "confirmation_number": f"X{n:08d}",
        "confirmed": True,
        "contact_email": email,
        "created_at": "2026-02-03T14:12:09+01:00",
        "currency": "EUR",
        "customer_locale": "de",
        "discount_codes": [],
        "email": email,
        "financial_status": "paid",
        "fulfillment_status": None,
        "landing_site": "/products/merino-pullover-fjall",
        "name": f"#{1000 + n}",
        "order_number": 1000 + n,
        "processed_at": "2026-02-03T14:12:08+01:00",
        "source_name": "web",
        "subtotal_price": f"{total:.2f}",
        "total_price": f"{total + 4.9:.2f}",
        "total_tax": f"{total * 0.19 / 1.19:.2f}",
        "total_price_set": {"shop_money": {"amount": f"{total + 4.9:.2f}", "currency_code": "EUR"}},
        "updated_at": "2026-02-03T14:12:10+01:00",
        "billing_address": address,
        "shipping_address": address,
        "customer": {
            "id": customer_id,
            "email": email,
            "first_name": first,
            "last_name": last,
            "state": "enabled",
            "created_at": "2025-10-01T10:00:00+01:00",
            "updated_at": "2026-02-03T14:12:10+01:00",
            "tags": "",
            "currency": "EUR",
            "default_address": address,
            "email_marketing_consent": {
                "state": "subscribed",
                "opt_in_level": "single_opt_in",
                "consent_updated_at": "2025-10-01T10:00:00+01:00",
            },
        },
        "line_items": items,
        "refunds": [],
        "fulfillments": [],
        "shipping_lines": [{"code": "Standard", "price": "4.90", "title": "Standard", "source": "shopify"}],
        "note_attributes": [],
        "tags": "",
        "test": False,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def run(cmd: list[str], env: dict) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not re.fullmatch(r"bench_[a-z0-9_]+", name):
        sys.exit("the benchmark database name must start with bench_ (it is dropped and recreated)")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


INLINE_DRAIN = """
import os, sys
import django
from multiprocessing import Process
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopconnect.settings")
def run(part, parts):
    django.setup()
    from integrations.models import WebhookDelivery
    from integrations.tasks import process_delivery
    ids = WebhookDelivery.objects.filter(status="pending").order_by("id").values_list("id", flat=True)
    for delivery_id in list(ids)[part::parts]:
        process_delivery(delivery_id, manual=True)
if __name__ == "__main__":
    parts = int(sys.argv[1])
    procs = [Process(target=run, args=(n, parts)) for n in range(parts)]
    [p.start() for p in procs]
    [p.join() for p in procs]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited (is port {port} taken?)")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("gunicorn did not start")


LUA = r"""
local bodies = dofile("%(bodies)s")
counter, ok, other = 0, 0, 0  -- globals: done() reads them with thread:get
local threads = {}
function setup(thread) table.insert(threads, thread); thread:set("tid", #threads) end
function init(args) tid = tid or 0 end
function request()
  counter = counter + 1
  local b = bodies[(counter * 7 + tid * 131) %% #bodies + 1]
  return wrk.format("POST", "/webhooks/shopify/", {
    ["Content-Type"] = "application/json", ["X-Shopify-Topic"] = "orders/create",
    ["X-Shopify-Shop-Domain"] = "%(shop)s", ["X-Shopify-API-Version"] = "2025-10",
    ["X-Shopify-Hmac-Sha256"] = b[2], ["X-Shopify-Event-Id"] = "%(run)s-" .. tid .. "-" .. counter,
    ["X-Shopify-Webhook-Id"] = "wh-%(run)s-" .. tid .. "-" .. counter}, b[1])
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local acked, failed = 0, 0
  for _, t in ipairs(threads) do acked = acked + t:get("ok"); failed = failed + t:get("other") end
  io.write(string.format("ACKED %%d OTHER %%d P50 %%d P99 %%d\n", acked, failed,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_bodies(bodies: list[tuple[bytes, str]], path: Path) -> None:
    with path.open("wb") as f:
        f.write(b"return {\n")
        for body, signature in bodies:
            f.write(b"{[==[" + body + b']==], "' + signature.encode() + b'"},\n')
        f.write(b"}\n")


def load_with_wrk(port: int, bodies, seconds: int, connections: int, tmp: Path, run: str = "bench") -> dict:
    lua_bodies(bodies, tmp / "bodies.lua")
    (tmp / "bench.lua").write_text(LUA % {"bodies": tmp / "bodies.lua", "shop": SHOP, "run": run})
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(tmp / "bench.lua"),
            f"http://127.0.0.1:{port}/webhooks/shopify/",
        ],
        capture_output=True,
        text=True,
    ).stdout
    m = re.search(r"ACKED (\d+) OTHER (\d+) P50 (\d+) P99 (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "acked": int(m[1]),
        "other": int(m[2]),
        "p50_ms": int(m[3]) / 1000,
        "p99_ms": int(m[4]) / 1000,
        "seconds": seconds,
        "socket_errors": errors[1] if errors else "none",
    }


def load_with_python(port: int, bodies, seconds: int, connections: int) -> dict:
    latencies: list[float] = []
    counts = {"acked": 0, "other": 0}
    lock = threading.Lock()
    stop = time.time() + seconds

    def worker(tid: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        n = 0
        local, acked, other = [], 0, 0
        while time.time() < stop:
            n += 1
            body, signature = bodies[(n * 7 + tid * 131) % len(bodies)]
            started = time.perf_counter()
            conn.request(
                "POST",
                "/webhooks/shopify/",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Shop-Domain": SHOP,
                    "X-Shopify-Hmac-Sha256": signature,
                    "X-Shopify-Event-Id": f"bench-{tid}-{n}",
                    "X-Shopify-API-Version": "2025-10",
                },
            )
            response = conn.getresponse()
            response.read()
            local.append(time.perf_counter() - started)
            acked, other = (acked + 1, other) if response.status == 200 else (acked, other + 1)
        with lock:
            latencies.extend(local)
            counts["acked"] += acked
            counts["other"] += other

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(latencies, n=100)
    return {
        **counts,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "seconds": seconds,
        "socket_errors": "n/a",
    }


def stop(process: subprocess.Popen) -> None:
    """Stop a process group we started: TERM to its leader (a qcluster given TERM in every process at once
    hangs until killed), then KILL to the whole group if it does not finish in 20 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_shopify")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--bodies", type=int, default=1000)
    parser.add_argument("--drain-workers", type=int, default=2)
    parser.add_argument("--drain", choices=["qcluster", "inline"], default="qcluster",
                        help="qcluster: the real worker; inline: processes calling process_delivery directly, "
                             "to separate processing cost from broker cost")
    parser.add_argument("--drain-seconds", type=int, default=90, help="stop draining after this long")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument(
        "--redis-url",
        default="",
        help="use the django-q2 Redis broker at this URL (use a database index of its own, "
        "e.g. redis://127.0.0.1:6379/13); default: the ORM broker",
    )
    args = parser.parse_args()

    args.port = args.port or free_port()
    recreate_database(args.database_url)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_SECRET": SECRET,
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "600",
        "Q_WORKERS": str(args.drain_workers),
        "PUBLIC_BASE_URL": "https://bench.example",
    }
    env.pop("REDIS_URL", None)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    run([PY, "manage.py", "migrate", "--noinput"], env)
    store = json.loads(
        run([PY, "manage.py", "connect_store", "--platform", "shopify", "--domain", SHOP], env)
    )
    rng = random.Random(42)
    bodies = [(b, sign(b)) for b in (order_body(n, rng) for n in range(args.bodies))]
    sizes = [len(b) for b, _ in bodies]
    print(
        f"store {store['id']}; {len(bodies)} distinct orders/create bodies, "
        f"{min(sizes) / 1024:.1f}-{max(sizes) / 1024:.1f} KB (mean {statistics.mean(sizes) / 1024:.1f} KB)"
    )

    gunicorn = subprocess.Popen(
        [
            str(Path(PY).parent / "gunicorn"),
            "shopconnect.wsgi:application",
            "-b",
            f"127.0.0.1:{args.port}",
            "-w",
            str(args.web_workers),
            "-k",
            "gthread",
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for_port(args.port, gunicorn)
        time.sleep(1)
        if gunicorn.poll() is not None:  # never load a server that is not ours
            sys.exit(f"gunicorn exited (is port {args.port} taken?)")
        use_wrk = shutil.which("wrk") and not args.python_load
        with tempfile.TemporaryDirectory() as tmp:
            if use_wrk:  # a short warm-up (imports, connections), not counted: its deliveries are
                load_with_wrk(args.port, bodies[:50], 2, 8, Path(tmp), run="warmup")
            warm = count(args.database_url, "SELECT count(*) FROM integrations_webhookdelivery")
            result = (
                load_with_wrk(args.port, bodies, args.seconds, args.connections, Path(tmp))
                if use_wrk
                else load_with_python(args.port, bodies, args.seconds, args.connections)
            )
    finally:
        stop(gunicorn)
    stored = count(args.database_url, "SELECT count(*) FROM integrations_webhookdelivery") - warm
    print(
        f"\nbroker: {'Redis' if args.redis_url else 'ORM (PostgreSQL)'}; "
        f"load: {'wrk' if use_wrk else 'python threads'}, {args.connections} connections, {args.seconds} s; "
        f"gunicorn gthread {args.web_workers} workers x {args.threads} threads"
    )
    print(
        f"acknowledged: {result['acked'] / result['seconds']:.0f} requests/s "
        f"({result['acked']} in {args.seconds} s), "
        f"other answers: {result['other']}, socket errors: {result['socket_errors']}"
    )
    print(f"latency: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms")
    missing = max(0, result["acked"] - stored)
    print(
        f"stored {stored} vs acknowledged {result['acked']}: "
        f"{'none missing' if not missing else f'{missing} MISSING'}"
    )

    total = count(args.database_url, "SELECT count(*) FROM integrations_webhookdelivery")
    command = [PY, "manage.py", "qcluster"]
    if args.drain == "inline":  # the processing alone, without the broker: N processes calling the task
        command = [PY, "-c", INLINE_DRAIN, str(args.drain_workers)]
    worker = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.time()
    done = 0
    try:
        while time.time() - started < args.drain_seconds:
            time.sleep(1)
            done = count(
                args.database_url,
                "SELECT count(*) FROM integrations_webhookdelivery WHERE status <> 'pending'",
            )
            if done >= total:
                break
        elapsed = time.time() - started  # the drain's time, not the worker's shutdown
    finally:
        stop(worker)
    events = count(args.database_url, "SELECT count(*) FROM timeline_event")
    failed = count(
        args.database_url, "SELECT count(*) FROM integrations_webhookdelivery WHERE status = 'failed'"
    )
    broker = "Redis broker" if args.redis_url else "ORM broker"
    if args.drain == "inline":
        broker = "no broker: process_delivery called in a loop"
    print(
        f"\ndrain: {args.drain} with {args.drain_workers} workers ({broker}): {done}/{total} deliveries in "
        f"{elapsed:.1f} s = {done / elapsed:.0f} deliveries/s; {failed} failed; "
        f"{events} events on the timeline (an order redelivered under a new event id is recorded once)"
    )


if __name__ == "__main__":
    main()
