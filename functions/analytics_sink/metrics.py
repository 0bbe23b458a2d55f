"""Streams the changed cells of a metric series write into BigQuery (`metric_values`, one request per write)."""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from adapters.errors import TransientError
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
    """Series document before/after -> rows of the cells that changed -> BigQuery.

    The series document is its own outbox: Firestore delivers every write to the trigger (again
    after a failure, retry=True), and each delivery's rows depend only on its own before and after,
    so repeated or reordered deliveries leave the same newest row per cell.
    """

    def __init__(self, writer: FactWriter):
        self._writer = writer

    def handle(
        self, org_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, computed_at: datetime
    ) -> int:
        """Write the rows of one series write; TransientError (the delivery is retried) when any is not written."""
        rows = metric_value_rows(org_id, before, after, computed_at)
        if not rows:
            return 0
        result = self._writer.write(rows)
        if result.failed:
            _, reason = min(result.failed.items())
            raise TransientError(
                f"{len(result.failed)} of {len(rows)} metric value row(s) of {org_id} "
                f"{rows[0].entity_id}/{rows[0].scenario} not written to {self._writer.table_id}: "
                f"{reason}"
            )
        log.debug(
            "metric series %s/%s of %s: %d row(s) written", rows[0].entity_id, rows[0].scenario, org_id, len(rows)
        )
        return len(rows)

    def resend(self, org_id: str, documents: Iterable[Mapping[str, Any]], computed_at: datetime) -> int:
        """Every cell of each series document at its current version (operator repair after a lost write)."""
        return sum(self.handle(org_id, None, document, computed_at) for document in documents)
