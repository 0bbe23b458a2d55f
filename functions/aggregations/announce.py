"""Announces what aggregations folded (finance_core.folded) to the capabilities that read after it.

The view refresh, the reconciliation and a definition change's rebuild each publish one message
once their documents are written; the message is built here, with the BigQuery rows of the metric
series cells the write changed (computed from the bodies before and after, in memory).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from adapters.firestore_codec import utc_now
from finance_core.aggregates import AggregateKey
from finance_core.analytics_rows import MetricValue
from finance_core.dimensions import DimensionKey
from finance_core.folded import AggregatesFolded, encode_folded
from finance_core.metric_rows import metric_value_rows

from aggregations.series import SeriesWrite

log = logging.getLogger(__name__)

Publish = Callable[[bytes, Mapping[str, str]], None]
# Pub/Sub takes 10 MB per message: rows past this size are left to a resend of their whole series.
MAX_MESSAGE_BYTES = 8_000_000


def series_rows(org_id: str, writes: Iterable[SeriesWrite], computed_at: datetime) -> dict[str, list[MetricValue]]:
    """series id -> the metric_values rows of the cells each write changed."""
    return {w.series_id: metric_value_rows(org_id, w.before, w.after, computed_at) for w in writes}


class FoldAnnouncer:
    """Builds and publishes aggregates-folded messages; a failure raises (the caller's delivery is retried)."""

    def __init__(self, publish: Publish | None):
        self._publish = publish

    def announce(
        self,
        org_id: str,
        change_id: str,
        changed_at: str,
        last_event_id: str | None,
        touched: Mapping[AggregateKey, Iterable[str]],
        versions: Mapping[AggregateKey, int] | None = None,
        dimension_keys: Iterable[DimensionKey] = (),
        series: Sequence[SeriesWrite] = (),
        resend_series: Iterable[str] = (),
        origin: Mapping[str, str] | None = None,
    ) -> AggregatesFolded:
        """Publish what was folded for one change (with the rows of the series written) and return the message.

        `origin` (the change message's trace_id and published_at) rides along as attributes, so the
        readers log under the change's trace."""
        rows = series_rows(org_id, series, utc_now())
        resend = set(resend_series)
        message = AggregatesFolded.of(
            org_id,
            change_id,
            changed_at,
            last_event_id,
            touched,
            versions,
            dimension_keys,
            [row for series_id in sorted(rows) for row in rows[series_id]],
            resend,
        )
        data = encode_folded(message)
        # A very large fold (a rebuild of many periods) sends its biggest series whole instead.
        while len(data) > MAX_MESSAGE_BYTES and rows:
            biggest = max(rows, key=lambda series_id: len(rows[series_id]))
            del rows[biggest]
            resend.add(biggest)
            message = message.model_copy(
                update={
                    "metric_rows": [row for series_id in sorted(rows) for row in rows[series_id]],
                    "resend_series": sorted(resend),
                }
            )
            data = encode_folded(message)
        if self._publish is not None:
            traced = {k: v for k, v in (origin or {}).items() if k in ("trace_id", "published_at")}
            self._publish(data, {**traced, "org_id": org_id, "change_id": change_id})
        log.debug("announced the fold of change %s of %s (%d metric rows)", change_id, org_id, len(message.metric_rows))
        return message
