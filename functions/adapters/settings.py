"""Configuration in one place: firebase-functions params (env locally, Cloud config in production)."""

from __future__ import annotations

import os

from firebase_functions import params

# Aggregate documents are split into this many shards; each absorbs ~1 sustained write/s in
# production Firestore, so throughput per hot key scales with it.
AGGREGATE_SHARDS = params.IntParam(
    "AGGREGATE_SHARDS", default=8, description="Shards per aggregate document (hot-key write spreading)."
)
BIGQUERY_DATASET = params.StringParam("BIGQUERY_DATASET", default="finance", description="BigQuery dataset of the facts.")
BIGQUERY_EMULATOR_HOST = params.StringParam(
    "BIGQUERY_EMULATOR_HOST", default="", description="host:port of a local BigQuery emulator; empty in production."
)
CHANGES_TOPIC = params.StringParam(
    "CHANGES_TOPIC", default="financial-record-changes", description="Topic of applied record changes."
)
CHANGES_DEAD_LETTER_TOPIC = params.StringParam(
    "CHANGES_DEAD_LETTER_TOPIC",
    default="financial-record-changes-dead-letter",
    description="Where consumers park change events they could not process after retries.",
)
REFERENCE_CACHE_SECONDS = params.IntParam(
    "REFERENCE_CACHE_SECONDS",
    default=30,
    description="How long a function instance reuses an org's chart of accounts, entities, periods and rates.",
)
KPI_SERIES_LENGTH = params.IntParam("KPI_SERIES_LENGTH", default=6, description="Periods in the KPI sparkline series.")
ANALYTICS_SINK_ATTEMPTS = params.IntParam(
    "ANALYTICS_SINK_ATTEMPTS",
    default=4,
    description="Attempts (with backoff) to stream a change into BigQuery before it is parked in the dead letters.",
)
TRENDS_DEBOUNCE_SECONDS = params.IntParam(
    "TRENDS_DEBOUNCE_SECONDS",
    default=5,
    description="Minimum seconds between two trend computations of one org (a burst of changes is folded into one).",
)


def project_id() -> str:
    """The Google Cloud project the functions run in (a demo- id locally)."""
    for name in ("GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"):
        value = os.environ.get(name)
        if value:
            return value
    raise RuntimeError("no project id: set GOOGLE_CLOUD_PROJECT (e.g. demo-finance-live for the emulators)")


def aggregate_shards() -> int:
    """Number of shards per aggregate key (at least 1)."""
    return max(1, AGGREGATE_SHARDS.value)
