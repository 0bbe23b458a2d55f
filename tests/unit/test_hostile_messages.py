"""Hostile messages: every input to the event and batch parsers is an event or a rejection with a code and a
bounded, storable reason; nothing raises anything else (fuzzed from the published JSON Schemas, random bytes and
pathological shapes: depth, width, size, encodings, numbers)."""

from __future__ import annotations

import copy
import json
from datetime import UTC
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from finance_core.batches import MAX_BATCH_BYTES, ParsedBatch, parse_batch
from finance_core.events import MAX_MESSAGE_BYTES, EventRejected, FinancialEvent, parse_event
from finance_core.untrusted import MAX_JSON_DEPTH, MAX_REASON_CHARS, json_depth_problem, quoted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
EVENT_SCHEMA = json.loads((ROOT / "docs" / "schemas" / "financial-event.v1.json").read_text())
BATCH_SCHEMA = json.loads((ROOT / "docs" / "schemas" / "records-batch.v1.json").read_text())
CODES = {"too_large", "too_deep", "invalid_json", "invalid_event", "invalid_batch", "org_mismatch"}

EVENT: dict[str, Any] = {
    "event_id": "erp-1",
    "type": "record.upserted",
    "org_id": "acme",
    "record_id": "JE-1",
    "version": 1,
    "occurred_at": "2026-10-05T12:00:00Z",
    "record": {
        "entity_id": "us-east",
        "account_id": "4000",
        "period": "2026-10",
        "scenario": "actual",
        "amount": "12.50",
        "currency": "USD",
        "memo": "ok",
    },
}


def outcome_of_event(raw: bytes | str) -> FinancialEvent | EventRejected:
    """The parser's outcome; anything but an event or an EventRejected fails the test."""
    try:
        return parse_event(raw)
    except EventRejected as rejection:
        check_rejection(rejection)
        return rejection


def outcome_of_batch(raw: bytes) -> ParsedBatch | EventRejected:
    try:
        batch = parse_batch(raw)
    except EventRejected as rejection:
        check_rejection(rejection)
        return rejection
    for line in batch.lines:
        if isinstance(line, EventRejected):
            check_rejection(line)
    return batch


def check_rejection(rejection: EventRejected) -> None:
    assert rejection.code in CODES, rejection.code
    assert rejection.reason
    assert len(rejection.reason) <= MAX_REASON_CHARS
    rejection.reason.encode("utf-8")  # storable in Firestore: no unpaired surrogate


def nested(depth: int, inner: str = "1", kind: str = "[") -> str:
    closing = "]" if kind == "[" else "}"
    opening = "[" if kind == "[" else '{"a":'
    return opening * depth + inner + closing * depth


def with_memo(event: dict[str, Any], memo_json: str) -> str:
    return json.dumps(event).replace('"memo": "ok"', f'"memo": {memo_json}')


# --- the published schemas drive generation ----------------------------------------------------


