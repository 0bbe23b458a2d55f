"""Conversions between the core's values and Firestore documents (exact amounts, timestamps, paths)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from finance_core.metrics import MetricValue
from finance_core.records import RecordState


def org_path(org_id: str) -> str:
    """Path of an org document."""
    return f"organizations/{org_id}"


def record_document(state: RecordState, reporting_currency: str) -> dict[str, Any]:
    """Firestore body of a live record (docs/dashboard-clients.md, "Documents and fields").

    Amounts: string + minor units.
    """
    return {
        "record_id": state.record_id,
        "entity_id": state.entity_id,
        "account_id": state.account_id,
        "period": state.period,
        "scenario": state.scenario,
        "amount": str(state.amount),
        "amount_minor": state.amount_minor,
        "currency": state.currency,
        "reporting_amount_minor": state.reporting_amount_minor,
        "reporting_currency": reporting_currency,
        "version": state.version,
        "event_id": state.event_id,
        "occurred_at": parse_timestamp(state.occurred_at) if state.occurred_at else None,
        "source": state.source,
        "memo": state.memo,
        # Always written (null when none): a new version without dimensions must clear the old
        # ones, since a changed record is updated in place.
        "dimensions": dict(state.dimensions) if state.dimensions else None,
        # Always written too (null when none), for the same reason; 'YYYY-MM-DD' sorts as it reads.
        "date": state.date,
    }


def tombstone_document(state: RecordState) -> dict[str, Any]:
    """Body of `deleted_records/{record_id}`: remembers the delete's version so late upserts stay dead."""
    return {
        "record_id": state.record_id,
        "version": state.version,
        "event_id": state.event_id,
        "occurred_at": parse_timestamp(state.occurred_at) if state.occurred_at else None,
    }


class MalformedRecord(ValueError):
    """A financial_records document that the backend did not write (missing or invalid fields)."""


REQUIRED_RECORD_FIELDS = ("version", "entity_id", "account_id", "period", "scenario", "reporting_amount_minor")


def record_from_document(org_id: str, record_id: str, doc: Mapping[str, Any] | None) -> RecordState | None:
    """RecordState of a stored record document (None if absent); MalformedRecord if it is not one."""
    if not doc:
        return None
    missing = [name for name in REQUIRED_RECORD_FIELDS if doc.get(name) is None]
    if missing:
        raise MalformedRecord(f"organizations/{org_id}/financial_records/{record_id} lacks {', '.join(missing)}")
    occurred = doc.get("occurred_at")
    return RecordState(
        org_id=org_id,
        record_id=record_id,
        version=int(doc["version"]),
        event_id=str(doc.get("event_id", "")),
        entity_id=doc.get("entity_id"),
        account_id=doc.get("account_id"),
        period=doc.get("period"),
        scenario=doc.get("scenario"),
        amount=Decimal(doc["amount"]) if doc.get("amount") is not None else None,
        currency=doc.get("currency"),
        amount_minor=_int_or_none(doc.get("amount_minor")),
        reporting_amount_minor=_int_or_none(doc.get("reporting_amount_minor")),
        occurred_at=occurred.isoformat() if isinstance(occurred, datetime) else occurred,
        source=doc.get("source"),
        memo=doc.get("memo"),
        dimensions={str(k): str(v) for k, v in doc["dimensions"].items()} if doc.get("dimensions") else None,
        date=str(doc["date"]) if doc.get("date") else None,
    )


def tombstone_from_document(org_id: str, record_id: str, doc: Mapping[str, Any] | None) -> RecordState | None:
    """RecordState (deleted) of a tombstone document."""
    if not doc:
        return None
    return RecordState(org_id, record_id, int(doc["version"]), str(doc.get("event_id", "")), deleted=True)


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def parse_timestamp(text: str) -> datetime:
    """Aware datetime from an ISO/RFC 3339 string."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def metric_values(metrics: Mapping[str, MetricValue]) -> dict[str, int | float | None]:
    """Metrics for a document: money stays an int (minor units); percentages become plain numbers.

    A percentage is not money: it is stored as a number with 4 decimals so dashboards can show
    it directly (docs/dashboard-clients.md), after exact Decimal computation.
    """
    stored: dict[str, int | float | None] = {}
    for name, value in metrics.items():
        if isinstance(value, Decimal):
            stored[name] = float(value)
        else:
            stored[name] = value
    return stored


def utc_now() -> datetime:
    """Current time, timezone-aware (the only clock read of the adapters)."""
    return datetime.now(UTC)
