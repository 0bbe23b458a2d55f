"""Event contract v1: the financial event integrators publish, validated strictly with readable errors."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from finance_core.identifiers import ID_PATTERN, KEY_SEPARATOR, identifier_problem
from finance_core.money import DECIMAL_STRING, is_currency, parse_amount
from finance_core.untrusted import bounded_reason, clipped, json_depth_problem, quoted, surrogate_problem

CONTRACT_VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
# A booking date, 'YYYY-MM-DD' (a real calendar day, inside the record's period: checked apart).
DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# RFC 3339 date-time: a full date, 'T', a time with optional fraction, and a mandatory offset.
RFC3339_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_RFC3339_RE = re.compile(RFC3339_PATTERN)
# Record dimensions (finance_core.dimensions): at most this many per record, names of lower-case
# words joined by single underscores (never '__', the key separator), at most 64 characters (the
# length is checked apart: DimensionName, dimensions.name_problem, firestore.rules). Words are
# delimited by '_', so the pattern matches in linear time.
MAX_DIMENSIONS = 5
DIMENSION_NAME_PATTERN = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
_DIMENSION_NAME_RE = re.compile(DIMENSION_NAME_PATTERN)


class Scenario(StrEnum):
    """Which kind of number a record is: what happened, what was planned, what is expected."""

    ACTUAL = "actual"
    BUDGET = "budget"
    FORECAST = "forecast"


class EventType(StrEnum):
    """What the event does to its record."""

    UPSERTED = "record.upserted"
    DELETED = "record.deleted"


# The JSON Schema states the '__' rule too ("not": {"pattern": "__"}), so an integrator who
# validates against the published schema is refused exactly what ingestion refuses.
Identifier = Annotated[
    str, Field(pattern=ID_PATTERN, max_length=128, json_schema_extra={"not": {"pattern": KEY_SEPARATOR}})
]


DimensionName = Annotated[str, Field(pattern=DIMENSION_NAME_PATTERN, max_length=64)]


def _is_calendar_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _check_identifier(value: Any, info_field: str) -> Any:
    problem = identifier_problem(value, info_field)
    if problem:
        raise ValueError(problem)
    return value


class RecordFields(BaseModel):
    """The ledger line carried by a `record.upserted` event."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    entity_id: Identifier = Field(description="Legal entity or business unit, e.g. 'us-east'.")
    account_id: Identifier = Field(description="Account of the org's chart of accounts, e.g. '4000'.")
    period: str = Field(pattern=PERIOD_PATTERN, description="Fiscal month, 'YYYY-MM'.")
    scenario: Scenario = Field(description="actual | budget | forecast.")
    date: str | None = Field(
        default=None,
        pattern=DATE_PATTERN,
        description="Optional booking date, 'YYYY-MM-DD', inside the period: the record then counts for that "
        "day too (daily and weekly figures). Without it the record counts for the month only.",
        examples=["2026-10-05"],
    )
    amount: str = Field(
        pattern=DECIMAL_STRING.pattern,
        description="Decimal string, e.g. '12345.67'. JSON numbers are rejected: floats lose cents.",
        examples=["12345.67", "-250.00"],
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the amount, e.g. 'USD'.")
    memo: str | None = Field(default=None, max_length=500, description="Optional free text.")
    source: str | None = Field(default=None, max_length=64, description="Source system, e.g. 'netsuite'.")
    dimensions: dict[DimensionName, Identifier] | None = Field(
        default=None,
        max_length=MAX_DIMENSIONS,
        description="Optional: declared dimension -> value, e.g. {'region': 'emea', 'department': 'sales'}. "
        "Only dimensions the org declares are accepted (docs/kpis.md, Dimensions).",
        examples=[{"region": "emea", "department": "sales"}],
    )

    @field_validator("dimensions", mode="before")
    @classmethod
    def _dimensions(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, dict):
            raise ValueError('dimensions must be an object of dimension name -> value, e.g. {"region": "emea"}')
        if len(value) > MAX_DIMENSIONS:
            raise ValueError(f"a record carries at most {MAX_DIMENSIONS} dimensions, got {len(value)}")
        for name, item in value.items():
            if not _DIMENSION_NAME_RE.match(name):
                raise ValueError(
                    f"dimension name {quoted(name)} must be lower-case letters and digits in words joined by "
                    "single underscores, e.g. 'customer_segment'"
                )
            problem = identifier_problem(item, f"value of dimension {name!r}")
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("entity_id", "account_id", mode="before")
    @classmethod
    def _identifier(cls, value: Any, info: Any) -> Any:
        return _check_identifier(value, info.field_name)

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.match(PERIOD_PATTERN, value):
            raise ValueError(f"period {quoted(value)} must be a fiscal month written 'YYYY-MM', e.g. '2026-10'")
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, str) or not re.match(DATE_PATTERN, value) or not _is_calendar_day(value):
            raise ValueError(f"date {quoted(value)} must be a calendar day written 'YYYY-MM-DD', e.g. '2026-10-05'")
        return value

    @model_validator(mode="after")
    def _date_in_period(self) -> RecordFields:
        if self.date is not None and self.date[:7] != self.period:
            raise ValueError(
                f"date {self.date} is not inside period {self.period}: a booking date falls in its record's "
                f"fiscal month (e.g. {self.period}-01)"
            )
        return self

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Any:
        if isinstance(value, bool) or isinstance(value, (int, float)):
            sent = json_text(value)
            example = sent if DECIMAL_STRING.match(sent) else "1234.56"
            why = "binary floating point cannot represent every cent exactly"
            raise ValueError(
                f'amount must be a decimal string such as "{example}", not a JSON number '
                f"({clipped(sent)} was sent): {why}"
            )
        if isinstance(value, str):
            amount = parse_amount(value)  # raises MoneyError (a ValueError) with the reason
            if amount.is_zero() and value.startswith("-"):
                return value[1:]  # "-0.00" is zero: stored, summed and shown as "0.00"
        return value

    @field_validator("memo", "source", mode="before")
    @classmethod
    def _text(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            problem = surrogate_problem(value, info.field_name)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        if isinstance(value, str) and not is_currency(value):
            raise ValueError(f"currency {quoted(value)} is not an ISO 4217 code (e.g. USD, EUR, JPY)")
        return value

    @property
    def decimal_amount(self) -> Decimal:
        """The amount as an exact Decimal."""
        return Decimal(self.amount)


class FinancialEvent(BaseModel):
    """One change of one ledger line at the source, as published to `financial-events`."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="FinancialEvent",
        json_schema_extra={
            "$comment": f"Financial event contract v{CONTRACT_VERSION}",
            # The rule of _record_matches_type, in the schema: a delete has no record, an upsert has one.
            "if": {"properties": {"type": {"const": EventType.DELETED.value}}, "required": ["type"]},
            "then": {"properties": {"record": {"type": "null"}}},
            "else": {"required": ["record"], "properties": {"record": {"type": "object"}}},
        },
    )

    event_id: Identifier = Field(description="Unique per logical event; the idempotency key.")
    type: EventType = Field(description="record.upserted or record.deleted.")
    org_id: Identifier = Field(description="Organisation the record belongs to.")
    record_id: Identifier = Field(description="Stable id of the ledger line at the source.")
    version: int = Field(ge=1, le=2**53, description="Increases with every change of this record at the source.")
    occurred_at: datetime = Field(description="RFC 3339 time of the change at the source, with offset.")
    record: RecordFields | None = Field(default=None, description="The line; omitted for record.deleted.")

    @field_validator("event_id", "org_id", "record_id", mode="before")
    @classmethod
    def _identifier(cls, value: Any, info: Any) -> Any:
        return _check_identifier(value, info.field_name)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            shown = clipped(json_text(value)) if isinstance(value, (int, float)) else quoted(value)
            raise ValueError(f"version must be a positive integer, got {shown}")
        return value

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _occurred_at(cls, value: Any) -> Any:
        if not isinstance(value, str) or not _RFC3339_RE.match(value):
            raise ValueError(
                f"occurred_at {quoted(value)} must be an RFC 3339 timestamp with an offset, e.g. '2026-10-05T12:00:00Z'"
            )
        return value

    @model_validator(mode="after")
    def _record_matches_type(self) -> FinancialEvent:
        if self.type is EventType.UPSERTED and self.record is None:
            raise ValueError("a record.upserted event needs a 'record' object")
        if self.type is EventType.DELETED and self.record is not None:
            raise ValueError("a record.deleted event must not carry a 'record' object")
        return self

    @property
    def is_delete(self) -> bool:
        """True for record.deleted."""
        return self.type is EventType.DELETED


class EventRejected(ValueError):
    """A message that can never become a valid event; `reason` says why in plain words (bounded, storable)."""

    def __init__(self, code: str, reason: str, org_id: str | None = None, event_id: str | None = None):
        reason = bounded_reason(reason)
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.org_id = org_id
        self.event_id = event_id


def describe_validation_error(error: ValidationError) -> str:
    """One readable sentence per problem, e.g. "record.amount: amount must be a decimal string ..."."""
    lines = []
    for item in error.errors(include_url=False):
        # A location names fields as sent: an unknown one may be any length, or not text at all.
        location = ".".join(clipped(str(part)) for part in item["loc"]) or "event"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = "is not a field of the event contract v1 (check the spelling)"
        lines.append(f"{location}: {message}")
    return "; ".join(lines)


def _best_effort_ids(payload: Any) -> tuple[str | None, str | None]:
    """The org and event id of a rejected payload if they are usable as document ids."""
    if not isinstance(payload, dict):
        return None, None
    org_id = payload.get("org_id")
    event_id = payload.get("event_id")
    org_ok = org_id if identifier_problem(org_id, "org_id") is None else None
    event_ok = event_id if identifier_problem(event_id, "event_id") is None else None
    return org_ok, event_ok


# `"org_id": "acme"` written in the message itself (not inside a string, where its quotes would
# be escaped), for a message too deep to decode.
_ID_FIELD = re.compile(r'(?<!\\)"(org_id|event_id)"\s*:\s*"([A-Za-z0-9][A-Za-z0-9._-]{0,127})"')


def _ids_in_text(text: str) -> tuple[str | None, str | None]:
    """The org and event id a message names, when it names exactly one of each, so an undecodable
    message is still kept (and counted) in its org; the caller checks that the org exists."""
    found: dict[str, set[str]] = {"org_id": set(), "event_id": set()}
    for match in _ID_FIELD.finditer(text):
        found[match.group(1)].add(match.group(2))
    org_ids, event_ids = found["org_id"], found["event_id"]
    org_id = next(iter(org_ids)) if len(org_ids) == 1 else None
    event_id = next(iter(event_ids)) if len(event_ids) == 1 else None
    valid = (identifier_problem(value, "id") is None for value in (org_id, event_id))
    return tuple(value if ok else None for value, ok in zip((org_id, event_id), valid, strict=True))  # type: ignore[return-value]


def decode_json(data: bytes | str, what: str = "message") -> Any:
    """The JSON value of a message; EventRejected (too_deep, invalid_json) instead of any decoding error.

    The nesting is measured before decoding (the decoder recurses once per level), numbers are
    kept as the text sent (`JsonNumber`), and the non-JSON constants NaN and Infinity, which
    Python's decoder accepts, are numbers as sent too, so validation names them as written.
    """
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventRejected(
                "invalid_json", f"{what} is not UTF-8 text: byte {exc.start} ({data[exc.start]:#04x}) is invalid"
            ) from None
    else:
        text = data
    problem = json_depth_problem(text)
    if problem:
        raise EventRejected("too_deep", f"{what} cannot be decoded safely: {problem}", *_ids_in_text(text))
    try:
        return json.loads(text, parse_float=JsonNumber.of, parse_int=_parse_int, parse_constant=JsonNumber.of)
    except json.JSONDecodeError as exc:
        raise EventRejected(
            "invalid_json", f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None


def parse_event(data: bytes | str | dict[str, Any]) -> FinancialEvent:
    """Decode and validate one message; raise EventRejected with a readable reason if it is invalid."""
    if isinstance(data, (bytes, bytearray)) and len(data) > MAX_MESSAGE_BYTES:
        raise EventRejected("too_large", f"message is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    payload = decode_json(data) if isinstance(data, (bytes, bytearray, str)) else data
    if not isinstance(payload, dict):
        raise EventRejected("invalid_event", "message must be one JSON object (an event), not a list or a value")
    org_id, event_id = _best_effort_ids(payload)
    try:
        return FinancialEvent.model_validate(payload)
    except ValidationError as exc:
        raise EventRejected("invalid_event", describe_validation_error(exc), org_id, event_id) from None


class JsonNumber(float):
    """A JSON number other than a small integer, with the text as sent.

    A float subclass so validation sees "a number" (the amount validator then asks for a string,
    quoting the digits as sent) and a rejected line re-encodes; `text` keeps what was written, which
    a float cannot (12.50, 1e400, NaN).
    """

    text: str

    @classmethod
    def of(cls, text: str) -> JsonNumber:
        """The number written `text` (NaN, Infinity and overflowing values are kept as written)."""
        number = cls(float(text))
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text


# Integers longer than this are never valid (versions stop at 2^53, 16 digits); converting them
# would be slow for huge ones and Python refuses more than 4,300 digits with a ValueError.
_MAX_INT_DIGITS = 20


def _parse_int(text: str) -> int | JsonNumber:
    return int(text) if len(text) <= _MAX_INT_DIGITS else JsonNumber.of(text)


def json_text(value: Any) -> str:
    """A decoded JSON scalar written as JSON (a number as it was sent)."""
    if isinstance(value, JsonNumber):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (int, float, str)) or value is None else repr(value)


def event_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the event, as published for integrators."""
    schema = FinancialEvent.model_json_schema(mode="validation")
    # pydantic states the name rule as patternProperties, which lets other names through; as
    # propertyNames it refuses them, like ingestion does.
    dimensions = schema["$defs"]["RecordFields"]["properties"]["dimensions"]["anyOf"][0]
    name_pattern, value_schema = dimensions.pop("patternProperties").popitem()
    dimensions["propertyNames"] = {"pattern": name_pattern, "maxLength": 64}
    dimensions["additionalProperties"] = value_schema
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://finance-live.dev/schemas/financial-event.v1.json"
    return schema
