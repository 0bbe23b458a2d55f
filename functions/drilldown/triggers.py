"""Drill-down triggers: the history of a record and exports of what a dashboard shows (HTTP, same origin)."""

from __future__ import annotations

import functools

from adapters import deployment
from adapters.clients import bigquery_client, firestore_client
from adapters.http_endpoint import serve
from adapters.identity import verify_id_token
from adapters.logs import observed
from adapters.settings import BIGQUERY_DATASET, project_id
from firebase_functions import https_fn, options

from drilldown.endpoints import MAX_EXPORT_BYTES, DrillDownEndpoints

# The facts table of infra/resources.json (the analytics sink writes it).
FACTS_TABLE = "financial_facts"


def _facts_table() -> str:
    return f"{project_id()}.{BIGQUERY_DATASET.value}.{FACTS_TABLE}"


@functools.cache
def endpoints() -> DrillDownEndpoints:
    """The instance's drill-down endpoints."""
    return DrillDownEndpoints(firestore_client(), bigquery_client, _facts_table, verify_id_token)


# Hosting rewrites /api/records/history to it (the dashboard's origin).
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["get"]),
    **deployment.background("analytics_sink", concurrency=20),
)
@observed("record_history")
def record_history(request: https_fn.Request) -> https_fn.Response:
    """Every version of one record of an org, from BigQuery, for a member of the org."""
    return serve(request, lambda http: endpoints().handle("history", http))


# Hosting rewrites /api/exports to it.
@https_fn.on_request(
    cors=options.CorsOptions(cors_origins="*", cors_methods=["post"]),
    **deployment.background("analytics_sink", concurrency=20),
)
@observed("export_table")
def export_table(request: https_fn.Request) -> https_fn.Response:
    """What a member sees on screen as CSV or XLSX, every text cell neutralised (finance_core.export_text)."""
    return serve(request, lambda http: endpoints().handle("export", http), body_limit=MAX_EXPORT_BYTES)
