# Monitoring as code: log-based metrics over the functions' structured logs, alert policies with
# their runbooks (docs/operations.md), a dashboard, and SLOs. The metrics read the JSON lines the
# functions write (functions/adapters/logs.py): every invocation closes with `function`,
# `outcome` and `latency_ms`; refresh_aggregate_views logs each change message's `lag_ms`
# (publish -> folded); refresh_pipeline_health logs the backlog age and the dead letters waiting;
# a reconciliation that repaired drift logs `reconciliation_keys_repaired`; a sweep in which an
# org failed logs `orgs_failed`.

locals {
  # Cloud Functions (2nd gen) run on Cloud Run: their log entries are on cloud_run_revision.
  functions_logs = "resource.type=\"cloud_run_revision\" AND jsonPayload.function:*"

  monitoring_channels = concat(
    [for c in google_monitoring_notification_channel.email : c.id],
    var.alert_notification_channels,
  )

  runbook = var.runbook_url

  dead_letter_hold_subscriptions = [for name, s in local.subscriptions : name if endswith(name, "-dead-letter-hold")]
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.alert_notification_emails)

  project      = var.project_id
  display_name = "Finance Live ${var.environment} operators (${each.value})"
  type         = "email"
  labels = {
    email_address = each.value
  }
}

# --- log-based metrics --------------------------------------------------------------------------

resource "google_logging_metric" "invocations" {
  project     = var.project_id
  name        = "finance_live/invocations"
  description = "Function invocations by function and outcome (the closing line of each invocation)."
  filter      = "${local.functions_logs} AND jsonPayload.latency_ms>=0 AND jsonPayload.outcome=(\"ok\" OR \"failed\")"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "function"
      value_type  = "STRING"
      description = "Function name."
    }
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "ok or failed."
    }
  }

  label_extractors = {
    function = "EXTRACT(jsonPayload.function)"
    outcome  = "EXTRACT(jsonPayload.outcome)"
  }
}

resource "google_logging_metric" "invocation_latency" {
  project         = var.project_id
  name            = "finance_live/invocation_latency"
  description     = "Duration of function invocations (ms), by function."
  filter          = "${local.functions_logs} AND jsonPayload.latency_ms>=0 AND jsonPayload.outcome=(\"ok\" OR \"failed\")"
  value_extractor = "EXTRACT(jsonPayload.latency_ms)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
    labels {
      key         = "function"
      value_type  = "STRING"
      description = "Function name."
    }
  }

  label_extractors = {
    function = "EXTRACT(jsonPayload.function)"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 40
      growth_factor      = 1.4
      scale              = 1
    }
  }
}

resource "google_logging_metric" "change_lag" {
  project         = var.project_id
  name            = "finance_live/change_lag"
  description     = "Publish-to-folded lag of each change message (ms): from the integrator's publish to the readable aggregates dashboards listen to."
  filter          = "${local.functions_logs} AND jsonPayload.function=\"refresh_aggregate_views\" AND jsonPayload.lag_ms>=0"
  value_extractor = "EXTRACT(jsonPayload.lag_ms)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }

  bucket_options {
    # Bucket bounds 250, 500, 1000, 2000 ... ms: the 1 s SLO cut and the 2 s alert fall on bounds.
    exponential_buckets {
      num_finite_buckets = 12
      growth_factor      = 2
      scale              = 250
    }
  }
}

resource "google_logging_metric" "backlog_age" {
  project         = var.project_id
  name            = "finance_live/backlog_age"
  description     = "Age (s) of the oldest change document not yet applied and published, every minute (refresh_pipeline_health)."
  filter          = "${local.functions_logs} AND jsonPayload.function=\"refresh_pipeline_health\" AND jsonPayload.backlog_age_seconds>=0"
  value_extractor = "EXTRACT(jsonPayload.backlog_age_seconds)"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "s"
  }

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_logging_metric" "reconciliation_drift" {
  project     = var.project_id
  name        = "finance_live/reconciliation_drift"
  description = "Reconciliation runs that found and repaired drift between records and aggregates, by org."
  filter      = "${local.functions_logs} AND jsonPayload.reconciliation_keys_repaired>0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "org_id"
      value_type  = "STRING"
      description = "Organization whose aggregates drifted."
    }
  }

  label_extractors = {
    org_id = "EXTRACT(jsonPayload.org_id)"
  }
}

