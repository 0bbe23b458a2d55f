"""BigQuery rows and their generated schemas: exact NUMERIC amounts, DATE periods, modes from the models."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, Optional

import pytest
from finance_core.analytics_rows import ROW_MODELS, AlertStateChange, FinancialFact, MetricValue, bigquery_schema
from pydantic import BaseModel, Field, ValidationError

ROOT = Path(__file__).resolve().parents[2]

# docs/analysts.md, `financial_facts`: the columns analysts rely on.
CONTRACT_FACT_COLUMNS = {
    "event_id": "STRING",
    "org_id": "STRING",
    "record_id": "STRING",
    "version": "INT64",
    "op": "STRING",
    "entity_id": "STRING",
    "account_id": "STRING",
    "account_type": "STRING",
    "period": "DATE",
    "scenario": "STRING",
    "amount": "NUMERIC",
    "currency": "STRING",
    "reporting_amount": "NUMERIC",
    "occurred_at": "TIMESTAMP",
    "ingested_at": "TIMESTAMP",
}


def columns(model) -> dict[str, dict[str, str]]:
    return {column["name"]: column for column in bigquery_schema(model)}


def test_financial_facts_has_every_contract_column_with_its_type():
    schema = columns(FinancialFact)
    for name, bq_type in CONTRACT_FACT_COLUMNS.items():
        assert name in schema, f"contract column {name} is missing"
        assert schema[name]["type"] == bq_type, name
        assert schema[name]["mode"] == "REQUIRED", name


def test_schema_order_modes_and_descriptions_follow_the_model():
    schema = bigquery_schema(FinancialFact)
    assert [c["name"] for c in schema] == list(FinancialFact.model_fields)
    nullable = {c["name"] for c in schema if c["mode"] == "NULLABLE"}
    assert nullable == {"reporting_currency", "source", "booking_date"}
    assert all(c["description"] for c in schema), "every column is described for analysts"
    assert set(schema[0]) == {"name", "type", "mode", "description"}


def test_no_money_column_is_a_float():
    for model in ROW_MODELS.values():
        assert "FLOAT64" not in {c["type"] for c in bigquery_schema(model)}, model.__name__


def test_alert_state_changes_schema():
    schema = columns(AlertStateChange)
    assert schema["current_value"] == {
        "name": "current_value",
        "type": "NUMERIC",
        "mode": "NULLABLE",
        "description": "Value of the watched metric, if numeric.",
    }
    assert schema["escalation_level"]["type"] == "INT64" and schema["escalation_level"]["mode"] == "REQUIRED"
    assert schema["changed_at"]["type"] == "TIMESTAMP"


def test_the_row_models_are_the_tables_of_the_dataset():
    assert ROW_MODELS == {"financial_facts": FinancialFact, "alerts": AlertStateChange, "metric_values": MetricValue}


def test_the_generated_table_schemas_match_the_models():
    for table, model in ROW_MODELS.items():
        path = ROOT / "infra" / "bigquery" / "schemas" / f"{table}.json"
        assert json.loads(path.read_text()) == bigquery_schema(model), f"{path} is stale: run ./dev generate"


def test_type_mapping_of_plain_annotations():
    class Row(BaseModel):
        text: str = Field(description="t")
        count: int
        flag: bool
        exact: Decimal
        day: date
        moment: datetime
        kind: Literal["a", "b"]
        maybe: Optional[int] = None  # noqa: UP045 - the typing.Optional spelling must work too
        maybe_too: Decimal | None = None

    assert [(c["name"], c["type"], c["mode"]) for c in bigquery_schema(Row)] == [
        ("text", "STRING", "REQUIRED"),
        ("count", "INT64", "REQUIRED"),
        ("flag", "BOOL", "REQUIRED"),
        ("exact", "NUMERIC", "REQUIRED"),
        ("day", "DATE", "REQUIRED"),
        ("moment", "TIMESTAMP", "REQUIRED"),
        ("kind", "STRING", "REQUIRED"),
        ("maybe", "INT64", "NULLABLE"),
        ("maybe_too", "NUMERIC", "NULLABLE"),
    ]
    assert bigquery_schema(Row)[0]["description"] == "t" and bigquery_schema(Row)[1]["description"] == ""


@pytest.mark.parametrize("annotation", [float, list[int], int | str, dict[str, int]])
def test_annotations_without_a_faithful_bigquery_type_are_refused(annotation):
    Row = type("Row", (BaseModel,), {"__annotations__": {"value": annotation}})
    with pytest.raises(TypeError, match="no BigQuery type"):
        bigquery_schema(Row)


def fact(**changes) -> FinancialFact:
    body = dict(
        event_id="e1",
        org_id="acme",
        record_id="JE-1",
        version=3,
        op="upsert",
        entity_id="us-east",
        account_id="4100",
        account_type="revenue",
        period=date(2026, 10, 1),
        scenario="actual",
        amount=Decimal("12345.67"),
        currency="EUR",
        reporting_amount=Decimal("14039.39"),
        occurred_at=datetime(2026, 10, 5, 12, tzinfo=UTC),
        ingested_at=datetime(2026, 10, 5, 12, 0, 1, tzinfo=UTC),
    )
    body.update(changes)
    return FinancialFact(**body)


def test_a_fact_row_keeps_amounts_exact():
    row = fact(amount="0.30")
    assert row.amount == Decimal("0.30") and str(row.amount) == "0.30"
    assert row.model_dump(mode="json")["amount"] == "0.30", "serialised as a string, never a float"
    assert row.model_dump(mode="json")["period"] == "2026-10-01"


def test_a_fact_row_is_strict_and_immutable():
    with pytest.raises(ValidationError):
        fact(op="update")
    with pytest.raises(ValidationError):
        fact(colour="blue")
    row = fact()
    with pytest.raises(ValidationError):
        row.version = 4  # type: ignore[misc]
