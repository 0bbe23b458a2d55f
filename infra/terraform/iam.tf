# One service account per function family, each with only what its functions do. No primitive
# role (owner/editor/viewer) is granted anywhere (tests/unit/test_terraform.py checks it).
locals {
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_service_account" "functions" {
  for_each = local.function_families

  project      = var.project_id
  account_id   = each.value.account_id
  display_name = "finance-live ${each.key} functions (${var.environment})"
  description  = each.value.description

  lifecycle {
    precondition {
      condition     = length(local.unmapped_trigger_functions) == 0
      error_message = "Pub/Sub-triggered functions of resources.json without a family in infra/terraform/locals.tf: ${join(", ", local.unmapped_trigger_functions)}."
    }
  }

  depends_on = [google_project_service.required]
}

# Firestore (roles/datastore.user: documents only, no database admin), Eventarc delivery
# (run.invoker, eventarc.eventReceiver) and BigQuery jobs, per family (locals.tf).
resource "google_project_iam_member" "functions" {
  for_each = local.family_project_roles

  project = var.project_id
  role    = each.value.role
  member  = google_service_account.functions[each.value.family].member
}

# Publisher on specific topics only.
resource "google_pubsub_topic_iam_member" "functions_publish" {
  for_each = local.family_topic_publishers

  project = var.project_id
  topic   = google_pubsub_topic.topics[each.value.topic].name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.functions[each.value.family].member
}

# BigQuery writers get dataEditor on the finance dataset only, never on the project.
resource "google_bigquery_dataset_iam_member" "functions_write" {
  for_each = { for family, f in local.function_families : family => f if f.bigquery_writer }

  project    = var.project_id
  dataset_id = google_bigquery_dataset.analytics.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.functions[each.key].member
}

# Eventarc pushes to a function with an OIDC token of the function's account, minted by the
# Pub/Sub service agent: it needs token creation on these accounts only.
resource "google_service_account_iam_member" "pubsub_agent_token_creator" {
  for_each = { for family, f in local.function_families : family => f if f.event_triggers }

  service_account_id = google_service_account.functions[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
}

# Whoever runs `firebase deploy` (a CI account, a release engineer) must be able to act as the
# function accounts.
resource "google_service_account_iam_member" "deployers" {
  for_each = local.deployer_bindings

  service_account_id = google_service_account.functions[each.value.family].name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value.member
}
