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

variable "alert_notification_emails" {
  description = "E-mail addresses that receive the operators' alert notifications (a Cloud Monitoring e-mail channel each)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alert_notification_emails : can(regex("^[^@\\s]+@[^@\\s]+$", e))])
    error_message = "alert_notification_emails must be e-mail addresses."
  }
}

variable "alert_notification_channels" {
  description = "Existing Cloud Monitoring notification channels (projects/P/notificationChannels/ID: PagerDuty, Slack, ...) that also receive the operators' alert notifications."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "alert_notification_channels must be notification channel resource names."
  }
}

variable "slo_goals" {
  description = "Service level objectives: share of change messages folded into the dashboard aggregates within 1 s of their publish, and share of function invocations that succeed (rolling 28 days)."
  type = object({
    dashboard_within_1s = number
    invocations_ok      = number
  })
  default = {
    dashboard_within_1s = 0.999
    invocations_ok      = 0.995
  }

  validation {
    condition     = var.slo_goals.dashboard_within_1s > 0 && var.slo_goals.dashboard_within_1s < 1 && var.slo_goals.invocations_ok > 0 && var.slo_goals.invocations_ok < 1
    error_message = "SLO goals are ratios strictly between 0 and 1."
  }
}

variable "runbook_url" {
  description = "Where operators read docs/operations.md (e.g. the file's address in your repository host); each alert policy links to its section there."
  type        = string
  default     = "docs/operations.md"

  validation {
    condition     = endswith(var.runbook_url, "docs/operations.md")
    error_message = "runbook_url must point at docs/operations.md."
  }
}
