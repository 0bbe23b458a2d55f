# APIs the backend needs. `firebase deploy` also enables what it uses, but declaring them here
# makes a fresh project deployable in one order: terraform apply, secrets, firebase deploy.
locals {
  required_apis = toset([
    "firestore.googleapis.com",
    "pubsub.googleapis.com",
    "bigquery.googleapis.com",
    "eventarc.googleapis.com",
    "run.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "secretmanager.googleapis.com",
    # Scheduled functions: `firebase deploy` creates their Cloud Scheduler jobs itself.
    "cloudscheduler.googleapis.com",
    # firestore.rules are deployed through the Firebase Rules API.
    "firebaserules.googleapis.com",
    "iam.googleapis.com",
    # The reports bucket (storage.tf).
    "storage.googleapis.com",
    # Log-based metrics, alert policies, the dashboard and SLOs (monitoring.tf).
    "logging.googleapis.com",
    "monitoring.googleapis.com",
  ])
}

resource "google_project_service" "required" {
  for_each = local.required_apis

  project = var.project_id
  service = each.value
  # Destroying this stack must never switch an API off under running functions.
  disable_on_destroy = false
}
