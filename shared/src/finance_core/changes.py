"""The change message: every record change one ingestion commit applied, with their combined aggregate deltas.

It is the typed contract between capabilities: ingestion stores it (`record_changes/{change_id}`),
the record-changes trigger applies its deltas to the aggregate shards and publishes it on
`financial-record-changes`, and every consumer (readable views, BigQuery, alerts, trends) decodes
it with `decode_change_message`. One message carries one ledger line or a whole chunk of a batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Literal

from finance_core.aggregates import AggregateDelta, AggregateKey, record_delta, sum_deltas
from finance_core.dimensions import DimensionKey, record_dimension_delta
from finance_core.records import RecordState

# 2: many changes per message (batches). 1: one change per message; still decoded, so messages
# published before an upgrade are consumed after it.
CHANGE_SCHEMA_VERSION = 2

ChangeOp = Literal["upsert", "delete"]


class ChangeMessageError(ValueError):
    """A change message that cannot be decoded (a bug or a foreign publisher, never retried)."""


@dataclass(frozen=True)
class RecordChange:
    """One applied change of one record: the live record before (if any) and the state after.

    `after` is the new live record, or the tombstone a delete left (`deleted=True`); `version`
    and `event_id` are those of the event that made the change.
    """

    record_id: str
    event_id: str
    version: int
    before: RecordState | None
    after: RecordState

    @property
    def op(self) -> ChangeOp:
        """'delete' when the change removed the record, else 'upsert'."""
        return "delete" if self.after.deleted else "upsert"

    @property
    def fact_state(self) -> RecordState | None:
        """The record a BigQuery fact row describes: the new one, or for a delete the one removed."""
        return self.before if self.after.deleted else self.after

    def deltas(self) -> dict[AggregateKey, AggregateDelta]:
        """Exact change of every aggregate this record change makes."""
        return record_delta(self.before, self.after)

    def dimension_deltas(self) -> dict[DimensionKey, AggregateDelta]:
        """Exact change of every dimension aggregate this record change makes."""
        return record_dimension_delta(self.before, self.after)


@dataclass(frozen=True)
class ChangeMessage:
    """What one commit applied to an org: its record changes and their summed aggregate deltas."""

    change_id: str
    org_id: str
    changed_at: str
    reporting_currency: str | None
    changes: tuple[RecordChange, ...]
    deltas: Mapping[AggregateKey, AggregateDelta] = field(default_factory=dict)
    # Per declared dimension value (finance_core.dimensions): empty when no record carries one.
    dimension_deltas: Mapping[DimensionKey, AggregateDelta] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        change_id: str,
        org_id: str,
        changed_at: str,
        reporting_currency: str | None,
        changes: Sequence[RecordChange],
    ) -> ChangeMessage:
        """A message whose deltas are the exact sum of its changes' deltas."""
        return cls(
            change_id,
            org_id,
            changed_at,
            reporting_currency,
            tuple(changes),
            combined_deltas(changes),
            combined_dimension_deltas(changes),
        )

    @property
    def keys(self) -> list[AggregateKey]:
        """Aggregate keys the message changes, sorted."""
        return sorted(self.deltas)

    @property
    def dimension_keys(self) -> list[DimensionKey]:
        """Dimension aggregate keys the message changes, sorted."""
        return sorted(self.dimension_deltas)

    @property
    def last_event_id(self) -> str | None:
        """Event id of the last change (readable aggregates show it so dashboards can measure lag)."""
        return self.changes[-1].event_id if self.changes else None


def combined_deltas(changes: Iterable[RecordChange]) -> dict[AggregateKey, AggregateDelta]:
    """One exact delta per aggregate key for many record changes (changes that cancel drop out)."""
    return sum_deltas(change.deltas() for change in changes)


def combined_dimension_deltas(changes: Iterable[RecordChange]) -> dict[DimensionKey, AggregateDelta]:
    """One exact delta per dimension aggregate key for many record changes."""
    return sum_deltas(change.dimension_deltas() for change in changes)


# --- JSON encoding (amounts as decimal strings or integer minor units, never floats) --------------


def state_json(state: RecordState | None) -> dict[str, Any] | None:
    """JSON-ready body of a record state."""
    if state is None:
        return None
    body = asdict(state)
    body["amount"] = None if state.amount is None else str(state.amount)
    return {k: v for k, v in body.items() if v is not None and v is not False} | {"deleted": state.deleted}


