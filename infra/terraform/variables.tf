variable "project_id" {
  description = "Google Cloud / Firebase project that hosts one environment."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a Google Cloud project id (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region of the Cloud Functions (and their Eventarc triggers); must match the functions' region option."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Location of the Firestore database (e.g. nam5, eur3, us-central1). Cannot change after creation."
  type        = string
  default     = "nam5"
}

variable "environment" {
  description = "Environment name, used in labels and descriptions (dev, staging, prod)."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be one of dev, staging, prod."
  }
}

variable "enforce_event_schema" {
  description = <<-EOT
    Bind the Avro schema to the integrator topic (JSON encoding). Off by default: with JSON
    encoding, Avro requires optional (union) values to be wrapped ({"string": "x"}), so contract-v1
    messages carrying a record, memo or source would be rejected at publish time. See docs/deploy.md.
  EOT
  type        = bool
  default     = false
}

variable "notification_secrets" {
  description = "Secret Manager secret ids the alert notification channels read through firebase-functions SecretParam (values are never in the repo)."
  type        = map(string)
  default = {
    SLACK_WEBHOOK_URL = "Incoming-webhook URL of the Slack channel that receives alert notifications."
    SMTP_PASSWORD     = "Password of the SMTP account that sends alert e-mails."
  }

  validation {
    condition     = alltrue([for id in keys(var.notification_secrets) : can(regex("^[A-Z][A-Z0-9_]{0,254}$", id))])
    error_message = "Secret ids must be upper-case SecretParam names (letters, digits, underscores)."
  }
}

variable "deployer_members" {
  description = "IAM members (e.g. serviceAccount:ci-deployer@...) allowed to deploy functions that run as the function service accounts (roles/iam.serviceAccountUser on each)."
  type        = list(string)
  default     = []
}
