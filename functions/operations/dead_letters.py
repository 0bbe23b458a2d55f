"""Counts the dead letters waiting on the hold subscriptions, per org, without consuming them."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from google.api_core import exceptions as google_exceptions

log = logging.getLogger(__name__)

PULL_MAX_MESSAGES = 1000
PULL_TIMEOUT_SECONDS = 5.0
# A peek looks at this many messages at most per subscription; past it the count says "at least".
PEEK_LIMIT = 10_000


def _org_of(message: Any) -> str | None:
    org = message.attributes.get("org_id")
    if org:
        return str(org)
    try:
        body = json.loads(message.data)
    except (ValueError, UnicodeDecodeError):
        return None
    return str(body.get("org_id")) if isinstance(body, dict) and body.get("org_id") else None


def peek_waiting(subscriber: Any, subscription_paths: Sequence[str]) -> Counter[str | None]:
    """Dead letters waiting per org (None: no org known), looked at and released at once.

    Each message pulled is made deliverable again immediately (ack deadline 0), so nothing is
    consumed; `./dev replay --dead-letters` and operators still find everything. Cloud
    Monitoring's subscription/num_undelivered_messages is the authoritative count in production
    (the alert policy uses it); this one attributes the messages to orgs.
    """
    waiting: Counter[str | None] = Counter()
    for path in subscription_paths:
        seen: set[str] = set()
        while len(seen) < PEEK_LIMIT:
            try:
                response = subscriber.pull(
                    request={"subscription": path, "max_messages": PULL_MAX_MESSAGES}, timeout=PULL_TIMEOUT_SECONDS
                )
            except (google_exceptions.DeadlineExceeded, google_exceptions.RetryError):
                break
            except google_exceptions.NotFound:
                log.warning("dead-letter subscription %s does not exist", path)
                break
            received = list(response.received_messages)
            if received:
                subscriber.modify_ack_deadline(
                    request={"subscription": path, "ack_ids": [m.ack_id for m in received], "ack_deadline_seconds": 0}
                )
            fresh = [m for m in received if m.message.message_id not in seen]
            if not fresh:
                break
            for item in fresh:
                seen.add(item.message.message_id)
                waiting[_org_of(item.message)] += 1
    return waiting
