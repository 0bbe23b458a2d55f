"""Operator paths of the sink: rebuild an org's facts from Firestore, and re-drive the dead letters."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# pubsub_v1 by its full name: it has no type information, and mypy does not see an untyped module as
# an attribute of the google.cloud namespace that the typed clients (bigquery, firestore) provide.
import google.cloud.pubsub_v1 as pubsub_v1
from adapters.errors import PermanentError, TransientError, map_exceptions
from adapters.firestore_codec import MalformedRecord, org_path, record_from_document, utc_now
from adapters.reference_store import ReferenceStore
from finance_core.analytics_rows import FinancialFact
from finance_core.facts import ReplayPlan, plan_replay
from finance_core.records import RecordState
from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery, firestore

from analytics_sink.dead_letters import FALLBACK_COLLECTION, is_sink_dead_letter
from analytics_sink.sink import AnalyticsSink
from analytics_sink.writer import BATCH_ROWS, FactWriter

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]
"""progress(done, total or None)"""

PULL_MAX_MESSAGES = 500
PULL_TIMEOUT_SECONDS = 5.0

TOP_ROWS_SQL = """
SELECT * EXCEPT (rank_in_record)
FROM (
  SELECT f.*, ROW_NUMBER() OVER (
    PARTITION BY record_id
    ORDER BY version DESC, IF(op = 'delete', 1, 0) DESC, ingested_at DESC, event_id DESC
  ) AS rank_in_record
  FROM `{table}` AS f
  WHERE org_id = @org_id
)
WHERE rank_in_record = 1
"""


@dataclass
class ReplayReport:
    """What a backfill of one org did."""

    org_id: str
    records: int = 0
    tombstones: int = 0
    rows_in_bigquery: int = 0
    plan: ReplayPlan = field(default_factory=ReplayPlan)
    written: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        """One paragraph for the operator."""
        plan = self.plan
        lines = [
            f"org {self.org_id}: {self.records} records and {self.tombstones} tombstones in Firestore, "
            f"{self.rows_in_bigquery} records in BigQuery",
            f"  already current: {plan.current}; written: {self.written} of {len(plan.rows)} rows "
            f"({plan.upserts} upserts, {plan.deletes} deletes) in {self.seconds:.1f}s",
        ]
        if plan.conflicts:
            lines.append(f"  newer in BigQuery than in Firestore (left alone): {', '.join(plan.conflicts[:10])}")
        if plan.unknown_accounts:
            lines.append(f"  account no longer in the chart (not written): {', '.join(plan.unknown_accounts[:10])}")
        if self.failed:
            first = next(iter(self.failed.values()))
            lines.append(f"  FAILED: {len(self.failed)} rows, e.g. {first}")
        return "\n".join(lines)


class FactReplayer:
    """Rebuilds `financial_facts` of an org from its Firestore records, writing only what is missing."""

    def __init__(self, db: firestore.Client, client: bigquery.Client, writer: FactWriter, references: ReferenceStore):
        self._db = db
        self._client = client
        self._writer = writer
        self._references = references

    def top_rows(self, org_id: str) -> dict[str, FinancialFact]:
        """The top-ranked row of every record of the org in BigQuery (deletes included)."""
        config = bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("org_id", "STRING", org_id)])
        with map_exceptions(f"reading the facts of {org_id} from BigQuery"):
            rows = self._client.query(TOP_ROWS_SQL.format(table=self._writer.table_id), job_config=config).result()
            return {row["record_id"]: FinancialFact(**dict(row.items())) for row in rows}

    def _records(self, org_id: str) -> tuple[list[RecordState], dict[str, datetime]]:
        records, updated_at = [], {}
        with map_exceptions(f"reading the records of {org_id}"):
            for snapshot in self._db.collection(f"{org_path(org_id)}/financial_records").stream():
                doc = snapshot.to_dict() or {}
                try:
                    state = record_from_document(org_id, snapshot.id, doc)
                except MalformedRecord as exc:
                    log.warning("replay skips %s", exc)
                    continue
                if state is not None:
                    records.append(state)
                    if isinstance(doc.get("updated_at"), datetime):
                        updated_at[snapshot.id] = doc["updated_at"]
        return records, updated_at

    def _tombstones(self, org_id: str) -> list[RecordState]:
        tombstones = []
        with map_exceptions(f"reading the tombstones of {org_id}"):
            for snapshot in self._db.collection(f"{org_path(org_id)}/deleted_records").stream():
                doc = snapshot.to_dict() or {}
                if doc.get("version") is None:
                    continue
                occurred = doc.get("occurred_at")
                tombstones.append(
                    RecordState(
                        org_id,
                        snapshot.id,
                        int(doc["version"]),
                        str(doc.get("event_id") or f"delete-{snapshot.id}"),
                        deleted=True,
                        occurred_at=occurred.isoformat() if isinstance(occurred, datetime) else occurred,
                    )
                )
        return tombstones

    def plan(self, org_id: str) -> ReplayReport:
        """Compare BigQuery with Firestore; the report's plan holds the rows to write."""
        reference = self._references.get(org_id)
        if reference is None:
            raise PermanentError(f"organization {org_id!r} does not exist")
        # BigQuery is read first: a record created after this read is streamed by the sink, and
        # is then in Firestore too, so it is never mistaken for a record Firestore lost.
        top = self.top_rows(org_id)
        records, updated_at = self._records(org_id)
        tombstones = self._tombstones(org_id)
        chart = reference.chart
        plan = plan_replay(
            records=records,
            tombstones=tombstones,
            top_in_bigquery=top,
            account_type=lambda account_id: chart.type_of(account_id).value if account_id in chart else None,
            reporting_currency=reference.reporting_currency,
            updated_at=updated_at,
            now=utc_now(),
        )
        return ReplayReport(org_id, len(records), len(tombstones), len(top), plan)

    def run(self, org_id: str, progress: Progress | None = None) -> ReplayReport:
        """Plan, then write the missing rows in batches."""
        started = utc_now()
        report = self.plan(org_id)
        rows = report.plan.rows
        if progress:
            progress(0, len(rows))
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start : start + BATCH_ROWS]
            result = self._writer.write(batch)
            report.written += len(result.written)
            report.failed.update({batch[i].record_id: reason for i, reason in result.failed.items()})
            if progress:
                progress(start + len(batch), len(rows))
        report.seconds = (utc_now() - started).total_seconds()
        return report


