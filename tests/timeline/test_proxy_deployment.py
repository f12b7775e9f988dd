"""Slow clients cannot freeze the server when it runs as the README deploys it (issue 13 item 8).

The real thing on loopback: gunicorn with ``gunicorn.conf.py`` (one process, two threads) behind nginx with
``docs/nginx.conf``. Stalled clients (slowloris: headers never finished) hold gunicorn's threads when they
reach it directly, and only an nginx connection when it is in front.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX),
                                reason="nginx is not installed (apt-get install nginx-light)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, what: str) -> None:
    for _ in range(200):  # bounded: at most ~20 s
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            try:
                process.wait(timeout=0.1)  # returns early if it exits
            except subprocess.TimeoutExpired:
                pass
    raise RuntimeError(f"{what} did not start listening")


def site_config(gunicorn_port: int, port: int, tmp: Path) -> str:
    """docs/nginx.conf as documented, on loopback without TLS."""
    site = (ROOT / "docs" / "nginx.conf").read_text()
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{gunicorn_port};")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};")
    site = re.sub(r"\n\s*ssl_certificate\S* [^;]+;", "", site)
    site = site.replace("/srv/shopconnect/var/static/", f"{tmp}/static/")
    return site[: site.rindex("server {")]  # without the port-80 redirect


@pytest.fixture
def servers(tmp_path, settings):
    settings.OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]  # this test's own requests to its loopback servers
    gunicorn_port, nginx_port = free_port(), free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "WEB_WORKERS": "1", "WEB_THREADS": "2"}
    env.pop("REDIS_URL", None)
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "shopconnect.wsgi", "-c", str(ROOT / "gunicorn.conf.py"),
                            "--bind", f"127.0.0.1:{gunicorn_port}"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=(tmp_path / "gunicorn.log").open("wb"))
    (tmp_path / "static").mkdir()
    (tmp_path / "site.conf").write_text(site_config(gunicorn_port, nginx_port, tmp_path))
    temp = " ".join(f"{name}_temp_path {tmp_path}/{name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                         "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; user root; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{ access_log off; {temp} include {tmp_path}/site.conf; }}\n")
    proxy = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e",
                              str(tmp_path / "error.log")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(gunicorn_port, web, "gunicorn")
        wait_until_listening(nginx_port, proxy, "nginx")
        assert answers(gunicorn_port, 60), "gunicorn's worker did not load the application"
        yield gunicorn_port, nginx_port
    finally:
        for process in (proxy, web):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def stall(port: int, count: int) -> list[socket.socket]:
    """Clients that start a request and never finish its headers."""
    stalled = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /collect/probe/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        stalled.append(sock)
    return stalled


def answers(port: int, timeout: float) -> bool:
    """A request that needs no database: the collect endpoint refusing a GET (405)."""
    try:
        return requests.get(f"http://127.0.0.1:{port}/collect/probe/", timeout=timeout).status_code == 405
    except requests.RequestException:
        return False


def test_stalled_clients_do_not_freeze_gunicorn_behind_the_documented_nginx(servers):
    gunicorn_port, nginx_port = servers
    assert answers(nginx_port, 10)  # through the proxy
    held = stall(nginx_port, 30)
    try:
        assert answers(nginx_port, 10)  # 30 stalled clients, two gunicorn threads: still answering
    finally:
        for sock in held:
            sock.close()


def test_without_the_proxy_the_same_clients_freeze_it(servers):
    """Why the deployment section insists on the proxy (and gunicorn listens on loopback only)."""
    gunicorn_port, _ = servers
    held = stall(gunicorn_port, 4)
    try:
        assert not answers(gunicorn_port, 3)
    finally:
        for sock in held:
            sock.close()
