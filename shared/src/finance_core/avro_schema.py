"""Avro schema of the event contract, generated from the pydantic models, for the Pub/Sub topic schema."""

from __future__ import annotations

import inspect
import re
import types
import typing
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from finance_core.events import CONTRACT_VERSION, FinancialEvent

AVRO_NAMESPACE = f"finance_core.events.v{CONTRACT_VERSION}"
# Avro names (records, enums, enum symbols) must match this; anything else stays a string.
_AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Pub/Sub accepts these primitive Avro types; the contract only needs a few of them.
_PRIMITIVES: dict[type, str] = {str: "string", int: "long", bool: "boolean", float: "double"}


class AvroSchemaError(TypeError):
    """A model field has no faithful Avro type."""


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1 and len(typing.get_args(annotation)) == 2:
            return members[0], True
        raise AvroSchemaError(f"only `X | None` unions are supported, got {annotation!r}")
    return annotation, False


def _doc(model: type[BaseModel]) -> str:
    return (inspect.getdoc(model) or model.__name__).splitlines()[0]


def _symbols_or_none(values: list[Any]) -> list[str] | None:
    symbols = [str(v) for v in values]
    return symbols if all(_AVRO_NAME.match(s) for s in symbols) else None


class _Builder:
    """Turns pydantic models into Avro types; each named type is defined once, then referenced."""

    def __init__(self, namespace: str):
        self.namespace = namespace
        self.defined: set[str] = set()

    def named(self, name: str, definition: dict[str, Any]) -> Any:
        if name in self.defined:
            return f"{self.namespace}.{name}"
        self.defined.add(name)
        return definition

    def avro_type(self, annotation: Any, field_name: str) -> Any:
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            return self.record(annotation)
        if inspect.isclass(annotation) and issubclass(annotation, Enum):
            values = [member.value for member in annotation]
            symbols = _symbols_or_none(values)
            if symbols is None:
                # e.g. "record.upserted": a dot is not allowed in an Avro enum symbol.
                return "string"
            return self.named(annotation.__name__, {"type": "enum", "name": annotation.__name__, "symbols": symbols})
        if typing.get_origin(annotation) is Literal:
            return "string"
        if annotation is datetime:
            # The contract carries RFC 3339 text; Avro's timestamp logical types are numbers.
            return "string"
        if annotation in _PRIMITIVES:
            return _PRIMITIVES[annotation]
        if typing.get_origin(annotation) is dict:
            key, value = (
                typing.get_args(a)[0] if typing.get_origin(a) is typing.Annotated else a
                for a in typing.get_args(annotation)
            )
            if key is str:
                # e.g. record dimensions: Avro maps always have string keys.
                return {"type": "map", "values": self.avro_type(value, field_name)}
        raise AvroSchemaError(f"field {field_name!r}: no Avro type for {annotation!r}")

    def record(self, model: type[BaseModel]) -> Any:
        name = model.__name__
        if name in self.defined:
            return f"{self.namespace}.{name}"
        self.defined.add(name)
        fields = []
        for field_name, info in model.model_fields.items():
            annotation, optional = _unwrap_optional(info.annotation)
            field: dict[str, Any] = {"name": field_name}
            avro = self.avro_type(annotation, field_name)
            if optional:
                # "null" first so that the default (null) is valid for the union.
                field["type"] = ["null", avro]
                field["default"] = None
            else:
                field["type"] = avro
            if info.description:
                field["doc"] = info.description
            fields.append(field)
        return {"type": "record", "name": name, "namespace": self.namespace, "doc": _doc(model), "fields": fields}


def model_avro_schema(model: type[BaseModel], namespace: str = AVRO_NAMESPACE) -> dict[str, Any]:
    """Avro record schema of a pydantic model (strings, longs, enums, maps, nested records, optional fields)."""
    return _Builder(namespace).record(model)


def event_avro_schema() -> dict[str, Any]:
    """Avro schema of contract v1, as declared for the `financial-events` topic.

    It describes the field set and types only: identifier patterns, decimal-string amounts,
    RFC 3339 times and the upsert/delete rule are enforced by the ingestion function, which is
    the authority on the contract.
    """
    return model_avro_schema(FinancialEvent)
