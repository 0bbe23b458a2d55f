# The analysts' dataset: tables with schemas generated from the core's row models
# (infra/bigquery/schemas/*.json, never hand-edited) and views from infra/bigquery/views/*.sql.
resource "google_bigquery_dataset" "analytics" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption at rest by default. CMEK needs a Cloud KMS key per environment, rotation and a grant to the BigQuery service agent; adopt it when a compliance regime requires customer-managed keys (docs/deploy.md).
  project     = var.project_id
  dataset_id  = local.bigquery.dataset
  location    = local.bigquery.location
  description = "Financial facts, alert history and the views the dashboards show (${var.environment})."

  # Keep the data if the dataset resource is ever removed from the configuration.
  delete_contents_on_destroy = false

  depends_on = [google_project_service.required]
}

resource "google_bigquery_table" "tables" {
  for_each = local.tables
  #checkov:skip=CKV_GCP_80:Google-managed encryption at rest, same decision as the dataset (CKV_GCP_81).

  project     = var.project_id
  dataset_id  = google_bigquery_dataset.analytics.dataset_id
  table_id    = each.key
  description = each.value.description
  schema      = file("${path.module}/../${each.value.schema}")

  time_partitioning {
    type  = each.value.time_partitioning.type
    field = each.value.time_partitioning.field
  }
  clustering = each.value.clustering

  deletion_protection = true
}

# Views that read tables only (financial_records_latest, alerts_latest ...).
resource "google_bigquery_table" "views_base" {
  for_each = local.views_base
  #checkov:skip=CKV_GCP_80:A view stores no data; nothing to encrypt with a customer key.
  #checkov:skip=CKV_GCP_121:A view stores no data and is rebuilt from the SQL in the repository. Its level (views_base or views_derived) follows from its SQL, so a view can move between the two resources (destroy + create), which deletion protection would block.

  project    = var.project_id
  dataset_id = google_bigquery_dataset.analytics.dataset_id
  table_id   = each.key

  view {
    query          = each.value
    use_legacy_sql = false
  }

  deletion_protection = false

  depends_on = [google_bigquery_table.tables]
}

# Views built on other views: BigQuery checks the referenced view exists when a view is
# created, so these wait for the base views.
resource "google_bigquery_table" "views_derived" {
  for_each = local.views_derived
  #checkov:skip=CKV_GCP_80:A view stores no data; nothing to encrypt with a customer key.
  #checkov:skip=CKV_GCP_121:A view stores no data and is rebuilt from the SQL in the repository. Its level (views_base or views_derived) follows from its SQL, so a view can move between the two resources (destroy + create), which deletion protection would block.

  project    = var.project_id
  dataset_id = google_bigquery_dataset.analytics.dataset_id
  table_id   = each.key

  view {
    query          = each.value
    use_legacy_sql = false
  }

  deletion_protection = false

  lifecycle {
    precondition {
      condition     = alltrue([for ref in local.view_references[each.key] : contains(keys(local.views_base), ref)])
      error_message = "View ${each.key} reads a view that itself reads a view; Terraform creates two levels of views only (infra/terraform/bigquery.tf): add a level."
    }
  }

  depends_on = [google_bigquery_table.tables, google_bigquery_table.views_base]
}