@dataclass
class DrainReport:
    """What re-driving the dead letters did."""

    pulled: int = 0
    written: int = 0
    left_for_other_consumers: int = 0
    kept: dict[str, str] = field(default_factory=dict)
    """Change id -> why it stays parked (still cannot be written)."""
    from_firestore: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One paragraph for the operator."""
        lines = [
            f"dead letters: {self.pulled} re-driven ({self.from_firestore} from the Firestore fallback), "
            f"{self.written} rows written in {self.seconds:.1f}s"
        ]
        if self.left_for_other_consumers:
            lines.append(f"  left in place for other consumers: {self.left_for_other_consumers}")
        if self.kept:
            change, reason = next(iter(self.kept.items()))
            lines.append(f"  still parked: {len(self.kept)}, e.g. {change}: {reason}")
        return "\n".join(lines)


@dataclass
class _Parked:
    key: str
    data: bytes
    ack_id: str | None = None
    """Set for a message of the dead-letter subscription."""
    ref: firestore.DocumentReference | None = None
    """Set for a change parked in the Firestore fallback."""


class DeadLetterDrain:
    """Writes the rows of dead-lettered changes in batches; what is written is acknowledged, the rest stays."""

    def __init__(
        self,
        sink: AnalyticsSink,
        writer: FactWriter,
        db: firestore.Client,
        subscriber: pubsub_v1.SubscriberClient,
        subscription: str,
    ):
        self._sink = sink
        self._writer = writer
        self._db = db
        self._subscriber = subscriber
        self._subscription = subscription

    def drain(self, progress: Progress | None = None) -> DrainReport:
        """Re-drive every parked change of the sink (dead-letter subscription, then the Firestore fallback)."""
        started = utc_now()
        report = DrainReport()
        for batch in self._pubsub_batches(report):
            self._write(batch, report, progress)
        for batch in self._firestore_batches():
            report.from_firestore += len(batch)
            self._write(batch, report, progress)
        report.seconds = (utc_now() - started).total_seconds()
        return report

    def _write(self, batch: list[_Parked], report: DrainReport, progress: Progress | None) -> None:
        rows: list[FinancialFact] = []
        owners: list[_Parked] = []
        kept: list[_Parked] = []
        for parked in batch:
            report.pulled += 1
            try:
                message_rows = self._sink.rows_of(parked.data)
            except (PermanentError, TransientError) as exc:
                report.kept[parked.key] = str(exc)
                kept.append(parked)
                continue
            rows += message_rows
            owners += [parked] * len(message_rows)
        result = self._writer.write(rows)
        failed_owners = {id(owners[index]): reason for index, reason in result.failed.items()}
        for parked in {id(p): p for p in owners}.values():
            if id(parked) in failed_owners:
                report.kept[parked.key] = failed_owners[id(parked)]
                kept.append(parked)
        done = [p for p in {id(p): p for p in owners}.values() if id(p) not in failed_owners]
        report.written += len(result.written)
        # Acknowledge only after the rows are in: a crash in between re-drives them again, which
        # the views absorb.
        acks = [p.ack_id for p in done if p.ack_id]
        if acks:
            self._subscriber.acknowledge(request={"subscription": self._subscription, "ack_ids": acks})
        self._release([p.ack_id for p in kept if p.ack_id])
        refs = [p.ref for p in done if p.ref is not None]
        for start in range(0, len(refs), BATCH_ROWS):
            writes = self._db.batch()
            for ref in refs[start : start + BATCH_ROWS]:
                writes.delete(ref)
            writes.commit()
        if progress:
            progress(report.pulled, None)

    def _pull(self) -> list[Any]:
        try:
            response = self._subscriber.pull(
                request={"subscription": self._subscription, "max_messages": PULL_MAX_MESSAGES},
                timeout=PULL_TIMEOUT_SECONDS,
            )
        except (google_exceptions.DeadlineExceeded, google_exceptions.RetryError):
            return []
        except google_exceptions.GoogleAPICallError as exc:
            raise TransientError(f"pulling {self._subscription}: {exc}") from exc
        return list(response.received_messages)

    def _release(self, ack_ids: list[str]) -> None:
        """Make messages deliverable again at once (they stay in the subscription)."""
        if ack_ids:
            self._subscriber.modify_ack_deadline(
                request={"subscription": self._subscription, "ack_ids": ack_ids, "ack_deadline_seconds": 0}
            )

    def _pubsub_batches(self, report: DrainReport) -> Iterator[list[_Parked]]:
        seen: set[str] = set()
        others = 0
        while True:
            received = self._pull()
            fresh = [m for m in received if m.message.message_id not in seen]
            # Messages seen before (kept, or another consumer's) come back after being released:
            # a pull with nothing new means everything left has been looked at.
            self._release([m.ack_id for m in received if m.message.message_id in seen])
            if not fresh:
                report.left_for_other_consumers = others
                return
            batch, foreign = [], []
            for message in fresh:
                seen.add(message.message.message_id)
                attributes = message.message.attributes
                if not is_sink_dead_letter(attributes):
                    foreign.append(message.ack_id)
                    continue
                key = attributes.get("change_id") or attributes.get("event_id") or message.message.message_id
                batch.append(_Parked(key, message.message.data, ack_id=message.ack_id))
            others += len(foreign)
            self._release(foreign)
            if batch:
                yield batch

    def _firestore_batches(self) -> Iterator[list[_Parked]]:
        with map_exceptions("reading the Firestore dead letters of the sink"):
            snapshots = [*self._db.collection_group(FALLBACK_COLLECTION).stream()]
        for start in range(0, len(snapshots), BATCH_ROWS):
            yield [
                _Parked(s.id, str((s.to_dict() or {}).get("data", "")).encode(), ref=s.reference)
                for s in snapshots[start : start + BATCH_ROWS]
            ]