def from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """Values of the JSON Schema subset the contract's schemas use ($ref, anyOf, enum, const,
    patterns, bounds, objects with optional fields, arrays); filtered by the schema itself."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return st.deferred(lambda: from_schema(root["$defs"][name], root))
    if "anyOf" in schema:
        return st.one_of([from_schema(option, root) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type", "string" if "pattern" in schema else None)
    if kind == "null":
        return st.none()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())
        if "pattern" in schema:
            strings = st.from_regex(schema["pattern"], fullmatch=True)
        else:
            strings = st.text(max_size=schema.get("maxLength", 64))
        return strings.filter(lambda text: len(text) <= schema.get("maxLength", len(text)))
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        if not properties:
            names = from_schema(schema.get("propertyNames", {"type": "string"}), root)
            return st.dictionaries(
                names, from_schema(schema.get("additionalProperties", {"type": "string"}), root), max_size=3
            )
        return st.fixed_dictionaries(
            {name: from_schema(sub, root) for name, sub in properties.items() if name in required},
            optional={name: from_schema(sub, root) for name, sub in properties.items() if name not in required},
        )
    if kind == "array":
        return st.lists(from_schema(schema["items"], root), min_size=schema.get("minItems", 0), max_size=3)
    raise AssertionError(f"schema keyword not generated: {sorted(schema)}")


def schema_valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    validator = jsonschema.Draft202012Validator(schema)
    return from_schema(schema).filter(validator.is_valid)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(schema_valid(EVENT_SCHEMA))
def test_any_event_the_schema_allows_is_an_event_or_a_rejection_naming_the_field(event: dict[str, Any]) -> None:
    outcome = outcome_of_event(json.dumps(event).encode())
    if isinstance(outcome, EventRejected):
        # What the schema allows and ingestion refuses is the data's meaning (an ISO currency,
        # an offset on the time, a booking date that is a calendar day: the pattern lets '0000-01-01'
        # through, the calendar has no year 0), never its shape.
        assert outcome.code == "invalid_event"
        assert any(part in outcome.reason for part in ("occurred_at", "currency", "record.date")), outcome.reason


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(schema_valid(BATCH_SCHEMA))
def test_any_batch_the_schema_allows_has_an_outcome_per_line(batch: dict[str, Any]) -> None:
    outcome = outcome_of_batch(json.dumps(batch).encode())
    assert isinstance(outcome, ParsedBatch), outcome
    assert len(outcome.lines) == len(batch["events"])


# --- random bytes, arbitrary JSON, pathological shapes ------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_are_a_rejection(raw: bytes) -> None:
    assert isinstance(outcome_of_event(raw), EventRejected)
    assert isinstance(outcome_of_batch(raw), EventRejected)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_json_value_is_a_rejection_with_a_code(value: Any) -> None:
    raw = json.dumps(value).encode()
    assert isinstance(outcome_of_event(raw), EventRejected)
    assert isinstance(outcome_of_batch(raw), EventRejected)


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(["event_id", "org_id", "version", "occurred_at", "type", "record"]), value=JSON_VALUES)
def test_any_value_in_any_field_of_an_event_is_an_event_or_a_rejection(field: str, value: Any) -> None:
    event = copy.deepcopy(EVENT)
    event[field] = value
    outcome_of_event(json.dumps(event).encode())


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(
        ["entity_id", "account_id", "period", "scenario", "amount", "currency", "memo", "dimensions"]
    ),
    value=JSON_VALUES,
)
def test_any_value_in_any_field_of_a_record_is_an_event_or_a_rejection(field: str, value: Any) -> None:
    event = copy.deepcopy(EVENT)
    event["record"][field] = value
    raw = json.dumps(event).encode()
    outcome_of_event(raw)
    outcome_of_batch(
        json.dumps({"type": "records.batch", "batch_id": "b", "org_id": "acme", "events": [event]}).encode()
    )


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.characters(codec=None, categories=None, exclude_categories=()), min_size=0, max_size=200),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1", "utf-8-sig"]),
)
def test_any_text_in_any_encoding_is_an_event_or_a_rejection(text: str, encoding: str) -> None:
    event = copy.deepcopy(EVENT)
    event["record"]["memo"] = text
    raw = json.dumps(event, ensure_ascii=False).encode(
        encoding, errors="replace" if encoding == "latin-1" else "surrogatepass"
    )
    outcome_of_event(raw)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100, 1000, 10_000])
@pytest.mark.parametrize("kind", ["[", "{"])
def test_deep_nesting_anywhere_is_a_too_deep_rejection_kept_in_its_org(depth: int, kind: str) -> None:
    # The shape of the issue: about 60 KB of brackets inside record.memo, under the 64 KB limit.
    raw = with_memo(EVENT, nested(depth, kind=kind)).encode()
    assert len(raw) <= MAX_MESSAGE_BYTES
    rejection = outcome_of_event(raw)
    assert isinstance(rejection, EventRejected)
    assert rejection.code == "too_deep"
    assert (rejection.org_id, rejection.event_id) == ("acme", "erp-1")
    assert isinstance(outcome_of_event(nested(depth, kind=kind).encode()), EventRejected)
    batch = json.dumps({"type": "records.batch", "batch_id": "b1", "org_id": "acme", "events": [EVENT]})
    deep_batch = batch.replace('"memo": "ok"', f'"memo": {nested(depth, kind=kind)}').encode()
    rejection = outcome_of_batch(deep_batch)
    assert isinstance(rejection, EventRejected)
    assert (rejection.code, rejection.org_id) == ("too_deep", "acme")


def test_nesting_within_the_limit_is_decoded_and_judged_by_the_contract() -> None:
    rejection = outcome_of_event(with_memo(EVENT, nested(MAX_JSON_DEPTH - 2)))
    assert isinstance(rejection, EventRejected)
    assert rejection.code == "invalid_event"
    assert "record.memo" in rejection.reason


def test_brackets_inside_strings_do_not_count() -> None:
    memo = json.dumps("[" * 300 + '\\"{' * 60)
    event = outcome_of_event(with_memo(EVENT, memo))
    assert isinstance(event, FinancialEvent)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_the_depth_scan_agrees_with_the_decoded_depth(value: Any) -> None:
    def depth(item: Any) -> int:
        if isinstance(item, list):
            return 1 + max((depth(x) for x in item), default=0)
        if isinstance(item, dict):
            return 1 + max((depth(x) for x in item.values()), default=0)
        return 0

    text = json.dumps(value)
    for limit in (1, 2, 3):
        assert (json_depth_problem(text, limit) is not None) == (depth(value) > limit)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xef\xbb\xbf" + json.dumps(EVENT).encode(),
        json.dumps(EVENT).encode("utf-16"),
        b"\x00" * 1000,
        b'"' + b"\\" * 50_000,
        b'{"a":' * 10_000,
        b"[" * 60_000,
        b"{" * (MAX_MESSAGE_BYTES + 1),
        b'{"event_id": "' + b"x" * 60_000 + b'"}',
        b"[" + b"1," * 30_000 + b"1]",
        json.dumps({f"k{i}": i for i in range(5000)}).encode(),
        json.dumps(EVENT).replace('"version": 1', '"version": ' + "9" * 50_000).encode(),
        json.dumps(EVENT).replace('"version": 1', '"version": 1e999999').encode(),
        json.dumps(EVENT).replace('"ok"', '"\\ud800\\udfff\\udc00"').encode(),
        json.dumps(EVENT).replace('"acme"', '"\\ud800"').encode(),
        json.dumps(EVENT).replace('"memo"', '"\\ud800"').encode(),
    ],
    ids=lambda raw: f"{len(raw)}-bytes-{raw[:12]!r}",
)
def test_pathological_messages_are_rejections(raw: bytes) -> None:
    assert isinstance(outcome_of_event(raw), EventRejected)
    if len(raw) <= MAX_BATCH_BYTES:
        assert isinstance(outcome_of_batch(raw), EventRejected)


def test_a_batch_at_its_byte_limit_of_brackets_is_refused_in_bounded_time() -> None:
    raw = (b"[]" * (MAX_BATCH_BYTES // 2))[:MAX_BATCH_BYTES]
    assert isinstance(outcome_of_batch(raw), EventRejected)


# --- reasons name the input as sent, and never echo it unbounded ----------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [("NaN", "NaN was sent"), ("Infinity", "Infinity was sent"), ("12.50", '"12.50"'), ("1e400", "1e400 was sent")],
)
def test_an_amount_sent_as_a_json_number_is_named_as_sent(sent: str, shown: str) -> None:
    rejection = outcome_of_event(json.dumps(EVENT).replace('"12.50"', sent))
    assert isinstance(rejection, EventRejected)
    assert shown in rejection.reason
    assert '"nan"' not in rejection.reason and '"inf"' not in rejection.reason


@pytest.mark.parametrize(("sent", "stored"), [("-0", "0"), ("-0.00", "0.00"), ("-0.000000", "0.000000"), ("0", "0")])
def test_a_negative_zero_amount_is_stored_as_zero(sent: str, stored: str) -> None:
    event = copy.deepcopy(EVENT)
    event["record"]["amount"] = sent
    outcome = outcome_of_event(json.dumps(event))
    assert isinstance(outcome, FinancialEvent)
    assert outcome.record is not None and outcome.record.amount == stored


@pytest.mark.parametrize("field", ["event_id", "org_id", "record_id", "occurred_at"])
def test_a_long_value_is_quoted_in_part_with_its_length(field: str) -> None:
    event = copy.deepcopy(EVENT)
    event[field] = "x" * 5000
    rejection = outcome_of_event(json.dumps(event))
    assert isinstance(rejection, EventRejected)
    assert "5,000 characters" in rejection.reason
    assert "x" * 100 not in rejection.reason


def test_quoted_names_containers_instead_of_printing_them() -> None:
    assert quoted({"a": 1}) == "an object of 1 field(s)"
    assert quoted([1, 2]) == "an array of 2 item(s)"
    assert quoted("\ud800") == "'\\ud800'"


# --- manual entries: any Firestore value in any field ----------------------------------------------

FIRESTORE_VALUES = st.one_of(
    JSON_VALUES,
    st.datetimes(timezones=st.just(UTC)),
    st.binary(max_size=20),
    st.floats(),
)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(
        ["record_id", "entity_id", "account_id", "period", "scenario", "amount", "currency", "memo", "dimensions"]
    ),
    value=FIRESTORE_VALUES,
    created_at=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC)), st.text(max_size=5)),
)
def test_a_manual_entry_of_any_field_value_is_an_event_or_a_rejection(field: str, value: Any, created_at: Any) -> None:
    from ingestion.manual_entries import manual_entry_event

    entry: dict[str, Any] = {
        "record_id": "man-1",
        "entity_id": "us-east",
        "account_id": "4100",
        "period": "2026-10",
        "scenario": "actual",
        "amount": "10.00",
        "currency": "USD",
        "created_at": created_at,
    }
    entry[field] = value
    outcome_of_event(manual_entry_event("acme", "entry-1", entry))
