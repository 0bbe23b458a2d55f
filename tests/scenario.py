"""The integrator scenario: a shuffled feed with duplicates, stale versions, deletes, moves, two currencies
and invalid messages of many kinds, plus its ground truth computed independently of the pipeline."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

OPEN_PERIODS = ["2026-09", "2026-10", "2026-11", "2026-12"]
CLOSED_PERIOD = "2026-03"
ENTITIES = {"us-east": "USD", "us-west": "USD", "eu-central": "EUR"}
LEAF_ACCOUNTS = ["4100", "4200", "4300", "5100", "5200", "6100", "6200", "6300", "6400", "7100", "8100", "8200", "9100"]
SCENARIOS = ["actual", "budget", "forecast"]


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

    def expected_totals(self, fx_rates: dict[str, dict[str, str]]) -> dict[tuple[str, str, str], dict[str, Any]]:
        """(entity, period, scenario) -> {"accounts": {account: minor}, "record_count": n}, '_all' included.

        Written without the core's delta code: each final record is converted on its own (half-even
        at cents) and summed, which is what the aggregates must equal.
        """
        totals: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(lambda: {"accounts": defaultdict(int), "record_count": 0})
        for record in self.final_records.values():
            rate = Decimal(1) if record["currency"] == "USD" else Decimal(fx_rates[record["period"]][record["currency"]])
            minor = int((Decimal(record["amount"]) * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
            for entity in (record["entity_id"], "_all"):
                key = (entity, record["period"], record["scenario"])
                totals[key]["accounts"][record["account_id"]] += minor
                totals[key]["record_count"] += 1
        return {key: {"accounts": {a: v for a, v in value["accounts"].items() if v != 0},
                      "record_count": value["record_count"]} for key, value in totals.items()}


def _amount(rng: random.Random) -> str:
    cents = rng.randint(-50_000, 5_000_000)
    return str(Decimal(cents).scaleb(-2))


def _record(rng: random.Random) -> dict[str, Any]:
    entity = rng.choice(list(ENTITIES))
    return {
        "entity_id": entity,
        "account_id": rng.choice(LEAF_ACCOUNTS),
        "period": rng.choice(OPEN_PERIODS),
        "scenario": rng.choice(SCENARIOS),
        "amount": _amount(rng),
        "currency": ENTITIES[entity],
    }


def _invalid_messages(org_id: str, rng: random.Random, count: int) -> list[tuple[str, bytes, str | None]]:
    """(kind, raw message, event id or None) of many kinds of bad input."""
    def base(i: int) -> dict[str, Any]:
        return {"event_id": f"bad-{i}", "type": "record.upserted", "org_id": org_id, "record_id": f"bad-rec-{i}",
                "version": 1, "occurred_at": "2026-10-05T12:00:00Z", "record": _record(rng)}

    makers = [
        ("float_amount", lambda b: b["record"].__setitem__("amount", 12.34)),
        ("unknown_account", lambda b: b["record"].__setitem__("account_id", "0000")),
        ("summary_account", lambda b: b["record"].__setitem__("account_id", "6000")),
        ("unknown_entity", lambda b: b["record"].__setitem__("entity_id", "mars")),
        ("closed_period", lambda b: b["record"].__setitem__("period", CLOSED_PERIOD)),
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


def build_scenario(org_id: str, records: int = 320, seed: int = 2026, duplicate_share: float = 0.10,
                   invalid_share: float = 0.05) -> Scenario:
    """A reproducible feed of more than 2,000 messages for one org."""
    rng = random.Random(seed)
    valid: list[dict[str, Any]] = []
    final: dict[str, dict[str, Any]] = {}
    for index in range(records):
        record_id = f"je-{index:04d}"
        state = _record(rng)
        versions = rng.randint(2, 9)
        highest: dict[str, Any] | None = None
        for version in range(1, versions + 1):
            roll = rng.random()
            if version > 1 and roll < 0.12:
                event = {"type": "record.deleted"}
                current = None
            else:
                if roll < 0.35:      # a move: another entity, period, scenario or account
                    moved = rng.sample(["entity_id", "period", "scenario", "account_id"], 2)
                    other = _record(rng)
                    state = dict(state, **{k: other[k] for k in moved})
                    state["currency"] = ENTITIES[state["entity_id"]]
                state = dict(state, amount=_amount(rng))
                event = {"type": "record.upserted", "record": dict(state)}
                current = dict(state)
            event.update({"event_id": f"{record_id}-v{version}", "org_id": org_id, "record_id": record_id,
                          "version": version, "occurred_at": f"2026-10-{1 + version:02d}T08:00:00Z"})
            valid.append(event)
            highest = current
        if highest is not None:
            final[record_id] = highest
    total_unique = int(len(valid) / (1 - invalid_share))
    invalid = _invalid_messages(org_id, rng, total_unique - len(valid))
    messages: list[bytes] = [json.dumps(e).encode() for e in valid] + [raw for _, raw, _ in invalid]
    rng.shuffle(messages)
    copies = int(len(messages) * duplicate_share)
    deliveries = list(messages)
    for _ in range(copies):
        deliveries.insert(rng.randrange(len(deliveries) + 1), rng.choice(messages))
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
