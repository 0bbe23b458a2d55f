"""Configuration in one place: firebase-functions params (env locally, Cloud config in production)."""

from __future__ import annotations

import os
from datetime import timedelta

from firebase_functions import params

# Aggregate documents are split into this many shards; each absorbs ~1 sustained write/s in
# production Firestore, so throughput per hot key scales with it.
AGGREGATE_SHARDS = params.IntParam(
    "AGGREGATE_SHARDS", default=8, description="Shards per aggregate document (hot-key write spreading)."
)
BIGQUERY_DATASET = params.StringParam(
    "BIGQUERY_DATASET", default="finance", description="BigQuery dataset of the facts."
)
BIGQUERY_EMULATOR_HOST = params.StringParam(
    "BIGQUERY_EMULATOR_HOST", default="", description="host:port of a local BigQuery emulator; empty in production."
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
HOT_DOCUMENT_INTERVAL_MS = params.IntParam(
    "HOT_DOCUMENT_INTERVAL_MS",
    default=500,
    description="Least milliseconds between two writes of a document dashboards listen to (readable aggregates, "
    "metric series, KPI and variance documents); every listener pays one read per write. 0: no pacing.",
)
TRENDS_DEBOUNCE_SECONDS = params.IntParam(
    "TRENDS_DEBOUNCE_SECONDS",
    default=5,
    description="Minimum seconds between two trend computations of one org (a burst of changes is folded into one).",
)

# Alert notifications. Secrets are declared once here and bound (secrets=[...]) to the functions
# that send; their values come from Secret Manager in production and functions/.secret.local locally.
SLACK_WEBHOOK_URL = params.SecretParam(
    "SLACK_WEBHOOK_URL", description="Incoming-webhook URL used by webhook channels that name this secret."
)
SMTP_PASSWORD = params.SecretParam(
    "SMTP_PASSWORD", description="Password of the SMTP account that sends alert e-mails."
)
# No loopback default: a deployment names its SMTP server (the local stack sets 127.0.0.1).
SMTP_HOST = params.StringParam("SMTP_HOST", default="", description="SMTP server of alert and report e-mails.")
SMTP_ALLOWED_HOSTS = params.StringParam(
    "SMTP_ALLOWED_HOSTS",
    default="",
    description="Other SMTP servers a channel document may name (comma-separated; '.example.com' allows subdomains).",
)
WEBHOOK_ALLOWED_HOSTS = params.StringParam(
    "WEBHOOK_ALLOWED_HOSTS",
    default="hooks.slack.com",
    description="Hosts webhook channels may post to (comma-separated; '.example.com' allows subdomains); https only.",
)
SMTP_PORT = params.StringParam("SMTP_PORT", default="1025", description="SMTP port (587 uses STARTTLS, 465 TLS).")
SMTP_USER = params.StringParam("SMTP_USER", default="", description="SMTP login; empty: no authentication.")
SMTP_FROM = params.StringParam(
    "SMTP_FROM", default="alerts@finance-live.invalid", description="Sender address of alert e-mails."
)
DASHBOARD_URL = params.StringParam("DASHBOARD_URL", default="", description="Link to the dashboard in notifications.")
ALERT_INLINE_WAIT_SECONDS = params.IntParam(
    "ALERT_INLINE_WAIT_SECONDS",
    default=10,
    description="A notification group due within this many seconds is sent by the evaluating invocation itself.",
)


def project_id() -> str:
    """The Google Cloud project the functions run in (a demo- id locally)."""
    for name in ("GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"):
        value = os.environ.get(name)
        if value:
            return value
    raise RuntimeError("no project id: set GOOGLE_CLOUD_PROJECT (e.g. demo-finance-live for the emulators)")


def hot_document_interval() -> timedelta:
    """Least time between two writes of one document dashboards listen to (docs/performance.md)."""
    return timedelta(milliseconds=max(0, HOT_DOCUMENT_INTERVAL_MS.value))


def aggregate_shards() -> int:
    """Number of shards per aggregate key (at least 1)."""
    return max(1, AGGREGATE_SHARDS.value)


# Reports (functions/reports).
REPORTS_BUCKET = params.StringParam(
    "REPORTS_BUCKET",
    default="",
    description="Cloud Storage bucket of the report files; empty: {project}-finance-reports.",
)
REPORTS_DOWNLOAD_URL = params.StringParam(
    "REPORTS_DOWNLOAD_URL",
    default="",
    description="URL of the download_report function written into report documents; "
    "empty: the default 2nd-gen URL in us-central1.",
)


def reports_bucket() -> str:
    """The bucket holding report files (Terraform creates {project}-finance-reports)."""
    return REPORTS_BUCKET.value or f"{project_id()}-finance-reports"


def reports_download_url() -> str:
    """Base URL of the download_report function (links in report documents)."""
    return REPORTS_DOWNLOAD_URL.value or f"https://us-central1-{project_id()}.cloudfunctions.net/download_report"


# Member-driven writes (adapters/rate_limits.py): per user and org, enforced by the triggers.
COMMENTS_PER_MINUTE = params.IntParam(
    "COMMENTS_PER_MINUTE", default=20, description="Comments one member may post per minute; more are deleted."
)
MANUAL_ENTRIES_PER_MINUTE = params.IntParam(
    "MANUAL_ENTRIES_PER_MINUTE",
    default=60,
    description="Manual entries one editor may create per minute; more are rejected with the reason.",
)
INVITATION_EMAILS_PER_HOUR = params.IntParam(
    "INVITATION_EMAILS_PER_HOUR",
    default=30,
    description="Invitation e-mails (sends and re-sends) one admin may cause per hour; more are refused "
    "with the reason on the invitation.",
)
DEAD_LETTER_SUBSCRIPTIONS = params.StringParam(
    "DEAD_LETTER_SUBSCRIPTIONS",
    default="financial-events-dead-letter-hold,financial-record-changes-dead-letter-hold,"
    "financial-aggregates-folded-dead-letter-hold",
    description="Hold subscriptions of the dead-letter topics (infra/resources.json), counted by the pipeline health.",
)


def channel_settings() -> dict[str, str]:
    """What the notification channels need of the settings: the SMTP server and the allow-lists."""
    return {
        "SMTP_HOST": SMTP_HOST.value,
        "SMTP_PORT": SMTP_PORT.value,
        "SMTP_USER": SMTP_USER.value,
        "SMTP_FROM": SMTP_FROM.value,
        "SMTP_ALLOWED_HOSTS": SMTP_ALLOWED_HOSTS.value,
        "WEBHOOK_ALLOWED_HOSTS": WEBHOOK_ALLOWED_HOSTS.value,
    }