def state_from_json(body: Mapping[str, Any] | None) -> RecordState | None:
    """RecordState from `state_json`'s output."""
    if body is None:
        return None
    values = dict(body)
    if values.get("amount") is not None:
        values["amount"] = Decimal(values["amount"])
    return RecordState(**values)


def change_json(change: RecordChange) -> dict[str, Any]:
    """JSON-ready body of one record change."""
    return {
        "record_id": change.record_id,
        "event_id": change.event_id,
        "version": change.version,
        "before": state_json(change.before),
        "after": state_json(change.after),
    }


def change_from_json(body: Mapping[str, Any]) -> RecordChange:
    """RecordChange from `change_json`'s output."""
    after = state_from_json(body["after"])
    if after is None:
        raise ChangeMessageError(f"change of record {body.get('record_id')} has no 'after' state")
    return RecordChange(
        str(body["record_id"]), str(body["event_id"]), int(body["version"]), state_from_json(body.get("before")), after
    )


def encode_changes(changes: Iterable[RecordChange]) -> str:
    """Record changes as one compact JSON text (how a change document stores them: one string field
    encodes and decodes far faster than hundreds of nested maps)."""
    return json.dumps([change_json(change) for change in changes], separators=(",", ":"))


def decode_changes(text: str) -> tuple[RecordChange, ...]:
    """Inverse of encode_changes; ChangeMessageError if the text is not a list of changes."""
    try:
        return tuple(change_from_json(item) for item in json.loads(text))
    except ChangeMessageError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ChangeMessageError(f"undecodable record changes: {type(exc).__name__}: {exc}") from None


def encode_change_message(message: ChangeMessage) -> bytes:
    """JSON bytes of a change message (schema 2)."""
    body: dict[str, Any] = {
        "schema_version": CHANGE_SCHEMA_VERSION,
        "change_id": message.change_id,
        "org_id": message.org_id,
        "changed_at": message.changed_at,
        "reporting_currency": message.reporting_currency,
        "changes": [change_json(change) for change in message.changes],
        "delta": [
            {
                "entity_id": key.entity_id,
                "period": key.period,
                "scenario": key.scenario,
                **delta.counters(),
            }
            for key, delta in sorted(message.deltas.items())
        ],
    }
    if message.dimension_deltas:
        body["dimension_delta"] = [
            {"key": key.doc_id, "accounts": delta.accounts, "record_count": delta.record_count}
            for key, delta in sorted(message.dimension_deltas.items())
        ]
    return json.dumps(body, separators=(",", ":")).encode()


def decode_change_message(data: bytes | str) -> ChangeMessage:
    """Parse a change message (schema 2, or a schema-1 message of one change); ChangeMessageError if broken."""
    try:
        body = json.loads(data)
        deltas = {
            AggregateKey(d["entity_id"], d["period"], d["scenario"]): AggregateDelta(
                {str(k): int(v) for k, v in d["accounts"].items()},
                int(d["record_count"]),
                {str(day): {str(k): int(v) for k, v in a.items()} for day, a in (d.get("days") or {}).items()},
                {str(day): int(n) for day, n in (d.get("day_counts") or {}).items()},
            )
            for d in body.get("delta", [])
        }
        dimension_deltas = {
            DimensionKey.from_doc_id(d["key"]): AggregateDelta(
                {str(k): int(v) for k, v in d["accounts"].items()}, int(d["record_count"])
            )
            for d in body.get("dimension_delta", [])
        }
        if int(body.get("schema_version", 1)) == 1:
            changes = _schema_1_changes(body)
        else:
            changes = tuple(change_from_json(item) for item in body["changes"])
        return ChangeMessage(
            str(body["change_id"]),
            str(body["org_id"]),
            str(body["changed_at"]),
            body.get("reporting_currency"),
            changes,
            deltas,
            dimension_deltas,
        )
    except ChangeMessageError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ChangeMessageError(f"undecodable change message: {type(exc).__name__}: {exc}") from None


def _schema_1_changes(body: Mapping[str, Any]) -> tuple[RecordChange, ...]:
    """The one change of a schema-1 message (a delete carried no tombstone: rebuild it)."""
    before = state_from_json(body.get("before"))
    after = state_from_json(body.get("after"))
    if after is None:
        if before is None:
            return ()
        after = RecordState(before.org_id, before.record_id, int(body["version"]), str(body["event_id"]), deleted=True)
    return (RecordChange(str(body["record_id"]), str(body["event_id"]), int(body["version"]), before, after),)
