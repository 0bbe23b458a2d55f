"""The JSON lines the functions write for Cloud Logging, read back as emitted."""

from __future__ import annotations

import json
import logging

import pytest
from adapters.logs import CloudLoggingHandler, bind, log_context, observed, trace_id_of


@pytest.fixture
def lines(capsys, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-p")
    logger = logging.getLogger("test.structured")
    logger.handlers[:] = [CloudLoggingHandler()]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)

    def read() -> list[dict]:
        captured = capsys.readouterr()
        return [json.loads(line) for line in (captured.out + captured.err).splitlines() if line.strip()]

    return logger, read


def test_a_line_carries_severity_message_trace_labels_and_fields(lines):
    logger, read = lines
    with log_context(function="ingest_financial_event", trace_id="a" * 32):
        bind(org_id="acme")
        logger.warning(
            "stored %d lines",
            3,
            extra={"json_fields": {"outcome": "applied", "amount": __import__("decimal").Decimal("1.10")}},
        )
    [entry] = read()
    assert entry["severity"] == "WARNING" and entry["message"] == "stored 3 lines"
    assert entry["logging.googleapis.com/trace"] == "projects/demo-p/traces/" + "a" * 32
    assert entry["logging.googleapis.com/labels"] == {
        "function": "ingest_financial_event",
        "org_id": "acme",
        "outcome": "applied",
    }
    assert (entry["org_id"], entry["outcome"], entry["amount"]) == ("acme", "applied", "1.10")
    assert (
        entry["logging.googleapis.com/sourceLocation"]["function"]
        == "test_a_line_carries_severity_message_trace_labels_and_fields"
    )


def test_fields_bound_in_one_invocation_do_not_leak_into_the_next(lines):
    logger, read = lines
    with log_context(function="f"):
        bind(org_id="first")
    with log_context(function="f"):
        logger.info("second")
    [entry] = read()
    assert "org_id" not in entry


def test_observed_closes_each_invocation_with_its_outcome_and_latency_and_reraises(lines):
    logger, read = lines
    logging.getLogger(__name__).handlers[:] = [CloudLoggingHandler()]
    logging.getLogger(__name__).propagate = False
    logging.getLogger(__name__).setLevel(logging.INFO)

    @observed("sink_changes_to_bigquery")
    def handler(fail: bool) -> str:
        bind(trace_id="b" * 32)
        if fail:
            raise RuntimeError("BigQuery down")
        return "ok"

    assert handler(False) == "ok"
    with pytest.raises(RuntimeError):
        handler(True)
    ok, failed = read()
    assert (ok["outcome"], ok["function"], ok["severity"]) == ("ok", "sink_changes_to_bigquery", "INFO")
    assert ok["latency_ms"] >= 0 and ok["trace_id"] == "b" * 32
    assert (failed["outcome"], failed["error_type"], failed["severity"]) == ("failed", "RuntimeError", "ERROR")
    assert "Traceback" in failed["message"] and "BigQuery down" in failed["message"]


def test_the_trace_id_comes_from_the_message_or_its_id():
    assert trace_id_of({"traceparent": "00-" + "c" * 32 + "-" + "d" * 16 + "-01"}, "1") == "c" * 32
    assert trace_id_of({"trace_id": "E" * 32}, "1") == "e" * 32
    derived = trace_id_of({"traceparent": "garbage"}, "12345")
    assert len(derived) == 32 and derived == trace_id_of({}, "12345") != trace_id_of({}, "12346")
