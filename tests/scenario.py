"""The integrator scenario: a shuffled feed with duplicates, stale versions, deletes, moves, two currencies
and invalid messages of many kinds, plus its ground truth computed independently of the pipeline."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

SCENARIOS = ["actual", "budget", "forecast"]


@dataclass(frozen=True)
class Shape:
    """Where a feed's lines fall: entities (with their currency), open periods, leaf accounts.

    The defaults are the demo org's (tests seed it with tests.support.seed_org); a larger shape
    comes with its own reference data (bench/bench_bulk.py).
    """

    entities: dict[str, str] = field(default_factory=lambda: {"us-east": "USD", "us-west": "USD", "eu-central": "EUR"})
    open_periods: tuple[str, ...] = ("2026-09", "2026-10", "2026-11", "2026-12")
    closed_period: str = "2026-03"
    leaf_accounts: tuple[str, ...] = (
        "4100",
        "4200",
        "4300",
        "5100",
        "5200",
        "6100",
        "6200",
        "6300",
        "6400",
        "7100",
        "8100",
        "8200",
        "9100",
    )
    summary_account: str = "6000"


DEMO_SHAPE = Shape()


@dataclass
class Scenario:
    """The messages to publish (in delivery order) and what the pipeline must end with."""

    org_id: str
    deliveries: list[bytes]
    valid_event_ids: set[str]
    invalid_event_ids: set[str]
    duplicate_copies: int
    org_deliveries: int
    final_records: dict[str, dict[str, Any]]
    kinds_of_invalid: set[str] = field(default_factory=set)

    def as_batches_and_singles(
        self, seed: int = 7, batched_share: float = 0.6
    ) -> tuple[list[dict[str, Any]], list[bytes]]:
        """The same deliveries as a mix: runs of them packed into records.batch messages, the rest single.

        A delivery that is not a JSON object (broken JSON) cannot be a line and stays single.
        Returns (batch messages, single messages).
        """
        rng = random.Random(seed)
        batches: list[dict[str, Any]] = []
        singles: list[bytes] = []
        index = 0
        while index < len(self.deliveries):
            size = rng.randint(5, 120)
            run, index = self.deliveries[index : index + size], index + size
            if rng.random() >= batched_share:
                singles += run
                continue
            lines = []
            for raw in run:
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    singles.append(raw)
            if lines:
                batches.append(
                    {
                        "type": "records.batch",
                        "batch_id": f"scenario-{len(batches):04d}",
                        "org_id": self.org_id,
                        "events": lines,
                    }
                )
        return batches, singles

    def expected_totals(self, fx_rates: dict[str, dict[str, str]]) -> dict[tuple[str, str, str], dict[str, Any]]:
        """(entity, period, scenario) -> {"accounts": {account: minor}, "record_count": n}, '_all' included.

        Written without the core's delta code: each final record is converted on its own (half-even
        at cents) and summed, which is what the aggregates must equal.
        """
        totals: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
            lambda: {"accounts": defaultdict(int), "record_count": 0}
        )
        for record in self.final_records.values():
            rate = (
                Decimal(1) if record["currency"] == "USD" else Decimal(fx_rates[record["period"]][record["currency"]])
            )
            minor = int((Decimal(record["amount"]) * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
            for entity in (record["entity_id"], "_all"):
                key = (entity, record["period"], record["scenario"])
                totals[key]["accounts"][record["account_id"]] += minor
                totals[key]["record_count"] += 1
        return {
            key: {
                "accounts": {a: v for a, v in value["accounts"].items() if v != 0},
                "record_count": value["record_count"],
            }
            for key, value in totals.items()
        }


def _amount(rng: random.Random) -> str:
    cents = rng.randint(-50_000, 5_000_000)
    return str(Decimal(cents).scaleb(-2))


def _record(rng: random.Random, shape: Shape) -> dict[str, Any]:
    entity = rng.choice(list(shape.entities))
    return {
        "entity_id": entity,
        "account_id": rng.choice(shape.leaf_accounts),
        "period": rng.choice(shape.open_periods),
        "scenario": rng.choice(SCENARIOS),
        "amount": _amount(rng),
        "currency": shape.entities[entity],
    }


def _invalid_messages(org_id: str, rng: random.Random, count: int, shape: Shape) -> list[tuple[str, bytes, str | None]]:
    """(kind, raw message, event id or None) of many kinds of bad input."""

    def base(i: int) -> dict[str, Any]:
        return {
            "event_id": f"bad-{i}",
            "type": "record.upserted",
            "org_id": org_id,
            "record_id": f"bad-rec-{i}",
            "version": 1,
            "occurred_at": "2026-10-05T12:00:00Z",
            "record": _record(rng, shape),
        }

    makers = [
        ("float_amount", lambda b: b["record"].__setitem__("amount", 12.34)),
        ("unknown_account", lambda b: b["record"].__setitem__("account_id", "0000")),
        ("summary_account", lambda b: b["record"].__setitem__("account_id", shape.summary_account)),
        ("unknown_entity", lambda b: b["record"].__setitem__("entity_id", "mars")),
        ("closed_period", lambda b: b["record"].__setitem__("period", shape.closed_period)),
        ("bad_period", lambda b: b["record"].__setitem__("period", "2026-13")),
        ("bad_currency", lambda b: b["record"].__setitem__("currency", "XYZ")),
        ("no_fx_rate", lambda b: b["record"].__setitem__("currency", "CHF")),
        ("bad_scenario", lambda b: b["record"].__setitem__("scenario", "wishful")),
        ("zero_version", lambda b: b.__setitem__("version", 0)),
        ("bad_timestamp", lambda b: b.__setitem__("occurred_at", "yesterday")),
        ("unknown_field", lambda b: b.__setitem__("priority", "high")),
        ("bad_record_id", lambda b: b.__setitem__("record_id", "a__b")),
        ("missing_record", lambda b: b.pop("record")),
        ("too_many_decimals", lambda b: b["record"].__setitem__("amount", "1.234")),
    ]
    messages: list[tuple[str, bytes, str | None]] = []
    for i in range(count):
        kind, mutate = makers[i % (len(makers) + 1)] if i % (len(makers) + 1) < len(makers) else ("bad_json", None)
        if mutate is None:
            messages.append((kind, f'{{"event_id": "bad-{i}", "org_id": "{org_id}", '.encode(), None))
            continue
        body = base(i)
        mutate(body)
        messages.append((kind, json.dumps(body).encode(), body["event_id"]))
    return messages


def build_scenario(
    org_id: str,
    records: int = 320,
    seed: int = 2026,
    duplicate_share: float = 0.10,
    invalid_share: float = 0.05,
    versions: tuple[int, int] = (2, 9),
    shape: Shape = DEMO_SHAPE,
) -> Scenario:
    """A reproducible feed for one org (by default more than 2,000 messages on the demo org's chart)."""
    rng = random.Random(seed)
    valid: list[dict[str, Any]] = []
    final: dict[str, dict[str, Any]] = {}
    for index in range(records):
        record_id = f"je-{index:04d}"
        state = _record(rng, shape)
        versions_of_record = rng.randint(*versions)
        highest: dict[str, Any] | None = None
        for version in range(1, versions_of_record + 1):
            roll = rng.random()
            if version > 1 and roll < 0.12:
                event = {"type": "record.deleted"}
                current = None
            else:
                if roll < 0.35:  # a move: another entity, period, scenario or account
                    moved = rng.sample(["entity_id", "period", "scenario", "account_id"], 2)
                    other = _record(rng, shape)
                    state = dict(state, **{k: other[k] for k in moved})
                    state["currency"] = shape.entities[state["entity_id"]]
                state = dict(state, amount=_amount(rng))
                event = {"type": "record.upserted", "record": dict(state)}
                current = dict(state)
            event.update(
                {
                    "event_id": f"{record_id}-v{version}",
                    "org_id": org_id,
                    "record_id": record_id,
                    "version": version,
                    "occurred_at": f"2026-10-{1 + version:02d}T08:00:00Z",
                }
            )
            valid.append(event)
            highest = current
        if highest is not None:
            final[record_id] = highest
    total_unique = int(len(valid) / (1 - invalid_share))
    invalid = _invalid_messages(org_id, rng, total_unique - len(valid), shape)
    messages: list[bytes] = [json.dumps(e).encode() for e in valid] + [raw for _, raw, _ in invalid]
    rng.shuffle(messages)
    copies = int(len(messages) * duplicate_share)
    deliveries = list(messages) + [rng.choice(messages) for _ in range(copies)]
    rng.shuffle(deliveries)
    # A message whose org cannot be read (broken JSON) is stored and counted globally, not per org.
    global_only = {raw for _, raw, event_id in invalid if event_id is None}
    return Scenario(
        org_id=org_id,
        deliveries=deliveries,
        valid_event_ids={e["event_id"] for e in valid},
        invalid_event_ids={eid for _, _, eid in invalid if eid},
        duplicate_copies=copies,
        org_deliveries=sum(1 for message in deliveries if message not in global_only),
        final_records=final,
        kinds_of_invalid={kind for kind, _, _ in invalid},
    )
