"""Generated files are current, and the Avro topic schema lines up with the event contract."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from finance_core.avro_schema import AVRO_NAMESPACE, AvroSchemaError, event_avro_schema, model_avro_schema
from finance_core.events import FinancialEvent, RecordFields, Scenario, parse_event

from tools import generated_artifacts
from tools.generated_artifacts import artifacts, stale_artifacts

ROOT = Path(__file__).resolve().parents[2]
AVSC = ROOT / "infra" / "pubsub" / "financial-event.v1.avsc"
AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# A contract-v1 event of the shape docs/integrators.md documents ("The event (contract v1)").
CONTRACT_EXAMPLE = {
    "event_id": "erp-7f3a-000123",
    "type": "record.upserted",
    "org_id": "acme",
    "record_id": "JE-10023-1",
    "version": 3,
    "occurred_at": "2026-10-05T12:00:00Z",
    "record": {
        "entity_id": "us-east",
        "account_id": "4000",
        "period": "2026-10",
        "scenario": "actual",
        "amount": "12345.67",
        "currency": "USD",
        "memo": "optional text",
        "source": "netsuite",
    },
}


def test_generated_files_are_current():
    stale = [str(path.relative_to(ROOT)) for path in stale_artifacts()]
    assert not stale, f"out of date: {stale} (run ./dev generate or python tools/generated_artifacts.py)"


def test_staleness_check_can_fail(tmp_path, monkeypatch):
    target = tmp_path / "schema.json"
    target.write_text("old\n")
    monkeypatch.setattr(generated_artifacts, "artifacts", lambda: {target: "new\n", tmp_path / "missing": "x"})
    assert set(stale_artifacts()) == {target, tmp_path / "missing"}


def test_avro_schema_is_generated_into_infra_pubsub():
    files = artifacts()
    assert AVSC in files, "tools/generated_artifacts.py must write the Avro schema"
    assert json.loads(files[AVSC]) == event_avro_schema()
    assert json.loads(AVSC.read_text()) == event_avro_schema()


# --- the schema lines up with the pydantic models ---------------------------------------------


def _optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _check_record(avro: dict[str, Any], model: type) -> None:
    assert avro["type"] == "record" and avro["name"] == model.__name__
    assert [f["name"] for f in avro["fields"]] == list(model.model_fields), model.__name__
    for field in avro["fields"]:
        info = model.model_fields[field["name"]]
        if _optional(info.annotation):
            assert isinstance(field["type"], list) and field["type"][0] == "null", field
            assert "default" in field and field["default"] is None, field
        else:
            assert not isinstance(field["type"], list), f"{field['name']} is required in the contract"
            assert "default" not in field, field
        assert field.get("doc") == info.description


def test_avro_fields_match_the_event_model():
    schema = event_avro_schema()
    assert schema["namespace"] == AVRO_NAMESPACE
    _check_record(schema, FinancialEvent)
    fields = {f["name"]: f["type"] for f in schema["fields"]}
    assert fields["event_id"] == fields["org_id"] == fields["record_id"] == "string"
    assert fields["version"] == "long", "versions go up to 2**53: an Avro int (32 bits) is too small"
    assert fields["occurred_at"] == "string", "the contract carries RFC 3339 text, not epoch numbers"
    assert fields["type"] == "string", "'record.upserted' is not a valid Avro enum symbol"
    record = fields["record"][1]
    _check_record(record, RecordFields)
    record_fields = {f["name"]: f["type"] for f in record["fields"]}
    assert record_fields["amount"] == "string", "amounts are decimal strings in the contract"
    assert record_fields["scenario"] == {"type": "enum", "name": "Scenario", "symbols": [s.value for s in Scenario]}


def test_avro_and_json_schema_describe_the_same_fields():
    published = json.loads((ROOT / "docs" / "schemas" / "financial-event.v1.json").read_text())
    avro = event_avro_schema()
    assert {f["name"] for f in avro["fields"]} == set(published["properties"])
    assert {f["name"] for f in avro["fields"] if not isinstance(f["type"], list)} == set(published["required"])


def _named_types(schema: Any, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        if schema.get("type") in ("record", "enum"):
            found.append(schema)
        for key in ("fields", "type", "items", "values"):
            if key in schema:
                _named_types(schema[key], found)
    elif isinstance(schema, list):
        for item in schema:
            _named_types(item, found)
    return found


def test_avro_schema_follows_the_avro_naming_rules():
    named = _named_types(event_avro_schema(), [])
    assert len({n["name"] for n in named}) == len(named), "each named type is defined once"
    for item in named:
        assert AVRO_NAME.match(item["name"])
        for symbol in item.get("symbols", []):
            assert AVRO_NAME.match(symbol), symbol
    assert all(AVRO_NAME.match(part) for part in AVRO_NAMESPACE.split("."))


def test_unsupported_annotations_are_refused():
    from pydantic import BaseModel

    class Odd(BaseModel):
        value: int | str

    with pytest.raises(AvroSchemaError):
        model_avro_schema(Odd)


# --- what Pub/Sub would accept with the schema bound (JSON encoding) -------------------------


def _named(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{AVRO_NAMESPACE}.{n['name']}": n for n in _named_types(schema, [])}


def _avro_json_problems(avro: Any, value: Any, names: dict[str, dict[str, Any]], path: str = "$") -> list[str]:
    """Validation by the Avro 1.11 JSON encoding (the one Pub/Sub applies to JSON messages)."""
    if isinstance(avro, str) and avro in names:
        avro = names[avro]
    if isinstance(avro, list):  # union: null, or {"<branch name>": value}
        if value is None:
            return [] if "null" in avro else [f"{path}: null not allowed"]
        if not isinstance(value, dict) or len(value) != 1:
            return [f'{path}: a union value must be wrapped as {{"<type>": value}}']
        ((branch, inner),) = value.items()
        for option in avro:
            # Named types are wrapped by their full name, maps and arrays by their type.
            option_name = (
                option
                if isinstance(option, str)
                else f"{AVRO_NAMESPACE}.{option['name']}"
                if "name" in option
                else option["type"]
            )
            if option_name == branch:
                return _avro_json_problems(option, inner, names, f"{path}.{branch}")
        return [f"{path}: {branch!r} is not a branch of the union"]
    if isinstance(avro, dict) and avro["type"] == "record":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        problems = [f"{path}.{k}: unknown field" for k in value if k not in {f["name"] for f in avro["fields"]}]
        for field in avro["fields"]:
            if field["name"] in value:
                problems += _avro_json_problems(field["type"], value[field["name"]], names, f"{path}.{field['name']}")
            elif "default" not in field:
                problems.append(f"{path}.{field['name']}: missing")
        return problems
    if isinstance(avro, dict) and avro["type"] == "map":
        if not isinstance(value, dict):
            return [f"{path}: expected a map"]
        return [p for k, v in value.items() for p in _avro_json_problems(avro["values"], v, names, f"{path}.{k}")]
    if isinstance(avro, dict) and avro["type"] == "enum":
        return [] if value in avro["symbols"] else [f"{path}: {value!r} not in {avro['symbols']}"]
    checks = {"string": lambda v: isinstance(v, str), "long": lambda v: isinstance(v, int) and not isinstance(v, bool)}
    return [] if checks[avro](value) else [f"{path}: not a {avro}"]


def _wrapped(event: dict[str, Any]) -> dict[str, Any]:
    """The same event in Avro's JSON encoding: optional values wrapped with their branch name."""
    out = dict(event)
    if event.get("record") is not None:
        wrap = {"memo": "string", "source": "string", "dimensions": "map"}
        record = {k: ({wrap[k]: v} if k in wrap and v is not None else v) for k, v in event["record"].items()}
        out["record"] = {f"{AVRO_NAMESPACE}.RecordFields": record}
    return out


