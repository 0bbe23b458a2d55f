# Copy to prod.tfvars (git-ignored) and fill in: terraform apply -var-file=prod.tfvars
project_id         = "finance-live-prod"
environment        = "prod"
region             = "us-central1"
firestore_location = "nam5"

# Keep off: the Avro binding rejects contract-v1 JSON messages (see docs/deploy.md).
enforce_event_schema = false

deployer_members = [
  # "serviceAccount:ci-deployer@finance-live-prod.iam.gserviceaccount.com",
]
