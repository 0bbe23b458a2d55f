"""Event contract v1: strict validation with readable reasons, identifiers, and the published JSON Schema."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from finance_core.events import (
    MAX_MESSAGE_BYTES,
    EventRejected,
    EventType,
    FinancialEvent,
    Scenario,
    describe_validation_error,
    event_json_schema,
    parse_event,
)
from finance_core.identifiers import CONSOLIDATED_ENTITY, KEY_SEPARATOR, identifier_problem, is_identifier
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "schemas" / "financial-event.v1.json"

# A contract-v1 event of the shape docs/integrators.md documents ("The event (contract v1)").
CONTRACT_EXAMPLE: dict[str, Any] = {
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


def example(**changes: Any) -> dict[str, Any]:
    """The contract example with top-level changes; a value of ... removes the field."""
    body = copy.deepcopy(CONTRACT_EXAMPLE)
    for name, value in changes.items():
        if value is ...:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def with_record(**changes: Any) -> dict[str, Any]:
    """The contract example with changes of the record fields; ... removes the field."""
    body = copy.deepcopy(CONTRACT_EXAMPLE)
    for name, value in changes.items():
        if value is ...:
            body["record"].pop(name, None)
        else:
            body["record"][name] = value
    return body


def rejection(data: Any) -> EventRejected:
    with pytest.raises(EventRejected) as info:
        parse_event(data)
    return info.value


# --- the contract example ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode", [lambda b: json.dumps(b).encode(), json.dumps, lambda b: b], ids=["bytes", "str", "dict"]
)
def test_the_contract_example_is_accepted_from_bytes_text_or_dict(encode):
    event = parse_event(encode(CONTRACT_EXAMPLE))
    assert event.event_id == "erp-7f3a-000123"
    assert event.type is EventType.UPSERTED and not event.is_delete
    assert event.version == 3
    assert event.occurred_at == datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
    assert event.record is not None
    assert event.record.scenario is Scenario.ACTUAL
    assert event.record.amount == "12345.67", "the amount is kept exactly as the integrator wrote it"
    assert event.record.decimal_amount == Decimal("12345.67")
    assert event.record.memo == "optional text" and event.record.source == "netsuite"


def test_optional_record_fields_may_be_left_out():
    event = parse_event(with_record(memo=..., source=...))
    assert event.record is not None and event.record.memo is None and event.record.source is None


def test_a_delete_carries_no_record():
    event = parse_event(example(type="record.deleted", record=...))
    assert event.is_delete and event.record is None


def test_events_are_immutable():
    event = parse_event(CONTRACT_EXAMPLE)
    with pytest.raises(ValidationError):
        event.version = 4  # type: ignore[misc]


def test_an_offset_timestamp_is_understood_as_the_same_instant():
    event = parse_event(example(occurred_at="2026-10-05T14:00:00+02:00"))
    assert event.occurred_at == datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


# --- amounts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["12345.67", "12345", "0.1", "1e3"])
def test_a_json_number_amount_is_rejected_with_send_a_string(number):
    raw = json.dumps(CONTRACT_EXAMPLE).replace('"12345.67"', number)
    problem = rejection(raw)
    assert problem.code == "invalid_event"
    assert problem.reason.startswith("record.amount: amount must be a decimal string"), problem.reason
    assert "not a JSON number" in problem.reason
    assert "floating point" in problem.reason
    # The rejection keeps the ids, so the message is dead-lettered under its org and event id.
    assert (problem.org_id, problem.event_id) == ("acme", "erp-7f3a-000123")


def test_a_python_float_amount_is_rejected_too():
    problem = rejection(with_record(amount=12345.67))
    assert "record.amount" in problem.reason and "decimal string" in problem.reason


@pytest.mark.parametrize("text", ["1,000.00", "1e3", " 1.00", "0.1234567", "01.00", "+5", "12345.67 USD"])
def test_amount_strings_must_be_plain_decimals(text):
    problem = rejection(with_record(amount=text))
    assert "record.amount" in problem.reason and "plain decimal string" in problem.reason
    assert repr(text) in problem.reason


def test_amount_is_required():
    assert rejection(with_record(amount=...)).reason == "record.amount: is required"


# --- unknown and missing fields ------------------------------------------------------------------


def test_an_unknown_top_level_field_is_reported_by_name():
    problem = rejection(example(colour="blue"))
    assert problem.reason == "colour: is not a field of the event contract v1 (check the spelling)"


def test_a_misspelt_record_field_is_reported_by_name_and_the_real_one_as_missing():
    body = with_record(amout="12.00", amount=...)
    reason = rejection(body).reason
    assert "record.amout: is not a field of the event contract v1" in reason
    assert "record.amount: is required" in reason
    assert reason.count("; ") == 1, "one sentence per problem, joined with '; '"


@pytest.mark.parametrize("name", ["event_id", "type", "org_id", "record_id", "version", "occurred_at"])
def test_every_required_top_level_field_is_named_when_missing(name):
    assert f"{name}: is required" in rejection(example(**{name: ...})).reason


def test_an_upsert_needs_a_record_and_a_delete_must_not_have_one():
    assert rejection(example(record=...)).reason == "event: a record.upserted event needs a 'record' object"
    assert rejection(example(type="record.deleted")).reason == (
        "event: a record.deleted event must not carry a 'record' object"
    )


def test_unknown_event_type_and_scenario_are_rejected():
    assert "type:" in rejection(example(type="record.updated")).reason
    assert "record.scenario:" in rejection(with_record(scenario="plan")).reason


# --- identifiers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["event_id", "org_id", "record_id"])
def test_top_level_ids_with_double_underscore_are_rejected(field):
    problem = rejection(example(**{field: "a__b"}))
    assert f"{field}: {field} 'a__b' must not contain '__'" in problem.reason


@pytest.mark.parametrize("field", ["entity_id", "account_id"])
def test_record_ids_with_double_underscore_are_rejected(field):
    assert f"record.{field}: {field} 'x__y' must not contain '__'" in rejection(with_record(**{field: "x__y"})).reason


def test_an_unusable_org_or_event_id_is_not_used_to_file_the_rejection():
    # A bad org id cannot name a Firestore path: the rejection goes to the global collection.
    problem = rejection(example(org_id="a__b"))
    assert problem.org_id is None and problem.event_id == "erp-7f3a-000123"
    problem = rejection(example(event_id="bad/id"))
    assert problem.org_id == "acme" and problem.event_id is None


@pytest.mark.parametrize("value", ["us east", "-leading-dash", "_all", "a/b", "x" * 129, "", "é"])
def test_identifiers_outside_the_safe_alphabet_are_rejected(value):
    assert "record.entity_id" in rejection(with_record(entity_id=value)).reason


def test_identifier_rules():
    assert is_identifier("JE-10023-1") and is_identifier("a.b_c-d") and is_identifier("x" * 128)
    assert not is_identifier("x" * 129)
    assert not is_identifier("a__b") and not is_identifier("_all") and not is_identifier(7)
    assert identifier_problem(7, "org_id") == "org_id must be a string"
    assert "'a__b' must not contain '__'" in str(identifier_problem("a__b", "record_id"))
    assert "Firestore document id" in str(identifier_problem("a b", "record_id"))
    # The consolidated entity cannot clash with a real entity, and the separator with any id.
    assert not is_identifier(CONSOLIDATED_ENTITY) and not is_identifier(f"a{KEY_SEPARATOR}b")


# --- other fields --------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "2026-10-01"])
def test_periods_are_fiscal_months(period):
    assert "'YYYY-MM'" in rejection(with_record(period=period)).reason


@pytest.mark.parametrize("currency", ["usd", "XYZ", "US", "DEM"])
def test_currencies_are_active_iso_4217_codes(currency):
    reason = rejection(with_record(currency=currency)).reason
    assert reason.startswith("record.currency:") and "ISO 4217" in reason


@pytest.mark.parametrize("value", ["2026-10-05T12:00:00", "2026-10-05", "05/10/2026 12:00", "1791201600"])
def test_occurred_at_needs_an_rfc_3339_time_with_offset(value):
    assert "must be an RFC 3339 timestamp with an offset" in rejection(example(occurred_at=value)).reason


def test_occurred_at_must_be_text_and_a_real_date():
    assert "RFC 3339" in rejection(example(occurred_at=1791201600)).reason
    assert rejection(example(occurred_at="2026-02-30T12:00:00Z")).reason.startswith("occurred_at:")


@pytest.mark.parametrize("version", [0, -1, True, "3", 2**53 + 1])
def test_version_must_be_a_positive_integer(version):
    assert rejection(example(version=version)).reason.startswith("version:")


def test_a_float_version_in_json_is_rejected_and_the_largest_safe_integer_accepted():
    raw = json.dumps(CONTRACT_EXAMPLE).replace('"version": 3,', '"version": 3.0,')
    assert "version must be a positive integer, got 3.0" in rejection(raw).reason
    assert parse_event(example(version=2**53)).version == 2**53


def test_memo_and_source_are_bounded():
    assert rejection(with_record(memo="x" * 501)).reason.startswith("record.memo:")
    assert rejection(with_record(source="s" * 65)).reason.startswith("record.source:")
    assert parse_event(with_record(memo="x" * 500)).record is not None


# --- the message envelope ------------------------------------------------------------------------


def test_non_utf8_bytes_are_invalid_json():
    problem = rejection(b"\xff\xfe{}")
    assert problem.code == "invalid_json" and "not UTF-8" in problem.reason


def test_broken_json_says_where():
    problem = rejection('{"event_id": "e1",')
    assert problem.code == "invalid_json" and "line 1 column" in problem.reason


@pytest.mark.parametrize("raw", ["[1, 2]", "null", '"text"', "42"])
def test_the_message_must_be_one_object(raw):
    problem = rejection(raw)
    assert problem.code == "invalid_event" and "one JSON object" in problem.reason
    assert problem.org_id is None and problem.event_id is None


def test_the_size_limit_is_inclusive():
    text = json.dumps(CONTRACT_EXAMPLE)
    at_limit = (text + " " * (MAX_MESSAGE_BYTES - len(text))).encode()
    assert len(at_limit) == MAX_MESSAGE_BYTES
    assert parse_event(at_limit).event_id == "erp-7f3a-000123"
    problem = rejection(at_limit + b" ")
    assert problem.code == "too_large" and str(MAX_MESSAGE_BYTES) in problem.reason


def test_event_rejected_is_a_value_error_with_code_and_reason():
    problem = EventRejected("period_closed", "period 2026-09 is closed", "acme", "e1")
    assert isinstance(problem, ValueError)
    assert str(problem) == problem.reason == "period 2026-09 is closed"
    assert (problem.code, problem.org_id, problem.event_id) == ("period_closed", "acme", "e1")


def test_describe_validation_error_writes_one_sentence_per_problem():
    with pytest.raises(ValidationError) as info:
        FinancialEvent.model_validate({"type": "record.upserted", "extra": 1})
    text = describe_validation_error(info.value)
    sentences = text.split("; ")
    assert "event_id: is required" in sentences
    assert "extra: is not a field of the event contract v1 (check the spelling)" in sentences
    assert not any("Value error" in s or "https://" in s for s in sentences)


# --- the published JSON Schema -------------------------------------------------------------------


def test_the_published_schema_file_is_current():
    assert SCHEMA_FILE.exists(), f"{SCHEMA_FILE.relative_to(ROOT)} is missing: run ./dev generate"
    published = json.loads(SCHEMA_FILE.read_text())
    assert published == event_json_schema(), (
        f"{SCHEMA_FILE.relative_to(ROOT)} differs from event_json_schema(): run ./dev generate "
        "(tools/generated_artifacts.py) and commit the file"
    )


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_contract_example_is_valid_against_the_published_schema():
    errors = list(validator().iter_errors(CONTRACT_EXAMPLE))
    assert errors == [], [e.message for e in errors]
    assert list(validator().iter_errors(example(type="record.deleted", record=...))) == []


@pytest.mark.parametrize(
    "body",
    [
        with_record(amount=12345.67),
        with_record(amount="1,000.00"),
        with_record(currency="usd"),
        with_record(period="2026-13"),
        with_record(scenario="plan"),
        with_record(amount=...),
        example(colour="blue"),
        example(version=0),
        example(event_id="has space"),
        example(type="record.updated"),
    ],
    ids=[
        "float-amount",
        "separator",
        "lowercase-currency",
        "month-13",
        "scenario",
        "no-amount",
        "unknown-field",
        "version-0",
        "bad-id",
        "bad-type",
    ],
)
def test_the_schema_and_the_validator_both_reject(body):
    assert list(validator().iter_errors(body)), "the published schema accepts what the backend rejects"
    with pytest.raises(EventRejected):
        parse_event(body)


@pytest.mark.parametrize(
    "body",
    [
        example(record_id="a__b"),
        with_record(account_id="40__00"),
        example(record=...),
        example(type="record.deleted"),
    ],
    ids=["double-underscore-record-id", "double-underscore-account", "upsert-without-record", "delete-with-record"],
)
def test_the_schema_states_the_identifier_and_record_rules_too(body):
    assert list(validator().iter_errors(body)), "the published schema accepts what the backend rejects"
    with pytest.raises(EventRejected):
        parse_event(body)
