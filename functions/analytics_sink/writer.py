"""Streams fact rows into BigQuery in batches, retrying transient failures in-process with backoff."""

from __future__ import annotations

import logging
import operator
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from adapters.errors import TRANSIENT_GOOGLE_ERRORS
from google.api_core import exceptions as google_exceptions
from google.cloud import bigquery
from pydantic import BaseModel

from analytics_sink.rows import row_json

log = logging.getLogger(__name__)

# insertAll accepts up to 50,000 rows and 10 MB per request; 500 rows (~250 KB) keeps each
# request small enough to retry cheaply.
BATCH_ROWS = 500
REQUEST_TIMEOUT_SECONDS = 15.0
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 4.0
# Per-row reasons of insertAll that say "try again", not "this row is wrong": `stopped` rows were
# valid but not inserted because another row of the request was invalid.
RETRYABLE_ROW_REASONS = frozenset({"stopped", "timeout", "backendError", "internalError", "rateLimitExceeded"})


@dataclass
class WriteResult:
    """Indexes of the rows written, and the reason for each row that could not be."""

    written: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    attempts: int = 0


def _transient(exc: BaseException) -> bool:
    """True for an outage (connection refused, timeout, 5xx, 429); False for a rejection (other 4xx)."""
    if isinstance(exc, google_exceptions.ClientError):
        return isinstance(exc, google_exceptions.TooManyRequests)
    # The client raises requests' own ConnectionError (not the builtin one) when the service is down.
    return isinstance(exc, (*TRANSIENT_GOOGLE_ERRORS, requests.exceptions.RequestException, OSError))


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

    def _backoff(self, attempt: int) -> None:
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2**attempt)
        self._sleep(delay * random.uniform(0.8, 1.2))

    def _write_batch(self, rows: Sequence[BaseModel], pending: list[int], result: WriteResult) -> None:
        last_reason: dict[int, str] = {}
        for attempt in range(self._attempts):
            if attempt:
                self._backoff(attempt - 1)
            result.attempts += 1
            try:
                errors = self._client.insert_rows_json(
                    self._table_id,
                    [row_json(rows[i]) for i in pending],
                    row_ids=[self._insert_id(rows[i]) for i in pending],
                    # Our own loop retries: the client's default retry would block for minutes.
                    retry=None,
                    timeout=REQUEST_TIMEOUT_SECONDS,
                )
            except Exception as exc:  # noqa: BLE001 - classified right below
                if not _transient(exc):
                    reason = f"BigQuery rejected the insert into {self._table_id}: {exc}"
                    result.failed.update({i: reason for i in pending})
                    return
                reason = f"BigQuery unavailable after {attempt + 1} attempt(s): {type(exc).__name__}: {exc}"
                last_reason.update({i: reason for i in pending})
                log.warning("insert into %s failed (attempt %d/%d): %s", self._table_id, attempt + 1,
                            self._attempts, exc)
                continue
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
            pending = retry
            if not pending:
                return
        result.failed.update({i: last_reason.get(i, "not written") for i in pending})
