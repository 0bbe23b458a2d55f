# The Firestore database the dashboards read with live listeners. Rules and composite indexes
# are deployed by `firebase deploy --only firestore:rules,firestore:indexes` (firestore.rules,
# firestore.indexes.json); TTL policies are owned here. Never deploy indexes with --force: it
# deletes field overrides absent from firestore.indexes.json, these TTL policies included.
resource "google_firestore_database" "default" {
  project     = var.project_id
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  concurrency_mode = "OPTIMISTIC"
  # 7 days of versions: restore after a bad deploy or a faulty import (docs/deploy.md).
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  # `terraform destroy` forgets the database instead of deleting it.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.required]
}

# TTL policies: documents whose `field` timestamp is in the past are deleted by Firestore
# (typically within 24 hours). index_config is left out on purpose so the fields keep their
# inherited single-field indexes (the presence expiry job queries expires_at).
resource "google_firestore_field" "ttl" {
  for_each = local.ttl_fields

  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = each.value.collection_group
  field      = each.value.field

  ttl_config {}
}
