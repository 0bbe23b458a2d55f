"""The aggregates-folded message: what aggregations folded for one change message, for the capabilities that read.

Aggregations is the only writer of the readable aggregates and of the metric series. Once a change
message is folded into them (and into the KPI and variance documents), the view refresh publishes
this message on `financial-aggregates-folded`; alerts, trends and the BigQuery metric values
subscribe to it and only read. So a reader never sees an aggregate older than the change it was
told about, and never folds anything itself.

It carries what the readers need and nothing they must look up twice:
- `touched`: every aggregate key the change moved, with the accounts it moved there (the alert
  rules to evaluate follow from them);
- `versions`: each key's version (the sum of its shard sequence numbers) as folded, at least;
- `metric_rows`: the `metric_values` rows of the series cells the fold changed, computed from the
  series document before and after the write (exact, as the old per-write trigger did);
- `resend_series`: series whose every cell BigQuery should get again at their current version:
  the fold of a redelivered message finds them already written (by its own earlier attempt that
  failed before announcing), so it cannot know which cells that write changed.
The message is at least once and in any order: every reader is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from finance_core.aggregates import AggregateKey
from finance_core.analytics_rows import MetricValue
from finance_core.dimensions import DimensionKey

FOLDED_SCHEMA_VERSION = 1


class FoldedMessageError(ValueError):
    """An aggregates-folded message that cannot be decoded (a bug or a foreign publisher, never retried)."""


class AggregatesFolded(BaseModel):
    """What one fold of a change message brought into the readable documents of an org."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(default=FOLDED_SCHEMA_VERSION, description="Version of this message's layout.")
    org_id: str = Field(description="Organisation.")
    change_id: str = Field(description="The change message folded (alerts remember it per alert).")
    changed_at: str = Field(description="When the change was applied to the shards (ISO 8601).")
    last_event_id: str | None = Field(default=None, description="Event of the change's last record change.")
    touched: dict[str, list[str]] = Field(
        default_factory=dict, description="Aggregate document id -> the accounts the change moved in it."
    )
    versions: dict[str, int] = Field(
        default_factory=dict, description="Aggregate document id -> its version as folded (at least)."
    )
    dimension_keys: list[str] = Field(default_factory=list, description="Dimension aggregate ids folded.")
    metric_rows: list[MetricValue] = Field(
        default_factory=list, description="metric_values rows of the series cells this fold changed."
    )
    resend_series: list[str] = Field(
        default_factory=list, description="Series ids to send whole to BigQuery at their current version."
    )

    @property
    def keys(self) -> list[AggregateKey]:
        """The aggregate keys the change moved, sorted."""
        return sorted(AggregateKey.from_doc_id(doc_id) for doc_id in self.touched)

    @property
    def touched_accounts(self) -> dict[AggregateKey, tuple[str, ...]]:
        """Aggregate key -> the accounts the change moved in it."""
        return {AggregateKey.from_doc_id(doc_id): tuple(accounts) for doc_id, accounts in self.touched.items()}

    @property
    def dimensions(self) -> list[DimensionKey]:
        """The dimension aggregate keys folded, sorted."""
        return sorted(DimensionKey.from_doc_id(doc_id) for doc_id in self.dimension_keys)

    @classmethod
    def of(
        cls,
        org_id: str,
        change_id: str,
        changed_at: str,
        last_event_id: str | None,
        touched: Mapping[AggregateKey, Iterable[str]],
        versions: Mapping[AggregateKey, int] | None = None,
        dimension_keys: Iterable[DimensionKey] = (),
        metric_rows: Sequence[MetricValue] = (),
        resend_series: Iterable[str] = (),
    ) -> AggregatesFolded:
        """A message from typed keys."""
        return cls(
            org_id=org_id,
            change_id=change_id,
            changed_at=changed_at,
            last_event_id=last_event_id,
            touched={key.doc_id: sorted(set(accounts)) for key, accounts in sorted(touched.items())},
            versions={key.doc_id: int(version) for key, version in sorted((versions or {}).items())},
            dimension_keys=sorted(key.doc_id for key in dimension_keys),
            metric_rows=list(metric_rows),
            resend_series=sorted(set(resend_series)),
        )


def encode_folded(message: AggregatesFolded) -> bytes:
    """JSON bytes of the message (amounts as exact decimal strings)."""
    return message.model_dump_json().encode()


def decode_folded(data: bytes | str) -> AggregatesFolded:
    """Parse an aggregates-folded message; FoldedMessageError when it is not one."""
    try:
        message = AggregatesFolded.model_validate_json(data)
    except ValidationError as exc:
        raise FoldedMessageError(f"not an aggregates-folded message: {exc.errors()[0].get('msg')}") from exc
    if message.schema_version != FOLDED_SCHEMA_VERSION:
        raise FoldedMessageError(f"unknown aggregates-folded schema version {message.schema_version}")
    return message
