# What the functions and the deploy steps need (docs/deploy.md).

output "function_service_accounts" {
  description = "Service account e-mail per function family (firebase-functions option service_account=\"<account_id>@\")."
  value       = { for family, sa in google_service_account.functions : family => sa.email }
}

output "topic_ids" {
  description = "Full resource id per Pub/Sub topic."
  value       = { for name, t in google_pubsub_topic.topics : name => t.id }
}

output "subscription_ids" {
  description = "Full resource id per Terraform-managed Pub/Sub subscription."
  value       = { for name, s in google_pubsub_subscription.subscriptions : name => s.id }
}

output "event_schema_ids" {
  description = "Pub/Sub schema resources (bound to their topic only when enforce_event_schema is true)."
  value       = { for name, s in google_pubsub_schema.event : name => s.id }
}

output "bigquery_dataset_id" {
  description = "Dataset id (the functions' BIGQUERY_DATASET param)."
  value       = google_bigquery_dataset.analytics.dataset_id
}

output "bigquery_dataset_location" {
  description = "Location of the dataset."
  value       = google_bigquery_dataset.analytics.location
}

output "notification_secret_ids" {
  description = "Secret Manager secrets to fill with gcloud secrets versions add (names of the SecretParams)."
  value       = { for id, s in google_secret_manager_secret.notification : id => s.id }
}

output "firestore_database" {
  description = "Firestore database name."
  value       = google_firestore_database.default.name
}

output "pubsub_service_agent" {
  description = "Pub/Sub service agent that dead-letters messages (scripts/apply_trigger_policies.py grants it on the trigger subscriptions)."
  value       = local.pubsub_service_agent
}

output "reports_bucket" {
  description = "Bucket of the report files (the functions' REPORTS_BUCKET param; {project}-finance-reports by default)."
  value       = google_storage_bucket.reports.name
}
