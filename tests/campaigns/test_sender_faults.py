"""A sending worker killed mid-batch (a real subprocess, SIGKILL) against a real SMTP server on loopback:
after recovery no row is left ``sending``, no recipient got a message twice, the one message in doubt is
visible, every delivered message has its ``email.sent`` event and provider id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from campaigns.models import EmailProvider, Message
from campaigns.outbox import STALE_AFTER, enqueue
from campaigns.sender import send_due_messages
from shopconnect.timeline.models import Event

from .smtp_sink import Sink

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="a second process must see the test's rows: SQLite's test database lives in this process's memory")

SENDER = "import django; django.setup(); from campaigns.sender import send_due_messages; send_due_messages()"


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_sender() -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("REDIS_URL", None)
    return subprocess.Popen([sys.executable, "-c", SENDER], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def smtp_shop(shop, subscribe, template):
    def make(sink: Sink, customers: int, in_doubt: str = EmailProvider.InDoubt.NON_MARKETING):
        port = sink.start()
        provider = shop.email_provider
        provider.kind, provider.credentials = EmailProvider.Kind.SMTP, f'{{"host": "127.0.0.1", "port": {port}}}'
        provider.smart_sending_hours, provider.rate_limit_per_minute, provider.in_doubt = 0, 0, in_doubt
        provider.save()
        enqueue([Message(store=shop, customer=subscribe(shop, f"c{i}@example.com"), template=template,
                         idempotency_key=f"kill:{i}") for i in range(customers)])
        return provider
    return make


@pytest.mark.django_db(transaction=True)
def test_a_sender_killed_mid_batch_loses_nothing_and_sends_nothing_twice(smtp_shop):
    sink = Sink(hold_at=7)  # the 7th message is accepted by the server; the worker dies before the reply
    smtp_shop(sink, 20)
    try:
        worker = start_sender()
        assert sink.holding.wait(60), "the sender never reached the 7th message"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        sink.release.set()
        states = dict(Message.objects.values_list("state").annotate(n=Count("id")))
        assert states == {"sent": 6, "sending": 14}  # each outcome was committed as the next row went out
        assert send_due_messages().get("sent", 0) == 0  # a live-looking claim is left alone...
        with time_machine.travel(timezone.now() + STALE_AFTER + timedelta(minutes=1)):
            result = send_due_messages()  # ...until it is stale: then recovered and the rest sent
    finally:
        sink.stop()
    assert result["requeued"] == 13 and result["in_doubt_unknown"] == 1 and result["sent"] == 13
    assert result["sent_recorded"] == 6  # the dead worker's email.sent events, recorded on recovery
    assert not Message.objects.filter(state="sending").exists()
    received = sink.recipients()
    assert len(received) == 20 and max(received.values()) == 1  # everyone once, nobody twice
    doubt = Message.objects.get(state="unknown")
    assert doubt.note.startswith("unknown: worker stopped during send")
    sent = Message.objects.filter(state="sent")
    assert sent.count() == 19 and not sent.filter(provider_message_id="").exists()
    assert Event.objects.filter(type="email.sent").count() == 19
    assert Message.objects.filter(state="failed").count() == 0  # nothing delivered is called failed


@pytest.mark.django_db(transaction=True)
def test_an_smtp_server_gone_before_its_reply_is_in_doubt_not_resent(smtp_shop):
    """The server accepted the data and died before answering: the message may have been delivered, so
    (default setting, marketing mail) it is not sent again; the other rows go on."""
    sink = Sink(drop_at=2)
    smtp_shop(sink, 4)
    try:
        result = send_due_messages()
    finally:
        sink.stop()
    assert result["sent"] == 3
    assert result.get("in_doubt") == 1
    assert Message.objects.get(state="unknown").note.startswith("unknown: no answer from the provider")
    assert not Message.objects.filter(state="sending").exists()
    assert max(sink.recipients().values()) == 1
