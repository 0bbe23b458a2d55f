"""Streams fact rows into BigQuery in batches, retrying transient failures in-process with backoff."""

from __future__ import annotations

import logging
import operator
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from adapters.errors import is_transient
from adapters.retry import SERVICE_CALL, call_with_retry
from google.cloud import bigquery
from pydantic import BaseModel

from analytics_sink.rows import row_json

log = logging.getLogger(__name__)

# insertAll accepts up to 50,000 rows and 10 MB per request; 500 rows (~250 KB) keeps each
# request small enough to retry cheaply.
BATCH_ROWS = 500
REQUEST_TIMEOUT_SECONDS = 15.0
# Per-row reasons of insertAll that say "try again", not "this row is wrong": `stopped` rows were
# valid but not inserted because another row of the request was invalid.
RETRYABLE_ROW_REASONS = frozenset({"stopped", "timeout", "backendError", "internalError", "rateLimitExceeded"})


@dataclass
class WriteResult:
    """Indexes of the rows written, and the reason for each row that could not be."""

    written: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    attempts: int = 0


class _RowsNotInserted(Exception):
    """Some rows of the request were not inserted for a reason that says "try again"."""


class FactWriter:
    """Writes rows with insertId = event id (best-effort de-duplication only; the views do not need it).

    Other row models (metric_values) name their insert id with `insert_id`.
    """

    def __init__(
        self,
        client: bigquery.Client,
        table_id: str,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        batch_rows: int = BATCH_ROWS,
        insert_id: Callable[[Any], str] = operator.attrgetter("event_id"),
    ):
        self._insert_id = insert_id
        self._client = client
        self._table_id = table_id
        self._attempts = max(1, attempts)
        self._sleep = sleep
        self._batch_rows = batch_rows

    @property
    def table_id(self) -> str:
        """project.dataset.table written to."""
        return self._table_id

    def write(self, rows: Sequence[BaseModel]) -> WriteResult:
        """Write every row (in batches); a row fails only after the retry budget or a permanent rejection."""
        result = WriteResult()
        for start in range(0, len(rows), self._batch_rows):
            self._write_batch(rows, list(range(start, min(start + self._batch_rows, len(rows)))), result)
        return result

    def _write_batch(self, rows: Sequence[BaseModel], pending: list[int], result: WriteResult) -> None:
        last_reason: dict[int, str] = {}
        state = {"pending": pending}

        def attempt() -> None:
            pending = state["pending"]
            result.attempts += 1
            try:
                errors = self._client.insert_rows_json(
                    self._table_id,
                    [row_json(rows[i]) for i in pending],
                    row_ids=[self._insert_id(rows[i]) for i in pending],
                    # The shared retry helper retries: the client's default retry would block for minutes.
                    retry=None,  # type: ignore[arg-type]  # None is documented: no client retry
                    timeout=REQUEST_TIMEOUT_SECONDS,
                )
            except Exception as exc:
                if not is_transient(exc):
                    reason = f"BigQuery rejected the insert into {self._table_id}: {exc}"
                    result.failed.update({i: reason for i in pending})
                    state["pending"] = []
                    return
                reason = f"BigQuery unavailable after {result.attempts} attempt(s): {type(exc).__name__}: {exc}"
                last_reason.update({i: reason for i in pending})
                raise
            retry: list[int] = []
            rejected = {}
            for error in errors:
                index = pending[int(error["index"])]
                reasons = error.get("errors") or []
                text = "; ".join(f"{r.get('reason')}: {r.get('message')}" for r in reasons) or "rejected"
                if reasons and all(r.get("reason") in RETRYABLE_ROW_REASONS for r in reasons):
                    retry.append(index)
                    last_reason[index] = f"BigQuery did not insert the row: {text}"
                else:
                    rejected[index] = f"BigQuery rejected the row: {text}"
            result.failed.update(rejected)
            again = set(retry)
            result.written.extend(i for i in pending if i not in rejected and i not in again)
            state["pending"] = retry
            if retry:
                raise _RowsNotInserted(f"{len(retry)} row(s) not inserted")

        policy = replace(SERVICE_CALL, attempts=self._attempts)
        try:
            call_with_retry(
                attempt,
                policy,
                retry_on=lambda exc: isinstance(exc, _RowsNotInserted) or is_transient(exc),
                what=f"insert into {self._table_id}",
                sleep=self._sleep,
            )
        except Exception as exc:
            if not (isinstance(exc, _RowsNotInserted) or is_transient(exc)):
                raise
            result.failed.update({i: last_reason.get(i, "not written") for i in state["pending"]})
