"""The local stack's mailbox: an SMTP server on loopback that keeps every message it receives as a file.

The functions' SMTP settings point at it locally (functions/.env.local), so invitations, alert and
report e-mails sent on the emulators land in `.stack/mail/*.eml` instead of failing; `./dev mail`
lists them with their links. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import re
import signal
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from tools.stack.config import STACK_DIR

MAIL_DIR = STACK_DIR / "mail"
_LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Mail:
    """One received message: who it was for, its subject, its text and the links in it."""

    path: Path
    recipients: tuple[str, ...]
    subject: str
    text: str

    @property
    def links(self) -> list[str]:
        """Every http(s) link of the plain-text part, in order."""
        return _LINK.findall(self.text)


def read_mail(path: Path) -> Mail:
    """A stored message (the recipients of the envelope are in its X-Envelope-To header)."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    recipients = tuple(r.strip() for r in str(message.get("X-Envelope-To", "")).split(",") if r.strip())
    return Mail(path, recipients, str(message.get("Subject", "")), text)


def messages(folder: Path = MAIL_DIR, to: str | None = None) -> list[Mail]:
    """Every stored message, oldest first (optionally only those to one address, case-insensitive)."""
    if not folder.exists():
        return []
    found = [read_mail(path) for path in sorted(folder.glob("*.eml"))]
    if to is not None:
        found = [m for m in found if to.lower() in (r.lower() for r in m.recipients)]
    return found


def wait_for_mail(to: str, after: int = 0, timeout: float = 60.0, folder: Path = MAIL_DIR) -> Mail:
    """The first message to `to` beyond the first `after` ones; TimeoutError with what did arrive."""
    deadline = time.monotonic() + timeout
    while True:
        found = messages(folder, to)
        if len(found) > after:
            return found[after]
        if time.monotonic() > deadline:
            raise TimeoutError(f"no e-mail to {to} within {timeout:.0f}s ({len(found)} before); mailbox: {folder}")
        time.sleep(0.2)


def serve(host: str, port: int, folder: Path) -> None:
    """Receive until SIGINT/SIGTERM, one file per message."""
    from aiosmtpd.controller import Controller

    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1_000_000_000))

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
            name = f"{time.time_ns()}-{next(counter):06d}.eml"
            header = f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
            (folder / name).write_bytes(header + envelope.content)
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname=host, port=port)
    controller.start()
    print(f"mailbox listening on {host}:{port}, messages in {folder}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, default=MAIL_DIR)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
