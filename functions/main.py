"""Entry point Firebase loads: sets up logging and exposes every trigger of the backend."""

from adapters.runtime import configure_logging

configure_logging()

# One import line per capability; each capability keeps its triggers in its own triggers.py.
from aggregations.triggers import (  # noqa: E402
    check_metric_definition,
    on_metric_definition_written,
    reconcile_aggregates,
    refresh_aggregate_views,
)
from alerts.triggers import (  # noqa: E402
    alert_console,
    escalate_alerts,
    evaluate_alerts,
    evaluate_runway_alerts,
    flush_alert_notifications,
)
from analytics_sink.triggers import sink_changes_to_bigquery, sink_metric_values_to_bigquery  # noqa: E402
from collaboration.triggers import (  # noqa: E402
    expire_presence,
    on_comment_written,
    reconcile_comment_counts,
    sweep_comment_counts,
)
from drilldown.triggers import export_table, record_history  # noqa: E402
from ingestion.triggers import (  # noqa: E402
    ingest_financial_event,
    ingest_financial_event_batch,
    ingest_manual_entry,
    ingest_upload,
    sweep_manual_entries,
)
from operations.triggers import period_close_status, refresh_pipeline_health  # noqa: E402
from organizations.triggers import manage_access, read_sheet, send_invitation  # noqa: E402
from realtime_processor.triggers import apply_record_changes, publish_pending_changes  # noqa: E402
from reports.triggers import download_report, on_period_written, on_report_requested, send_scheduled_reports  # noqa: E402
from trends.triggers import refresh_trends, sweep_trend_requests  # noqa: E402

__all__ = [
    # ingestion
    "ingest_financial_event",
    "ingest_financial_event_batch",
    "ingest_manual_entry",
    "ingest_upload",
    "sweep_manual_entries",
    # realtime processor
    "apply_record_changes",
    "publish_pending_changes",
    # aggregations
    "refresh_aggregate_views",
    "reconcile_aggregates",
    "on_metric_definition_written",
    "check_metric_definition",
    # drill-down (record history, exports)
    "record_history",
    "export_table",
    # analytics sink (BigQuery)
    "sink_changes_to_bigquery",
    "sink_metric_values_to_bigquery",
    # trends and forecasts
    "refresh_trends",
    "sweep_trend_requests",
    # alerts
    "evaluate_alerts",
    "evaluate_runway_alerts",
    "flush_alert_notifications",
    "escalate_alerts",
    "alert_console",
    # collaboration
    "expire_presence",
    "on_comment_written",
    "sweep_comment_counts",
    "reconcile_comment_counts",
    # operations
    "refresh_pipeline_health",
    "period_close_status",
    # organisations: membership and invitations
    "manage_access",
    "send_invitation",
    "read_sheet",
    # reports
    "on_report_requested",
    "download_report",
    "send_scheduled_reports",
    "on_period_written",
]
