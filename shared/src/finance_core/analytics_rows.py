"""Rows the analytics sink writes to BigQuery, and the BigQuery schemas generated from them."""

from __future__ import annotations

import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo

# BigQuery NUMERIC holds 38 digits with 9 after the point: enough for any amount we accept
# (18 integer + 6 fraction digits), and exact, unlike FLOAT64.
_BQ_TYPES: dict[type, str] = {
    str: "STRING",
    int: "INT64",
    bool: "BOOL",
    Decimal: "NUMERIC",
    date: "DATE",
    datetime: "TIMESTAMP",
}


class FactDimension(BaseModel):
    """One dimension a record carries (an element of `financial_facts.dimensions`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Declared dimension, e.g. 'region'.")
    value: str = Field(description="The record's value of it, e.g. 'emea'.")


class FinancialFact(BaseModel):
    """One accepted change of a financial record (upsert or delete), as a row of `financial_facts`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(description="Idempotency key of the change; also the streaming insert id.")
    org_id: str = Field(description="Organisation.")
    record_id: str = Field(description="Stable id of the ledger line at the source.")
    version: int = Field(description="Source version of the record this row describes.")
    op: Literal["upsert", "delete"] = Field(description="upsert: the record's state; delete: it was removed.")
    entity_id: str = Field(description="Entity of the record.")
    account_id: str = Field(description="Account of the record.")
    account_type: str = Field(description="Type of the account (revenue, cogs, opex, ...).")
    period: date = Field(description="First day of the fiscal month.")
    booking_date: date | None = Field(
        default=None, description="Booking date of the record (record.date), inside the period; NULL when it has none."
    )
    scenario: str = Field(description="actual, budget or forecast.")
    amount: Decimal = Field(description="Amount in the record's currency.")
    currency: str = Field(description="ISO 4217 currency of amount.")
    reporting_amount: Decimal = Field(description="Amount in the org's reporting currency.")
    reporting_currency: str | None = Field(default=None, description="The org's reporting currency.")
    source: str | None = Field(default=None, description="Source system.")
    occurred_at: datetime = Field(description="When the change happened at the source.")
    ingested_at: datetime = Field(description="When the backend applied the change.")
    dimensions: list[FactDimension] = Field(
        default_factory=list,
        description="Declared dimensions of the record, sorted by name (empty when it carries none); "
        "group with UNNEST(dimensions) or read the view dimension_totals.",
    )


class AlertStateChange(BaseModel):
    """One state change of an alert (fired, updated, acknowledged, escalated, resolved, notified)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    change_id: str = Field(description="Idempotency key of the state change.")
    org_id: str = Field(description="Organisation.")
    alert_id: str = Field(description="Alert document id (derived from the rule fingerprint).")
    rule_id: str = Field(description="Rule that raised the alert.")
    severity: str = Field(description="info, warning or critical.")
    status: str = Field(description="active, acknowledged or resolved.")
    change: str = Field(description="What happened: fired, updated, acknowledged, escalated, resolved, notified.")
    title: str = Field(description="Short human title.")
    current_value: Decimal | None = Field(default=None, description="Value of the watched metric, if numeric.")
    threshold: Decimal | None = Field(default=None, description="Threshold of the rule, if any.")
    escalation_level: int = Field(description="0 until escalated.")
    changed_at: datetime = Field(description="When the change happened.")


class MetricValue(BaseModel):
    """One value of one metric (built-in or defined) of a metric series at one period, as a row of `metric_values`.

    The table is an append-only changelog: a series document write adds a row for each cell whose
    value (or description) changed, stamped with the document's version; `metrics_latest` keeps the
    newest row per org, entity, scenario, metric and period.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    row_id: str = Field(description="Streaming insert id: org, series, version, metric and period.")
    org_id: str = Field(description="Organisation.")
    entity_id: str = Field(description="Entity, or '_all' for the consolidated series.")
    scenario: str = Field(description="actual, budget or forecast.")
    period: date = Field(description="First day of the fiscal month.")
    metric_id: str = Field(description="Metric id (built-in, e.g. revenue, or the org's own definition).")
    label: str = Field(description="Label of the metric.")
    unit: str = Field(description="money, percent, ratio, days, months or count.")
    direction: str = Field(description="higher_is_better, lower_is_better or neutral.")
    decimals: int = Field(description="Decimals dashboards show (money: the currency's).")
    defined: bool = Field(description="True for the org's own definitions, false for the built-in P&L metrics.")
    value: Decimal | None = Field(
        default=None,
        description="Exact value: money in the reporting currency (e.g. 1234.56), percent in points; "
        "NULL when undefined (a division by zero, a window before the first period) or removed.",
    )
    currency: str = Field(description="The org's reporting currency (unit of money values).")
    op: Literal["set", "delete"] = Field(description="set: the cell's value; delete: the metric or period is gone.")
    series_version: int = Field(description="Version of the series document; the newest row of a cell wins.")
    revision: int = Field(description="Revision of the org's definitions the value was computed with.")
    computed_at: datetime = Field(description="When the backend wrote the series document.")


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1 and len(typing.get_args(annotation)) == 2:
            return members[0], True
    return annotation, False


def _bq_type(annotation: Any) -> str:
    if typing.get_origin(annotation) is Literal:
        return "STRING"
    try:
        return _BQ_TYPES[annotation]
    except (KeyError, TypeError):
        raise TypeError(f"no BigQuery type for {annotation!r}") from None


def bigquery_schema(model: type[BaseModel]) -> list[dict[str, Any]]:
    """BigQuery JSON schema (name, type, mode, description, nested fields) of a row model.

    A `list[Model]` field becomes a REPEATED RECORD of the model's fields.
    """
    schema: list[dict[str, Any]] = []
    field: FieldInfo
    for name, field in model.model_fields.items():
        annotation, optional = _unwrap_optional(field.annotation)
        item = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None
        if isinstance(item, type) and issubclass(item, BaseModel):
            schema.append(
                {
                    "name": name,
                    "type": "RECORD",
                    "mode": "REPEATED",
                    "description": field.description or "",
                    "fields": bigquery_schema(item),
                }
            )
            continue
        schema.append(
            {
                "name": name,
                "type": _bq_type(annotation),
                "mode": "NULLABLE" if optional else "REQUIRED",
                "description": field.description or "",
            }
        )
    return schema


ROW_MODELS: dict[str, type[BaseModel]] = {
    "financial_facts": FinancialFact,
    "alerts": AlertStateChange,
    "metric_values": MetricValue,
}
