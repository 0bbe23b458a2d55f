# Terraform and provider pins. The provider cannot be downloaded on the project's offline
# machines, so `terraform validate/plan` run only where the registry is reachable; the offline
# checks are `terraform fmt`, checkov and tests/unit/test_terraform.py.
terraform {
  required_version = ">= 1.11"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.17"
    }
  }

  # State lives in a versioned GCS bucket created once per environment (docs/deploy.md):
  #   terraform init -backend-config="bucket=<state-bucket>" -backend-config="prefix=finance-live/<env>"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app         = "finance-live"
    environment = var.environment
    managed-by  = "terraform"
  }
}

data "google_project" "this" {
  project_id = var.project_id
}
