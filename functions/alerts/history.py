"""Alert state changes to BigQuery `finance.alerts` through a Firestore outbox: none is lost while BigQuery is down."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from adapters.errors import map_exceptions
from adapters.firestore_codec import org_path, utc_now
from finance_core.alert_policy import AlertState
from finance_core.analytics_rows import AlertStateChange
from google.cloud import firestore

log = logging.getLogger(__name__)

OUTBOX = "alert_changes_outbox"
SWEEP_BATCH = 500
NUMERIC_QUANTUM = Decimal("0.000000001")


def _numeric(value: Any) -> Decimal | None:
    # NUMERIC keeps 9 decimals; scores and percentages are rounded there, infinite scores dropped.
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(NUMERIC_QUANTUM)


def state_change_row(
    org_id: str,
    state: AlertState,
    change: str,
    source_id: str,
    changed_at: datetime,
    current_value: Any = None,
    threshold: Any = None,
) -> dict[str, Any]:
    """A JSON-ready row of `finance.alerts` (AlertStateChange), with a change id stable across retries.

    `source_id` is what caused the change (the record change id, the notification id, the
    escalation level ...): the same logical change always gets the same change id, which is also
    the BigQuery insert id, and `alerts_latest` keeps one row per alert whatever got duplicated.
    """
    row = AlertStateChange(
        change_id=f"{state.fingerprint}:{change}:{source_id}",
        org_id=org_id,
        alert_id=state.fingerprint,
        rule_id=state.rule_id,
        severity=state.severity.value,
        status=state.status.value,
        change=change,
        title=state.title,
        current_value=_numeric(current_value),
        threshold=_numeric(threshold),
        escalation_level=state.escalation_level,
        changed_at=changed_at,
    )
    return row.model_dump(mode="json")


def outbox_id(row: Mapping[str, Any]) -> str:
    """Firestore id of a row's outbox entry (a hash: change ids may hold any character)."""
    return hashlib.sha256(str(row["change_id"]).encode()).hexdigest()[:40]


class AlertHistory:
    """Writes alert state changes to BigQuery; rows wait in `alert_changes_outbox` until BigQuery has them.

    Rows are put in the outbox by the same atomic write that changes the alert, pushed right after
    it, and deleted once BigQuery accepted them; a scheduled sweep pushes whatever is left (BigQuery
    down, or the invocation died in between). A row may reach BigQuery twice (a push whose delete
    failed): same change id, so the insert id de-duplicates and `alerts_latest` is exact anyway.
    """

    def __init__(self, db: firestore.Client, insert: Callable[[list[dict[str, Any]]], list[Any]]):
        self._db = db
        self._insert = insert

    def outbox_ref(self, org_id: str, row: Mapping[str, Any]) -> firestore.DocumentReference:
        """Outbox document of a row."""
        return self._db.document(f"{org_path(org_id)}/{OUTBOX}/{outbox_id(row)}")

    def stage(self, writes: firestore.Transaction | firestore.WriteBatch, org_id: str, row: Mapping[str, Any]) -> None:
        """Put a row in the outbox as part of a transaction or batch (so it commits with the alert change)."""
        writes.set(self.outbox_ref(org_id, row), {"row": dict(row), "created_at": utc_now()})

    def push(self, org_id: str, rows: Iterable[Mapping[str, Any]]) -> bool:
        """Insert staged rows into BigQuery and clear them from the outbox; False if BigQuery failed."""
        staged = [dict(row) for row in rows]
        if not staged:
            return True
        try:
            errors = self._insert(staged)
        except Exception as exc:  # noqa: BLE001 - BigQuery being down must not fail alerting
            log.warning("org %s: %d alert change(s) stay in the outbox, BigQuery failed: %s", org_id, len(staged), exc)
            return False
        if errors:
            log.warning("org %s: BigQuery refused alert rows (kept in the outbox): %s", org_id, errors)
            return False
        batch = self._db.batch()
        for row in staged:
            batch.delete(self.outbox_ref(org_id, row))
        with map_exceptions(f"clearing the alert outbox of {org_id}"):
            batch.commit()
        return True

    def sweep(self, org_id: str) -> int:
        """Push what the outbox of an org still holds; returns how many rows reached BigQuery."""
        with map_exceptions(f"reading the alert outbox of {org_id}"):
            docs = list(self._db.collection(f"{org_path(org_id)}/{OUTBOX}").limit(SWEEP_BATCH).stream())
        stored = [(doc.to_dict() or {}).get("row") for doc in docs]
        rows = [row for row in stored if row]
        if rows and self.push(org_id, rows):
            return len(rows)
        return 0


def bigquery_insert(
    client_factory: Callable[[], Any], table: Callable[[], str]
) -> Callable[[list[dict[str, Any]]], list[Any]]:
    """An insert function for AlertHistory: streaming insert with insert id = change id."""

    def insert(rows: list[dict[str, Any]]) -> list[Any]:
        client = client_factory()
        # No client-side retry: a failed insert leaves the rows in the outbox for the sweep, which
        # keeps an unavailable BigQuery from holding up the alert evaluation.
        return client.insert_rows_json(
            table(), rows, row_ids=[row["change_id"] for row in rows], retry=None, timeout=10
        )

    return insert
