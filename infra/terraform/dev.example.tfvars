# Copy to dev.tfvars (git-ignored) and fill in: terraform apply -var-file=dev.tfvars
project_id         = "finance-live-dev"
environment        = "dev"
region             = "us-central1"
firestore_location = "nam5"

# Keep off: the Avro binding rejects contract-v1 JSON messages (see docs/deploy.md).
enforce_event_schema = false

# Accounts allowed to run `firebase deploy` as the function service accounts.
deployer_members = [
  # "serviceAccount:ci-deployer@finance-live-dev.iam.gserviceaccount.com",
]
