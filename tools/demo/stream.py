"""A realistic live feed for the demo org: new ledger lines, corrections, duplicates, late arrivals, bad messages."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from finance_core.days import period_days
from google.cloud import pubsub_v1

from tools.stack.config import StackConfig

TOPIC = "financial-events"
# Typical size of one posting per account, in units of the entity's currency.
POSTING_SIZES = {
    "4100": 42_000,
    "4200": 18_000,
    "4300": 9_000,
    "5100": 17_000,
    "5200": 5_500,
    "6100": 21_000,
    "6200": 7_500,
    "6300": 3_200,
    "6400": 2_400,
    "7100": 500,
    "8100": 900,
    "8200": 1_800,
    "9100": 4_500,
}
# Cash (1000) lines are the bank feed's: a customer receipt or a supplier payment, equally likely and of
# the same size, so the live stream moves the cash forecast a little either way while it runs; each
# carries the day it cleared, inside the month in progress and not after today (docs/kpis.md, "Cash").
CASH_ACCOUNT = "1000"
CASH_POSTING_SIZE = 12_000
ACCOUNT_WEIGHTS = [8, 5, 3, 6, 2, 5, 3, 1, 1, 1, 1, 1, 1, 4]
ENTITIES = {"us-east": "USD", "us-west": "USD", "eu-central": "EUR"}
SOURCES = ["netsuite", "sap-s4", "workday", "salesforce-billing"]
BANK_SOURCE = "bank-feed"


@dataclass(frozen=True)
class SentEvent:
    """What became of one event id is read back from what the pipeline stored (tools/demo/accounting.py)."""

    record_id: str
    version: int
    invalid: bool


@dataclass
class FeedStats:
    """What the feed sent, by kind, and when each event id was published (for lag measurement)."""

    sent: int = 0
    new_lines: int = 0
    corrections: int = 0
    duplicates: int = 0
    late: int = 0
    invalid: int = 0
    published_at: dict[str, float] = field(default_factory=dict)
    sent_events: dict[str, SentEvent] = field(default_factory=dict)
    """Every distinct event sent, by event id (a duplicate is the same event sent again)."""


class DemoFeed:
    """Generates contract-v1 messages for the current period of the demo org."""

    def __init__(
        self,
        org_id: str,
        period: str,
        seed: int,
        duplicates: float,
        late: float,
        invalid: float,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ):
        self.org_id = org_id
        self.period = period
        self.today = today
        self.rng = random.Random(seed)
        self.shares = (duplicates, late, invalid)
        self.lines: dict[str, dict[str, Any]] = {}
        self.sent_messages: list[bytes] = []
        self.counter = 0
        self.run_id = f"{seed}-{int(time.time())}"

    def _amount(self, account_id: str, sign: int = 1) -> str:
        size = POSTING_SIZES.get(account_id, CASH_POSTING_SIZE) * self.rng.lognormvariate(0, 0.45)
        return str((sign * Decimal(str(round(size, 2)))).quantize(Decimal("0.01")))

    def _cleared_on(self) -> str | None:
        """A day of the month in progress up to today (the bank feed has nothing later); None before it starts."""
        first = date.fromisoformat(f"{self.period}-01")
        last = min(period_days(self.period)[-1], self.today())
        if last < first:
            return None
        return (first + timedelta(days=self.rng.randrange((last - first).days + 1))).isoformat()

    def _event(self, record_id: str, version: int, record: dict[str, Any]) -> dict[str, Any]:
        self.counter += 1
        return {
            "event_id": f"demo-{self.run_id}-{self.counter}",
            "type": "record.upserted",
            "org_id": self.org_id,
            "record_id": record_id,
            "version": version,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "record": record,
        }

    def _new_line(self) -> tuple[str, dict[str, Any]]:
        entity = self.rng.choice(list(ENTITIES))
        account = self.rng.choices([*POSTING_SIZES, CASH_ACCOUNT], weights=ACCOUNT_WEIGHTS)[0]
        record_id = f"demo-{self.run_id}-je-{len(self.lines) + 1:05d}"
        record = {
            "entity_id": entity,
            "account_id": account,
            "period": self.period,
            "scenario": "actual",
            "amount": self._amount(account),
            "currency": ENTITIES[entity],
            "source": self.rng.choice(SOURCES),
        }
        if account == CASH_ACCOUNT:
            record["amount"] = self._amount(account, self.rng.choice((1, -1)))
            record["source"] = BANK_SOURCE
            cleared = self._cleared_on()
            if cleared is not None:
                record["date"] = cleared
        self.lines[record_id] = {"version": 1, "record": record, "history": []}
        return "new", self._event(record_id, 1, record)

    def _correction(self) -> tuple[str, dict[str, Any]]:
        record_id = self.rng.choice(list(self.lines))
        line = self.lines[record_id]
        line["history"].append((line["version"], dict(line["record"])))
        line["version"] += 1
        sign = -1 if line["record"]["amount"].startswith("-") else 1
        line["record"] = dict(line["record"], amount=self._amount(line["record"]["account_id"], sign))
        return "correction", self._event(record_id, line["version"], line["record"])

    def _late(self) -> tuple[str, dict[str, Any]] | None:
        candidates = [rid for rid, line in self.lines.items() if line["history"]]
        if not candidates:
            return None
        record_id = self.rng.choice(candidates)
        version, record = self.rng.choice(self.lines[record_id]["history"])
        # An older version arriving after a newer one: the pipeline must ignore it as stale.
        return "late", self._event(record_id, version, record)

    def _invalid(self) -> tuple[str, dict[str, Any] | bytes]:
        kind = self.rng.choice(["float", "account", "currency", "closed"])
        _, event = self._new_line()
        self.lines.pop(event["record_id"])
        record = event["record"]
        if kind == "float":
            record["amount"] = float(record["amount"])
        elif kind == "account":
            record["account_id"] = "9999"
        elif kind == "currency":
            record["currency"] = "GBP"
        else:
            record["period"] = "2025-06"
        return "invalid", event

    def next_message(self) -> tuple[str, bytes]:
        """(kind, message) of the next delivery."""
        duplicates, late, invalid = self.shares
        roll = self.rng.random()
        choice: tuple[str, Any] | None = None
        if roll < duplicates and self.sent_messages:
            return "duplicate", self.rng.choice(self.sent_messages)
        if roll < duplicates + late:
            choice = self._late()
        elif roll < duplicates + late + invalid:
            choice = self._invalid()
        elif roll < duplicates + late + invalid + 0.25 and self.lines:
            choice = self._correction()
        if choice is None:
            choice = self._new_line()
        kind, body = choice
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.sent_messages.append(data)
        return kind, data


def stream(
    config: StackConfig,
    feed: DemoFeed,
    rate: float,
    duration: float,
    stats: FeedStats,
    should_stop: Callable[[], bool] = lambda: False,
) -> FeedStats:
    """Publish the feed at `rate` messages/s for `duration` seconds with the official client."""
    config.apply_client_env()
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(config.project_id, TOPIC)
    started = time.monotonic()
    interval = 1.0 / rate
    next_at = started
    while time.monotonic() - started < duration and not should_stop():
        kind, data = feed.next_message()
        event = json.loads(data)
        event_id = event.get("event_id")
        stats.sent_events.setdefault(
            event_id, SentEvent(str(event.get("record_id")), int(event.get("version") or 0), kind == "invalid")
        )
        future = publisher.publish(topic, data, org_id=feed.org_id)
        stats.published_at.setdefault(event_id, time.time())
        future.result(timeout=30)
        stats.sent += 1
        attribute = {
            "new": "new_lines",
            "correction": "corrections",
            "duplicate": "duplicates",
            "late": "late",
            "invalid": "invalid",
        }[kind]
        setattr(stats, attribute, getattr(stats, attribute) + 1)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    return stats


def feed_messages(feed: DemoFeed, count: int) -> Iterator[tuple[str, bytes]]:
    """The next `count` messages of a feed (for tests and benchmarks)."""
    for _ in range(count):
        yield feed.next_message()
