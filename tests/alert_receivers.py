"""Local notification receivers for alert tests: a webhook (http.server in a thread) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the webhook answered."""

    path: str
    body: dict[str, Any] | None
    status: int
    at: float


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with scripted status codes.

    `script` is consumed one status per request (then 200): e.g. [500] fails the first attempt.
    """

    def __init__(self, script: Iterable[int] = ()):
        self.script = list(script)
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = receiver.script.pop(0) if receiver.script else 200
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = None
                    receiver.requests.append(Received(self.path, body, status, time.time()))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"failing on purpose")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def delivered(self, path: str | None = None) -> list[Received]:
        """Requests answered with a 2xx (optionally on one path)."""
        with self._lock:
            return [r for r in self.requests if r.status < 300 and (path is None or r.path == path)]

    def all(self, path: str | None = None) -> list[Received]:
        """Every request (optionally on one path)."""
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpReceiver:
    """An SMTP server on 127.0.0.1 (aiosmtpd) keeping every message it receives."""

    port: int = field(default_factory=free_port)
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    def __enter__(self) -> SmtpReceiver:
        from aiosmtpd.controller import Controller

        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                receiver.messages.append(message)  # type: ignore[arg-type]
                receiver.recipients.append(list(envelope.rcpt_tos))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