resource "google_logging_metric" "sweep_org_failures" {
  project     = var.project_id
  name        = "finance_live/sweep_org_failures"
  description = "Sweep runs in which at least one org failed (the others were done), by sweep."
  filter      = "${local.functions_logs} AND jsonPayload.orgs_failed>0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "sweep"
      value_type  = "STRING"
      description = "outbox, reconciliation, manual_entries, comment_counts, alert_notifications ..."
    }
  }

  label_extractors = {
    sweep = "EXTRACT(jsonPayload.sweep)"
  }
}

resource "google_logging_metric" "rejected_lines" {
  project     = var.project_id
  name        = "finance_live/rejected_lines"
  description = "Single events rejected at ingestion (the reason is in ingestion_errors), by reason code."
  filter      = "${local.functions_logs} AND jsonPayload.message=\"ingested event\" AND jsonPayload.outcome=\"rejected\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "code"
      value_type  = "STRING"
      description = "Rejection code (invalid_json, unknown_account, period_closed ...)."
    }
  }

  label_extractors = {
    code = "EXTRACT(jsonPayload.code)"
  }
}

# --- alert policies (runbooks: docs/operations.md) ------------------------------------------------

resource "google_monitoring_alert_policy" "dead_letters_waiting" {
  project               = var.project_id
  display_name          = "Finance Live ${var.environment}: dead letters waiting"
  combiner              = "OR"
  notification_channels = local.monitoring_channels
  severity              = "ERROR"

  conditions {
    display_name = "A dead-letter hold subscription has undelivered messages"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.label.subscription_id=one_of(${join(",", [for s in local.dead_letter_hold_subscriptions : "\"${s}\""])})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    content   = "Messages the pipeline could not process after every retry are waiting. Runbook: ${local.runbook}#dead-letters-waiting"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "lag_p99" {
  project               = var.project_id
  display_name          = "Finance Live ${var.environment}: publish-to-dashboard lag p99 over 2 s"
  combiner              = "OR"
  notification_channels = local.monitoring_channels
  severity              = "WARNING"

  conditions {
    display_name = "p99 of finance_live/change_lag over 2,000 ms for 10 minutes"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.change_lag.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 2000
      duration        = "600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
      }
    }
  }

  documentation {
    content   = "Dashboards show changes late. Runbook: ${local.runbook}#lag-p99-over-2-s"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  project               = var.project_id
  display_name          = "Finance Live ${var.environment}: function error rate over 5%"
  combiner              = "OR"
  notification_channels = local.monitoring_channels
  severity              = "ERROR"

  conditions {
    display_name = "failed / all invocations of a function over 5% for 10 minutes"
    condition_threshold {
      filter             = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.invocations.name}\" AND metric.label.outcome=\"failed\""
      denominator_filter = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.invocations.name}\""
      comparison         = "COMPARISON_GT"
      threshold_value    = 0.05
      duration           = "600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
    }
  }

  documentation {
    content   = "A function keeps failing (Pub/Sub and the Firestore retry policy redeliver, the sweeps finish what is left). Runbook: ${local.runbook}#function-error-rate"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "reconciliation_drift" {
  project               = var.project_id
  display_name          = "Finance Live ${var.environment}: reconciliation repaired drift"
  combiner              = "OR"
  notification_channels = local.monitoring_channels
  severity              = "WARNING"

  conditions {
    display_name = "finance_live/reconciliation_drift above 0"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.reconciliation_drift.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "3600s"
        per_series_aligner = "ALIGN_DELTA"
      }
    }
  }

  documentation {
    content   = "Aggregates differed from their records and were repaired: something upstream lost or doubled a change. Runbook: ${local.runbook}#reconciliation-drift"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "backlog_age" {
  project               = var.project_id
  display_name          = "Finance Live ${var.environment}: change backlog older than 2 minutes"
  combiner              = "OR"
  notification_channels = local.monitoring_channels
  severity              = "ERROR"

  conditions {
    display_name = "max of finance_live/backlog_age over 120 s for 5 minutes"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.backlog_age.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 120
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
      }
    }
  }

  documentation {
    content   = "Change documents wait to be applied or published (the outbox sweep runs every minute and finishes them after 20 s). Runbook: ${local.runbook}#backlog-age"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "sweep_failures" {
  project               = var.project_id
  display_name          = "Finance Live ${var.environment}: a sweep failed for an org"
  combiner              = "OR"
  notification_channels = local.monitoring_channels
  severity              = "WARNING"

  conditions {
    display_name = "finance_live/sweep_org_failures above 0 in 3 consecutive runs"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.sweep_org_failures.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "180s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_DELTA"
      }
    }
  }

  documentation {
    content   = "A sweep keeps failing for some org (the other orgs are done). Runbook: ${local.runbook}#sweep-failures"
    mime_type = "text/markdown"
  }
}