def test_the_contract_field_set_fits_the_avro_schema():
    schema = event_avro_schema()
    parse_event(json.dumps(CONTRACT_EXAMPLE))  # the example is a valid contract-v1 event
    assert _avro_json_problems(schema, _wrapped(CONTRACT_EXAMPLE), _named(schema)) == []
    delete = {k: v for k, v in CONTRACT_EXAMPLE.items() if k != "record"} | {"type": "record.deleted"}
    parse_event(json.dumps(delete))
    assert _avro_json_problems(schema, delete, _named(schema)) == []
    minimal = dict(
        CONTRACT_EXAMPLE, record={k: v for k, v in CONTRACT_EXAMPLE["record"].items() if k not in ("memo", "source")}
    )
    assert _avro_json_problems(schema, _wrapped(minimal), _named(schema)) == []
    with_dimensions = dict(CONTRACT_EXAMPLE, record={**CONTRACT_EXAMPLE["record"], "dimensions": {"region": "emea"}})
    parse_event(json.dumps(with_dimensions))
    assert _avro_json_problems(schema, _wrapped(with_dimensions), _named(schema)) == []
    assert _avro_json_problems(
        schema,
        _wrapped(dict(with_dimensions, record={**CONTRACT_EXAMPLE["record"], "dimensions": {"region": 3}})),
        _named(schema),
    )
    assert _avro_json_problems(schema, _wrapped(dict(CONTRACT_EXAMPLE, version="3")), _named(schema))


def test_plain_contract_json_is_not_avro_json_so_the_binding_stays_off():
    # Why infra/terraform keeps enforce_event_schema = false: a contract-v1 upsert, as integrators
    # send it, is not valid Avro JSON (its record and optional strings are not wrapped).
    schema = event_avro_schema()
    problems = _avro_json_problems(schema, CONTRACT_EXAMPLE, _named(schema))
    assert problems and "union value must be wrapped" in problems[0]
