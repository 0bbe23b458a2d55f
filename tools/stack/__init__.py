"""The local stack: official emulators (Firestore, Pub/Sub, Functions, Auth), a BigQuery emulator,
provisioning, seeding."""