# --- SLOs -------------------------------------------------------------------------------------------

resource "google_monitoring_custom_service" "pipeline" {
  project      = var.project_id
  service_id   = "finance-live-pipeline"
  display_name = "Finance Live ${var.environment} pipeline"
}

resource "google_monitoring_slo" "dashboard_within_1s" {
  project      = var.project_id
  service      = google_monitoring_custom_service.pipeline.service_id
  slo_id       = "dashboard-within-1s"
  display_name = "${var.slo_goals.dashboard_within_1s * 100}% of changes visible on the dashboard within 1 s"

  goal                = var.slo_goals.dashboard_within_1s
  rolling_period_days = 28

  request_based_sli {
    distribution_cut {
      distribution_filter = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.change_lag.name}\""
      range {
        max = 1000
      }
    }
  }
}

resource "google_monitoring_slo" "invocations_ok" {
  project      = var.project_id
  service      = google_monitoring_custom_service.pipeline.service_id
  slo_id       = "invocations-ok"
  display_name = "${var.slo_goals.invocations_ok * 100}% of function invocations succeed"

  goal                = var.slo_goals.invocations_ok
  rolling_period_days = 28

  request_based_sli {
    good_total_ratio {
      good_service_filter  = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.invocations.name}\" AND metric.label.outcome=\"ok\""
      total_service_filter = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.invocations.name}\""
    }
  }
}

# Burn-rate alerts: the error budget of 28 days spent 10x too fast over an hour (page) .
resource "google_monitoring_alert_policy" "slo_burn" {
  for_each = {
    dashboard_within_1s = google_monitoring_slo.dashboard_within_1s.name
    invocations_ok      = google_monitoring_slo.invocations_ok.name
  }

  project               = var.project_id
  display_name          = "Finance Live ${var.environment}: SLO ${each.key} burning its error budget 10x"
  combiner              = "OR"
  notification_channels = local.monitoring_channels
  severity              = "CRITICAL"

  conditions {
    display_name = "burn rate over 10 in the last hour"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${each.value}\", \"3600s\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 10
      duration        = "0s"
    }
  }

  documentation {
    content   = "At this rate the SLO's 28-day error budget is gone in under 3 days. Runbook: ${local.runbook}#slo-burn"
    mime_type = "text/markdown"
  }
}

# --- dashboard --------------------------------------------------------------------------------------

resource "google_monitoring_dashboard" "pipeline" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "Finance Live ${var.environment}: pipeline"
    mosaicLayout = {
      columns = 12
      tiles = [
        for i, tile in [
          { title = "Publish -> dashboard lag p50 / p99 (ms)", metric = google_logging_metric.change_lag.name, reducers = ["REDUCE_PERCENTILE_50", "REDUCE_PERCENTILE_99"], group = [] },
          { title = "Oldest unfinished change (s)", metric = google_logging_metric.backlog_age.name, reducers = ["REDUCE_PERCENTILE_99"], group = [] },
          { title = "Invocations by function and outcome", metric = google_logging_metric.invocations.name, reducers = ["REDUCE_SUM"], group = ["metric.label.function", "metric.label.outcome"] },
          { title = "Invocation latency p99 by function (ms)", metric = google_logging_metric.invocation_latency.name, reducers = ["REDUCE_PERCENTILE_99"], group = ["metric.label.function"] },
          { title = "Reconciliation drift repaired, by org", metric = google_logging_metric.reconciliation_drift.name, reducers = ["REDUCE_SUM"], group = ["metric.label.org_id"] },
          { title = "Sweeps with a failed org", metric = google_logging_metric.sweep_org_failures.name, reducers = ["REDUCE_SUM"], group = ["metric.label.sweep"] },
          { title = "Rejected events by reason", metric = google_logging_metric.rejected_lines.name, reducers = ["REDUCE_SUM"], group = ["metric.label.code"] },
          ] : {
          xPos   = (i % 2) * 6
          yPos   = floor(i / 2) * 4
          width  = 6
          height = 4
          widget = {
            title = tile.title
            xyChart = {
              dataSets = [
                for reducer in tile.reducers : {
                  plotType = "LINE"
                  timeSeriesQuery = {
                    timeSeriesFilter = {
                      filter = "metric.type=\"logging.googleapis.com/user/${tile.metric}\""
                      aggregation = {
                        alignmentPeriod    = "60s"
                        perSeriesAligner   = "ALIGN_DELTA"
                        crossSeriesReducer = reducer
                        groupByFields      = tile.group
                      }
                    }
                  }
                }
              ]
            }
          }
        }
      ]
    }
  })
}
