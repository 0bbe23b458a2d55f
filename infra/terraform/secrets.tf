# Secrets of the alert notification channels. Only the secret resources live here: their
# values never enter the repository or the Terraform state. Add them after apply with
#   printf '%s' "$VALUE" | gcloud secrets versions add SLACK_WEBHOOK_URL --data-file=- --project <id>
# The functions read them through firebase-functions SecretParam("SLACK_WEBHOOK_URL"), etc.
resource "google_secret_manager_secret" "notification" {
  for_each = var.notification_secrets

  project   = var.project_id
  secret_id = each.key
  labels = {
    purpose = "alert-notifications"
  }
  annotations = {
    description = each.value
  }

  replication {
    auto {}
  }

  depends_on = [google_project_service.required]
}

# secretAccessor on these secrets only, for the families that send notifications.
resource "google_secret_manager_secret_iam_member" "readers" {
  for_each = local.family_secret_readers

  project   = var.project_id
  secret_id = google_secret_manager_secret.notification[each.value.secret_id].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.functions[each.value.family].member
}
