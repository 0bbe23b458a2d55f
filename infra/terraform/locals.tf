# Everything named here comes from infra/resources.json, the one source of truth that local
# provisioning (tools/stack/provision.py) reads too. No topic, subscription, dataset, table or
# view name is written in a .tf file (tests/unit/test_terraform.py checks it).
locals {
  resources = jsondecode(file("${path.module}/../resources.json"))

  # --- Pub/Sub ------------------------------------------------------------------------------
  # Entries are normalised to one shape (missing keys -> null) so for_each values have one type.
  topics = {
    for t in local.resources.pubsub.topics : t.name => {
      purpose                    = t.purpose
      message_retention_duration = t.message_retention_duration
      dead_letter_topic          = try(t.dead_letter_topic, null)
      schema                     = try(t.schema, null)
    }
  }
  dead_letter_topic_names = toset(compact([for t in local.topics : t.dead_letter_topic]))

  # Topics with a published schema are the integrators' contract; the other source topics are
  # internal change streams fed by the realtime processor.
  schema_topics   = { for name, t in local.topics : name => t if t.schema != null }
  internal_topics = toset([for name, t in local.topics : name if t.schema == null && !contains(local.dead_letter_topic_names, name)])

  subscriptions = {
    for s in local.resources.pubsub.subscriptions : s.name => {
      topic                      = s.topic
      purpose                    = s.purpose
      ack_deadline_seconds       = s.ack_deadline_seconds
      message_retention_duration = s.message_retention_duration
      enable_message_ordering    = try(s.enable_message_ordering, false)
      dead_letter_topic          = try(s.dead_letter_topic, null)
      max_delivery_attempts      = try(s.max_delivery_attempts, null)
      retry_minimum_backoff      = try(s.retry_minimum_backoff, null)
      retry_maximum_backoff      = try(s.retry_maximum_backoff, null)
    }
  }
  dead_lettered_subscriptions = toset([for name, s in local.subscriptions : name if s.dead_letter_topic != null])

  # Delivery policies of the Eventarc subscriptions that `firebase deploy` creates for the
  # Pub/Sub-triggered functions: applied after deploy by scripts/apply_trigger_policies.py.
  function_triggers = { for t in local.resources.pubsub.function_triggers : t.function => t }

  # --- BigQuery -----------------------------------------------------------------------------
  bigquery = local.resources.bigquery
  tables   = { for t in local.bigquery.tables : t.name => t }

  # View SQL files use the `${project}.${dataset}` placeholders (the same files local
  # provisioning fills in). A view that selects from another view must be created after it:
  # the references are read from the SQL, base views (reading tables only) go first, then the
  # views built on them (google_bigquery_table.views_derived depends on views_base).
  view_sql = {
    for v in local.bigquery.views : v.name => templatefile("${path.module}/../${v.sql}", {
      project = var.project_id
      dataset = local.bigquery.dataset
    })
  }
  view_references = {
    for name, sql in local.view_sql : name => [
      for other in keys(local.view_sql) : other
      if other != name && strcontains(sql, ".${local.bigquery.dataset}.${other}`")
    ]
  }
  views_base    = { for name, refs in local.view_references : name => local.view_sql[name] if length(refs) == 0 }
  views_derived = { for name, refs in local.view_references : name => local.view_sql[name] if length(refs) > 0 }

  # --- Cloud Storage ------------------------------------------------------------------------
  reports_bucket = local.resources.storage.reports_bucket

  # --- Firestore ----------------------------------------------------------------------------
  ttl_fields = { for f in local.resources.firestore.ttl_fields : "${f.collection_group}.${f.field}" => f }

  # --- Function families: one service account each, least privilege -------------------------
  # `functions` maps the trigger names of resources.json to a family (every Pub/Sub-triggered
  # function must be listed, a precondition checks it); the code selects the account with the
  # firebase-functions option service_account="<account_id>@".
  function_families = {
    # Records, tombstones, ingestion errors, change documents (the record-changes trigger's input).
    ingestion = {
      account_id         = "fn-ingestion"
      description        = "Ingestion: validates events from Pub/Sub, uploads and manual entries, writes financial records."
      functions          = ["ingest_financial_event", "ingest_financial_event_batch", "ingest_manual_entry", "ingest_upload", "sweep_manual_entries"]
      firestore          = true
      event_triggers     = true
      publishes_internal = false
      bigquery_writer    = false
      bigquery_jobs      = false
      reads_secrets      = false
    }
    # Deltas, sharded aggregates, KPIs, the change outbox (publishes every applied change to the
    # internal change topics), the nightly reconciliation and the pipeline health documents (which
    # count the dead letters waiting on the hold subscriptions: subscriber there, pubsub.tf).
    realtime = {
      account_id         = "fn-realtime"
      description        = "Realtime processor and aggregations: record deltas, sharded aggregates, KPIs, change events, reconciliation."
      functions          = ["apply_record_changes", "publish_pending_changes", "refresh_aggregate_views", "reconcile_aggregates", "refresh_pipeline_health", "on_metric_definition_written", "check_metric_definition", "period_close_status"]
      firestore          = true
      event_triggers     = true
      publishes_internal = true
      bigquery_writer    = false
      bigquery_jobs      = false
      reads_secrets      = false
    }
    # dataEditor on the dataset only; jobUser for load/query jobs (project-level by nature:
    # BigQuery jobs are not dataset resources). Firestore: the chart of accounts (account types)
    # and, when the dead-letter topic is unreachable, the fallback dead letters and their counter.
    # The drill-down endpoints run here too: a record's history is a query job on the facts table,
    # and both read the caller's membership in Firestore.
    analytics_sink = {
      account_id         = "fn-analytics-sink"
      description        = "Analytics sink: streams applied changes into the BigQuery dataset of resources.json; drill-down reads."
      functions          = ["sink_changes_to_bigquery", "sink_metric_values_to_bigquery", "record_history", "export_table"]
      firestore          = true
      event_triggers     = true
      publishes_internal = false
      bigquery_writer    = true
      bigquery_jobs      = true
      reads_secrets      = false
    }
    # Alert documents in Firestore, alert state changes to the dataset's alert table, the
    # notification channels' secrets.
    alerts = {
      account_id         = "fn-alerts"
      description        = "Alerts: rule evaluation, de-dup, escalation, notification channels."
      functions          = ["evaluate_alerts", "evaluate_runway_alerts", "escalate_alerts", "flush_alert_notifications", "alert_console"]
      firestore          = true
      event_triggers     = true
      publishes_internal = false
      bigquery_writer    = true
      bigquery_jobs      = false
      reads_secrets      = true
    }
    # Presence expiry, comment counts on their targets, trends and forecasts.
    scheduled = {
      account_id         = "fn-scheduled"
      description        = "Collaboration and scheduled jobs: presence expiry, comment counts, trends and forecasts refresh."
      functions          = ["refresh_trends", "sweep_trend_requests", "expire_presence", "on_comment_written", "sweep_comment_counts", "reconcile_comment_counts"]
      firestore          = true
      event_triggers     = true
      publishes_internal = false
      bigquery_writer    = false
      bigquery_jobs      = false
      reads_secrets      = false
    }
    # Monthly packs: reads the org's documents, writes reports/ and report_deliveries/, the files
    # in the reports bucket (bucket-level objectAdmin, storage.tf), e-mails through the SMTP secret.
    reports = {
      account_id         = "fn-reports"
      description        = "Reports: monthly packs (PDF, XLSX, CSV) on request, on a schedule and on period close; downloads."
      functions          = ["on_report_requested", "download_report", "send_scheduled_reports", "on_period_written"]
      firestore          = true
      event_triggers     = true
      publishes_internal = false
      bigquery_writer    = false
      bigquery_jobs      = false
      reads_secrets      = true
    }
    # Organisations and their people: member documents, invitations and their link tokens,
    # invitation e-mails through the SMTP secret. Verifying callers' ID tokens needs no role.
    access = {
      account_id         = "fn-access"
      description        = "Access: invitations by e-mail, accepting them, role changes and removal of members; reference-data files."
      functions          = ["manage_access", "send_invitation", "read_sheet"]
      firestore          = true
      event_triggers     = true
      publishes_internal = false
      bigquery_writer    = false
      bigquery_jobs      = false
      reads_secrets      = true
    }
  }

  # Pub/Sub-triggered functions that no family claims (must stay empty).
  unmapped_trigger_functions = [
    for fn in keys(local.function_triggers) : fn
    if !contains(flatten([for f in local.function_families : f.functions]), fn)
  ]

  # Project-level roles. Eventarc delivers to a function as the function's own account, so the
  # account needs run.invoker and eventarc.eventReceiver (Cloud Run services are created by
  # `firebase deploy` with generated names, so these cannot be narrowed to one service here).
  family_project_roles = merge([
    for family, f in local.function_families : merge(
      f.firestore ? { "${family}/roles/datastore.user" = { family = family, role = "roles/datastore.user" } } : {},
      f.event_triggers ? {
        "${family}/roles/run.invoker"            = { family = family, role = "roles/run.invoker" }
        "${family}/roles/eventarc.eventReceiver" = { family = family, role = "roles/eventarc.eventReceiver" }
      } : {},
      f.bigquery_jobs ? { "${family}/roles/bigquery.jobUser" = { family = family, role = "roles/bigquery.jobUser" } } : {},
    )
  ]...)

  # Publisher on specific topics only: the internal change topics for their producer, and the
  # dead-letter topic of every trigger a family owns (a consumer parks a permanently failing
  # message there itself, with the reason, instead of letting it be retried).
  family_topic_publishers = merge(
    merge([
      for family, f in local.function_families : {
        for topic in local.internal_topics : "${family}/${topic}" => { family = family, topic = topic }
      } if f.publishes_internal
    ]...),
    merge([
      for family, f in local.function_families : {
        for topic in distinct([for fn, t in local.function_triggers : t.dead_letter_topic if contains(f.functions, fn)]) :
        "${family}/${topic}" => { family = family, topic = topic }
      }
    ]...),
  )

  family_secret_readers = merge([
    for family, f in local.function_families : {
      for secret_id in keys(var.notification_secrets) : "${family}/${secret_id}" => { family = family, secret_id = secret_id }
    } if f.reads_secrets
  ]...)

  deployer_bindings = merge([
    for family in keys(local.function_families) : {
      for member in var.deployer_members : "${family}/${member}" => { family = family, member = member }
    }
  ]...)
}
