"""Entry point Firebase loads: sets up logging and exposes every trigger of the backend."""

from adapters.runtime import configure_logging

configure_logging()

from aggregations.triggers import reconcile_aggregates, refresh_aggregate_views  # noqa: E402
from ingestion.triggers import ingest_financial_event, ingest_manual_entry  # noqa: E402
from realtime_processor.triggers import on_record_written, publish_pending_changes  # noqa: E402

__all__ = ["reconcile_aggregates", "refresh_aggregate_views", "ingest_financial_event", "ingest_manual_entry", "on_record_written", "publish_pending_changes"]
