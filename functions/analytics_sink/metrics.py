"""Streams the metric series cells a fold changed into BigQuery (`metric_values`, one request per fold)."""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from adapters.errors import TransientError, map_exceptions
from adapters.firestore_codec import org_path, utc_now
from finance_core.analytics_rows import MetricValue
from finance_core.folded import AggregatesFolded
from finance_core.metric_rows import metric_value_rows

from analytics_sink.writer import FactWriter

log = logging.getLogger(__name__)

# A full series (60 metrics x 36 months) is about 2,200 rows of ~400 bytes: one insertAll
# request (limits: 50,000 rows, 10 MB) carries the whole write.
METRIC_BATCH_ROWS = 5000


def metric_writer(client: Any, table_id: str, attempts: int) -> FactWriter:
    """A writer on the metric_values table (insert id = the row's org/series/version/metric/period)."""
    return FactWriter(
        client, table_id, attempts=attempts, batch_rows=METRIC_BATCH_ROWS, insert_id=operator.attrgetter("row_id")
    )


class MetricSeriesSink:
    """Rows of the series cells a fold changed -> BigQuery.

    Aggregations computes the rows when it writes a series (from the document before and after)
    and sends them in its aggregates-folded message (finance_core.folded); a series it could not
    compute rows for (a redelivered fold) is sent whole, read here at its current version. Every
    row is stamped with its series version, so repeated or reordered deliveries leave the same
    newest row per cell.
    """

    def __init__(self, writer: FactWriter, db: Any = None):
        self._writer = writer
        self._db = db

    def handle_folded(self, folded: AggregatesFolded) -> int:
        """Write the rows of one fold (and its series to resend); TransientError when any is not written."""
        rows = list(folded.metric_rows)
        if folded.resend_series and self._db is not None:
            refs = [self._db.document(f"{org_path(folded.org_id)}/metric_series/{sid}") for sid in folded.resend_series]
            with map_exceptions(f"reading the metric series of {folded.org_id} to resend"):
                documents = [snap.to_dict() for snap in self._db.get_all(refs) if snap.exists]
            computed_at = utc_now()
            rows += [
                row for document in documents for row in metric_value_rows(folded.org_id, None, document, computed_at)
            ]
        return self.write_rows(folded.org_id, rows)

    def write_rows(self, org_id: str, rows: list[MetricValue]) -> int:
        """Write rows; TransientError (the delivery is retried) when any is not written."""
        if not rows:
            return 0
        result = self._writer.write(rows)
        if result.failed:
            _, reason = min(result.failed.items())
            raise TransientError(
                f"{len(result.failed)} of {len(rows)} metric value row(s) of {org_id} not written to "
                f"{self._writer.table_id}: {reason}"
            )
        log.debug("metric values of %s: %d row(s) written", org_id, len(rows))
        return len(rows)

    def handle(
        self, org_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, computed_at: datetime
    ) -> int:
        """Write the rows of one series write; TransientError (the delivery is retried) when any is not written."""
        return self.write_rows(org_id, metric_value_rows(org_id, before, after, computed_at))

    def resend(self, org_id: str, documents: Iterable[Mapping[str, Any]], computed_at: datetime) -> int:
        """Every cell of each series document at its current version (operator repair after a lost write)."""
        return sum(self.handle(org_id, None, document, computed_at) for document in documents)
