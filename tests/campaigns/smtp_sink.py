"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepted, for the fault tests and
``bench/faults.py``. ``hold_at=N`` makes it keep the N-th message and then not answer until ``release``
is set: the moment a sending worker has handed a message over and waits for the reply; ``drop_at=N``
keeps the N-th message and closes the connection instead of answering (a server that dies right after
accepting the data)."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections import Counter

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self, hold_at: int | None = None, drop_at: int | None = None) -> None:
        self.accepted: list[bytes] = []
        self.hold_at, self.drop_at = hold_at, drop_at
        self.holding = threading.Event()  # set once the held message is accepted (and unanswered)
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        with self.lock:
            self.accepted.append(envelope.content)
            held = self.hold_at is not None and len(self.accepted) == self.hold_at
            dropped = self.drop_at is not None and len(self.accepted) == self.drop_at
        if dropped:
            server.transport.close()
            return "421 closing"
        if held:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        return "250 OK"

    def recipients(self) -> Counter[str]:
        with self.lock:
            return Counter(email.message_from_bytes(raw)["To"] for raw in self.accepted)

    def start(self) -> int:
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self.port

    def stop(self) -> None:
        self.release.set()
        self.controller.stop()
