"""Ingestion: financial events from Pub/Sub, uploads and manual entries become validated records."""
