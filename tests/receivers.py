"""Real receivers on loopback for alert delivery tests: an HTTP webhook and an SMTP server."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A webhook endpoint that de-duplicates by ``Idempotency-Key``, as a receiver should.

    ``hold_first``: the first request is held (not answered) until ``release`` is set, to
    simulate a worker dying mid-delivery."""

    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    processed: dict[str, bytes] = field(default_factory=dict)
    hold_first: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    first_arrived: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(Received(dict(self.headers.items()), body))
                first = len(receiver.requests) == 1
                if first:
                    receiver.first_arrived.set()
                if first and receiver.hold_first:
                    receiver.release.wait(60)
                    return  # the caller is gone: no answer
                key = self.headers.get("Idempotency-Key", "")
                receiver.processed.setdefault(key, body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    async def wait_for(self, count: int, seconds: float = 30.0) -> None:
        for _ in range(int(seconds * 20)):
            if len(self.processed) >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"webhook got {len(self.processed)} alerts, expected {count}")


class MailCollector:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    async def wait_for(self, count: int, seconds: float = 30.0) -> None:
        for _ in range(int(seconds * 20)):
            if len(self.messages) >= count:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"got {len(self.messages)} emails, expected {count}")
