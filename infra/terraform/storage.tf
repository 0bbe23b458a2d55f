# The reports bucket (resources.json storage.reports_bucket): private, uniform access, never public.
# Clients never read it directly (no Firebase Storage rules apply to it): the download_report
# function checks the caller's ID token and membership, then streams the file.
resource "google_storage_bucket" "reports" {
  #checkov:skip=CKV_GCP_62:Downloads go through download_report, which logs each file served with the caller's uid; bucket access logs would repeat them.
  project                     = var.project_id
  name                        = "${var.project_id}-${local.reports_bucket.name_suffix}"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Packs are regenerated on demand; old ones (and overwritten versions) expire.
  lifecycle_rule {
    condition {
      age = local.reports_bucket.retention_days
    }
    action {
      type = "Delete"
    }
  }
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.required]
}

# Only the reports family writes and reads the files (bucket-level, not project-level).
resource "google_storage_bucket_iam_member" "reports_writer" {
  bucket = google_storage_bucket.reports.name
  role   = "roles/storage.objectAdmin"
  member = google_service_account.functions["reports"].member
}
