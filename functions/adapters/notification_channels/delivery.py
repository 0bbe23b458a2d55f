"""Bounded retries (the shared policy of adapters/retry.py) for one send, and what they achieved."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from adapters.firestore_codec import utc_now
from adapters.retry import EXTERNAL_SEND, Backoff, call_with_retry

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send failed; `retryable` says whether another attempt may succeed (5xx, 429, network).

    Its message is shown to every member of the org (on the alert and the notification), so the
    senders build it from safe parts and pass it through `redact`: never a URL, token or credential.
    """

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
# Long opaque runs (tokens, keys, webhook path secrets) that a server may echo back.
_OPAQUE = re.compile(r"[A-Za-z0-9_\-]{24,}")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without URLs, without the given secrets (and their URL path segments), without token-like runs."""
    for secret in secrets:
        if not secret:
            continue
        pieces = [secret, *(part for part in urlsplit(secret).path.split("/") if len(part) >= 6)]
        for piece in sorted(pieces, key=len, reverse=True):
            text = text.replace(piece, "[redacted]")
    text = _URL.sub("[url]", text)
    return _OPAQUE.sub("[redacted]", text)


@dataclass
class DeliveryOutcome:
    """The attempts made on one channel for one notification."""

    channel_id: str
    delivered: bool = False
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    delivered_at: datetime | None = None
    last_attempt_at: datetime | None = None

    @property
    def last_error(self) -> str | None:
        """The error of the last failed attempt (kept after a later success, for the record)."""
        return self.errors[-1] if self.errors else None


def deliver_with_retry(
    channel_id: str,
    send: Callable[[], None],
    *,
    policy: Backoff = EXTERNAL_SEND,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryOutcome:
    """Call `send` until it succeeds, at most `policy.attempts` times, with the shared jittered backoff.

    With the defaults a dead receiver costs 3 attempts within about 1.5 s plus the time-outs. An
    error that is not retryable (a 4xx: wrong URL, bad credentials) stops at once.
    """
    outcome = DeliveryOutcome(channel_id)

    def attempt() -> None:
        outcome.attempts += 1
        outcome.last_attempt_at = utc_now()
        try:
            send()
        except DeliveryError as exc:
            outcome.errors.append(f"attempt {outcome.attempts}: {exc}")
            log.warning("notification to channel %s failed (attempt %d): %s", channel_id, outcome.attempts, exc)
            raise

    try:
        call_with_retry(
            attempt,
            policy,
            retry_on=lambda exc: isinstance(exc, DeliveryError) and exc.retryable,
            what=f"notification to channel {channel_id}",
            sleep=sleep,
        )
    except DeliveryError:
        return outcome
    outcome.delivered = True
    outcome.delivered_at = utc_now()
    return outcome
