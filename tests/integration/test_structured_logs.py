"""Structured logs: the lines the functions emit are JSON entries Cloud Logging reads, and one trace id follows
an event from ingestion through the record-changes trigger to the aggregates, BigQuery and the alerts."""

from __future__ import annotations

import json
import secrets

import pytest
from google.cloud import pubsub_v1

from tests.support import event, seed_org, wait_for_events, wait_until
from tools.stack.config import LOG_DIR

pytestmark = pytest.mark.emulators

PIPELINE = (
    "ingest_financial_event",
    "apply_record_changes",
    "refresh_aggregate_views",
    "sink_changes_to_bigquery",
    "evaluate_alerts",
    "refresh_trends",
    "sink_metric_values_to_bigquery",
)


def _entries(trace_id: str) -> list[dict]:
    """Every JSON line of the Functions emulator's log that carries the trace id."""
    found = []
    for line in (LOG_DIR / "firebase.log").read_text(errors="replace").splitlines():
        start = line.find("{")
        if start < 0 or trace_id not in line:
            continue
        try:
            found.append(json.loads(line[start:]))
        except ValueError:
            continue
    return found


def test_one_trace_id_follows_an_event_through_every_function_in_structured_lines(stack, db, org_id):
    seed_org(db, org_id)
    trace_id = secrets.token_hex(16)
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(stack.config.project_id, "financial-events")
    body = event(org_id, "je-trace", 1, amount="12.34")
    publisher.publish(
        topic, json.dumps(body).encode(), org_id=org_id, traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01"
    ).result(timeout=30)
    wait_for_events(db, org_id, 1)

    def every_function_logged() -> list[dict] | None:
        entries = _entries(trace_id)
        done = {e.get("function") for e in entries if e.get("outcome") == "ok"}
        return entries if set(PIPELINE) <= done else None

    entries = wait_until(every_function_logged, 120, 0.5, f"a closing line of each of {PIPELINE} under the trace")
    for entry in entries:
        assert entry["severity"] in {"DEBUG", "INFO", "WARNING", "ERROR"}, entry
        assert entry["logging.googleapis.com/trace"] == f"projects/{stack.config.project_id}/traces/{trace_id}"
        assert entry["message"] and entry["function"] in PIPELINE, entry
    ingest = next(e for e in entries if e["function"] == "ingest_financial_event" and e.get("outcome") == "ok")
    assert ingest["org_id"] == org_id and ingest["event_id"] == body["event_id"]
    assert ingest["latency_ms"] > 0 and ingest["logging.googleapis.com/labels"]["function"] == "ingest_financial_event"
    stored = next(e for e in entries if e["message"] == "ingested event")
    assert (stored["outcome"], stored["event_id"]) == ("applied", body["event_id"])
    sink = next(e for e in entries if e["function"] == "sink_changes_to_bigquery" and e.get("outcome") == "ok")
    assert sink["org_id"] == org_id and sink["change_id"]
    folded = next(e for e in entries if e["message"] == "change folded")
    assert folded["lag_ms"] >= 0
