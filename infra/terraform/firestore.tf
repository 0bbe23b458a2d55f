# The Firestore database the dashboards read with live listeners. Rules and composite indexes
# are deployed by `firebase deploy --only firestore:rules,firestore:indexes` (firestore.rules,
# firestore.indexes.json); the TTL policies are owned here.
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
# (typically within 24 hours of expiry). `index_config` exempts the field from single-field
# indexes, as Google recommends for TTL timestamps, except the indexes a TTL field lists in
# resources.json (presence.expires_at keeps a COLLECTION_GROUP index for the expire_presence
# sweep). firestore.indexes.json declares exactly the same (a fieldOverride with those "indexes"
# and no "ttl" key, so `firebase deploy` leaves the TTL policy alone, even with --force). The two
# must agree or each tool would undo the other: tests/unit/test_terraform.py checks it.
resource "google_firestore_field" "ttl" {
  for_each = local.ttl_fields

  project    = var.project_id
  database   = google_firestore_database.default.name
  collection = each.value.collection_group
  field      = each.value.field

  index_config {
    dynamic "indexes" {
      for_each = try(each.value.indexes, [])
      content {
        order       = indexes.value.order
        query_scope = indexes.value.query_scope
      }
    }
  }
  ttl_config {}
}
