"""The message published to `financial-record-changes` for every applied record change."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from finance_core.aggregates import AggregateDelta, AggregateKey
from finance_core.records import RecordState

CHANGE_SCHEMA_VERSION = 1


def _record_json(state: RecordState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    body = asdict(state)
    body["amount"] = None if state.amount is None else str(state.amount)
    return body


def encode_change(
    *,
    change_id: str,
    org_id: str,
    record_id: str,
    event_id: str,
    op: str,
    version: int,
    before: RecordState | None,
    after: RecordState | None,
    deltas: Mapping[AggregateKey, AggregateDelta],
    changed_at: str,
    reporting_currency: str | None,
) -> bytes:
    """JSON body of a change message (amounts as strings or integer minor units, never floats)."""
    body = {
        "schema_version": CHANGE_SCHEMA_VERSION,
        "change_id": change_id,
        "org_id": org_id,
        "record_id": record_id,
        "event_id": event_id,
        "op": op,
        "version": version,
        "changed_at": changed_at,
        "reporting_currency": reporting_currency,
        "before": _record_json(before),
        "after": _record_json(after),
        "delta": [
            {
                "entity_id": key.entity_id,
                "period": key.period,
                "scenario": key.scenario,
                "accounts": delta.accounts,
                "record_count": delta.record_count,
            }
            for key, delta in sorted(deltas.items())
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def decode_record(body: Mapping[str, Any] | None) -> RecordState | None:
    """RecordState from the JSON of a change message."""
    if body is None:
        return None
    values = dict(body)
    if values.get("amount") is not None:
        values["amount"] = Decimal(values["amount"])
    return RecordState(**values)


def decode_change(data: bytes) -> dict[str, Any]:
    """Parse a change message; `before`/`after` become RecordState, delta keys AggregateKey."""
    body = json.loads(data)
    body["before"] = decode_record(body.get("before"))
    body["after"] = decode_record(body.get("after"))
    body["delta"] = {
        AggregateKey(d["entity_id"], d["period"], d["scenario"]): AggregateDelta(
            {k: int(v) for k, v in d["accounts"].items()}, int(d["record_count"])
        )
        for d in body.get("delta", [])
    }
    return body
