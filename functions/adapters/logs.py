"""Structured logs in the Cloud Logging idiom: one JSON line per record, written by firebase_functions.logger.

Cloud Run (where 2nd-gen functions run) turns each JSON line on stdout/stderr into a log entry:
`severity` and `message` become the entry's own, `logging.googleapis.com/trace` ties it to a
trace, `logging.googleapis.com/labels` become indexed labels, every other key lands in
jsonPayload. So handlers log with the standard `logging` module and put their fields in
`extra={"json_fields": {...}}`; the fields of the current invocation (function, org, trace id,
event or batch id) are bound once with `bind(...)` and repeated on every line it logs.

A trace id follows one event through the pipeline: ingestion takes it from the message
(`traceparent` or `trace_id` attribute of the integrator, else derived from the Pub/Sub message
id), stores it on the change document of its commit, the record-changes trigger publishes it as
the change message's `trace_id` attribute, and every consumer (aggregate views, BigQuery sink,
alerts, trends) logs under it. docs/operations.md shows the queries.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
import logging
import os
import re
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from firebase_functions import logger as firebase_logger

TRACE_KEY = "logging.googleapis.com/trace"
LABELS_KEY = "logging.googleapis.com/labels"
SOURCE_KEY = "logging.googleapis.com/sourceLocation"
_SEVERITIES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
# Fields that also become indexed labels (cheap exact-match filters in Logs Explorer and metrics).
LABEL_FIELDS = ("function", "org_id", "outcome")

_fields: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("log_fields", default=None)

F = TypeVar("F", bound=Callable[..., Any])


def _project() -> str:
    for name in ("GCLOUD_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"):
        if os.environ.get(name):
            return os.environ[name]
    return "unknown-project"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)


def entry_of(record: logging.LogRecord) -> dict[str, Any]:
    """The Cloud Logging entry of a log record: severity, message, trace, labels, then the fields."""
    message = record.getMessage()
    if record.exc_info:
        # Error Reporting groups errors by the stack trace found in the message.
        message = f"{message}\n{''.join(traceback.format_exception(*record.exc_info)).rstrip()}"
    fields: dict[str, Any] = dict(_fields.get() or {})
    fields.update(getattr(record, "json_fields", None) or {})
    entry: dict[str, Any] = {"severity": _SEVERITIES.get(record.levelno, "DEFAULT"), "message": message}
    trace_id = fields.get("trace_id")
    if trace_id:
        entry[TRACE_KEY] = f"projects/{_project()}/traces/{trace_id}"
    labels = {name: str(fields[name]) for name in LABEL_FIELDS if fields.get(name) is not None}
    if labels:
        entry[LABELS_KEY] = labels
    entry[SOURCE_KEY] = {"file": record.pathname, "line": str(record.lineno), "function": record.funcName}
    entry["logger"] = record.name
    for key, value in fields.items():
        entry.setdefault(key, _jsonable(value))
    return entry


class CloudLoggingHandler(logging.Handler):
    """Writes each record as one structured JSON line through firebase_functions.logger."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            firebase_logger.write(entry_of(record))  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - logging must never break the handler it reports on
            self.handleError(record)


def configure_logging(level: str | None = None) -> None:
    """Structured JSON lines on stdout/stderr for every logger; the client libraries only from WARNING."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(CloudLoggingHandler())
    root.setLevel((level or os.environ.get("LOG_LEVEL", "INFO")).upper())
    for noisy in ("google", "urllib3", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def bind(**fields: Any) -> None:
    """Add fields to every line the current invocation logs from now on (org_id, trace_id, event_id ...)."""
    current = _fields.get()
    if current is None:
        _fields.set({k: v for k, v in fields.items() if v is not None})
    else:
        current.update({k: v for k, v in fields.items() if v is not None})


def bound(name: str) -> Any:
    """A field bound to the current invocation (None if not bound)."""
    return (_fields.get() or {}).get(name)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[dict[str, Any]]:
    """A fresh set of bound fields for the duration of the block (one invocation, one org of a sweep)."""
    token = _fields.set({**(_fields.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield _fields.get() or {}
    finally:
        _fields.reset(token)


def trace_id_of(attributes: Mapping[str, str] | None, message_id: str | None = None) -> str:
    """The trace id of a message: the integrator's (W3C `traceparent` or `trace_id` attribute), else one
    derived from the Pub/Sub message id (so every redelivery of a message logs under the same trace)."""
    attributes = attributes or {}
    match = _TRACEPARENT.match(str(attributes.get("traceparent", "")).strip().lower())
    if match and match.group(1) != "0" * 32:
        return match.group(1)
    given = str(attributes.get("trace_id", "")).strip().lower()
    if _TRACE_ID.match(given):
        return given
    if message_id:
        return hashlib.sha256(f"message:{message_id}".encode()).hexdigest()[:32]
    return uuid.uuid4().hex


def derived_trace_id(*parts: str) -> str:
    """A stable trace id for work that did not come from a message (a manual entry, an upload)."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:32]


def observed(function: str) -> Callable[[F], F]:
    """Decorate a trigger: its lines carry `function`, and one line per invocation says how it ended.

    The closing line has `outcome` (ok, or failed with the error type) and `latency_ms`: the
    log-based metrics and alert policies of infra/terraform/monitoring.tf count them. The error
    is re-raised, so the platform's retry policy still applies.
    """

    def decorate(handler: F) -> F:
        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            log = logging.getLogger(handler.__module__)
            with log_context(function=function):
                try:
                    result = handler(*args, **kwargs)
                except Exception as exc:
                    log.error(
                        "%s failed: %s",
                        function,
                        exc,
                        exc_info=True,
                        extra={
                            "json_fields": {
                                "outcome": "failed",
                                "error_type": type(exc).__name__,
                                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                            }
                        },
                    )
                    raise
                log.info(
                    "%s done",
                    function,
                    extra={
                        "json_fields": {"outcome": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
                    },
                )
                return result

        return wrapper  # type: ignore[return-value]

    return decorate


def dumps(entry: Mapping[str, Any]) -> str:
    """One entry as the line it is written as (tests and tools)."""
    return json.dumps(_jsonable(entry), ensure_ascii=False)
