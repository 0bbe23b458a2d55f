"""Record dimensions: what an org declares, what a record may carry, and the exact aggregates per dimension value.

An org declares up to MAX_DIMENSIONS dimensions (e.g. department, region) on its org document;
an event's record may then carry `dimensions: {name: value}` for declared names only. Every live
record counts, besides its entity x period x scenario aggregate, in one aggregate per dimension
it carries: (dimension, value, entity, period, scenario), plus the consolidated `_all` entity.
The deltas follow the same rules as the base aggregates (a record that changes its value moves
its amount from the old value's key to the new one's, deletes subtract, changes telescope), so a
dimension aggregate always equals the sum of the live records that carry that value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from finance_core.aggregates import AggregateDelta, sum_deltas
from finance_core.events import DIMENSION_NAME_PATTERN, MAX_DIMENSIONS
from finance_core.identifiers import CONSOLIDATED_ENTITY, KEY_SEPARATOR, identifier_problem
from finance_core.records import RecordState
from finance_core.untrusted import quoted

MAX_DECLARED_VALUES = 500
# The declared values of one dimension together (firestore.rules bounds the same): every dashboard
# reads the org document that holds them.
MAX_VALUES_CHARACTERS = 10_000
MAX_LABEL_LENGTH = 100
# Lower-case words joined by single underscores: never '__' (the key separator) nor a leading
# '_' (the consolidated entity's mark).
_NAME_RE = re.compile(DIMENSION_NAME_PATTERN)
NAME_MAX_LENGTH = 64
VALUE_MAX_LENGTH = 128


class DimensionError(ValueError):
    """An org's dimension declaration that is not valid; `path` says which part."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def name_problem(name: object) -> str | None:
    """Why `name` is not a valid dimension name, or None."""
    if not isinstance(name, str) or len(name) > NAME_MAX_LENGTH or not _NAME_RE.match(name):
        return (
            f"dimension name {quoted(name)} must be lower-case letters and digits in words joined by single "
            "underscores, starting with a letter, e.g. 'customer_segment'"
        )
    return None


def value_problem(name: str, value: object) -> str | None:
    """Why `value` is not a valid value of dimension `name`, or None (values are identifiers)."""
    return identifier_problem(value, f"value of dimension {quoted(name)}")


@dataclass(frozen=True)
class Dimension:
    """One declared dimension; `values` (when given) is the closed set of values records may carry."""

    name: str
    label: str
    values: frozenset[str] | None = None

    def problem(self, value: str) -> tuple[str, str] | None:
        """(code, reason) if a record may not carry `value`, else None."""
        problem = value_problem(self.name, value)
        if problem:
            return "invalid_dimension_value", problem
        if self.values is not None and value not in self.values:
            shown = ", ".join(sorted(self.values)[:10]) + (" ..." if len(self.values) > 10 else "")
            return (
                "unknown_dimension_value",
                f"{quoted(value)} is not a declared value of dimension {self.name!r} (declared: {shown}); "
                "an admin adds it to the org's dimensions",
            )
        return None


def parse_declarations(raw: object) -> dict[str, Dimension]:
    """The declared dimensions of an org document's `dimensions` field (absent or empty: none).

    The field is a map `{name: {label?: str, values?: [str, ...]}}`; DimensionError says what is wrong.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise DimensionError("dimensions", "must be a map of dimension name -> {label, values}")
    if len(raw) > MAX_DIMENSIONS:
        raise DimensionError(
            "dimensions",
            f"{len(raw)} dimensions declared; at most {MAX_DIMENSIONS} (each one "
            "adds aggregate writes to every record change that carries it)",
        )
    declared: dict[str, Dimension] = {}
    for name, spec in raw.items():
        problem = name_problem(name)
        if problem:
            raise DimensionError(f"dimensions.{name}", problem)
        if spec is None:
            spec = {}
        if not isinstance(spec, Mapping):
            raise DimensionError(f"dimensions.{name}", "must be a map with an optional label and values")
        unknown = set(spec) - {"label", "values"}
        if unknown:
            raise DimensionError(
                f"dimensions.{name}",
                f"unknown field(s) {', '.join(sorted(map(str, unknown)))}; a dimension has a label and values",
            )
        label = spec.get("label", name)
        if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL_LENGTH:
            raise DimensionError(f"dimensions.{name}.label", f"must be text of 1-{MAX_LABEL_LENGTH} characters")
        values = spec.get("values")
        if values is not None:
            if not isinstance(values, (list, tuple)) or len(values) > MAX_DECLARED_VALUES:
                raise DimensionError(
                    f"dimensions.{name}.values", f"must be a list of at most {MAX_DECLARED_VALUES} values"
                )
            for value in values:
                value_issue = value_problem(str(name), value)
                if value_issue:
                    raise DimensionError(f"dimensions.{name}.values", value_issue)
            if len(",".join(values)) > MAX_VALUES_CHARACTERS:
                raise DimensionError(
                    f"dimensions.{name}.values",
                    f"the values take {len(','.join(values)):,} characters (joined by commas); "
                    f"at most {MAX_VALUES_CHARACTERS:,}",
                )
            values = frozenset(values)
        declared[str(name)] = Dimension(str(name), label, values)
    return declared


def check_record_dimensions(
    dimensions: Mapping[str, str] | None, declared: Mapping[str, Dimension]
) -> tuple[str, str] | None:
    """(code, reason) when a record's dimensions do not fit the org's declaration, else None."""
    for name, value in sorted((dimensions or {}).items()):
        dimension = declared.get(name)
        if dimension is None:
            known = ", ".join(sorted(declared)) or "none are declared"
            return (
                "unknown_dimension",
                f"dimension {quoted(name)} is not declared by the org (declared: {known}); an admin declares it "
                "in the org's settings (field 'dimensions' of the org document)",
            )
        problem = dimension.problem(value)
        if problem:
            return problem
    return None


# --- aggregates per dimension value -------------------------------------------------------------


@dataclass(frozen=True, order=True)
class DimensionKey:
    """Which dimension aggregate a record counts in: dimension x value x entity x period x scenario."""

    dimension: str
    value: str
    entity_id: str
    period: str
    scenario: str

    @property
    def doc_id(self) -> str:
        """Firestore document id, e.g. 'region__emea__us-east__2026-10__actual'."""
        return KEY_SEPARATOR.join((self.dimension, self.value, self.entity_id, self.period, self.scenario))

    @classmethod
    def from_doc_id(cls, doc_id: str) -> DimensionKey:
        """Inverse of doc_id."""
        dimension, value, entity_id, period, scenario = doc_id.split(KEY_SEPARATOR)
        return cls(dimension, value, entity_id, period, scenario)

    @property
    def is_consolidated(self) -> bool:
        """True for the all-entities key."""
        return self.entity_id == CONSOLIDATED_ENTITY


def record_dimension_keys(state: RecordState) -> list[DimensionKey]:
    """The dimension keys a live record counts in: per dimension it carries, its entity and `_all`."""
    keys = []
    for name, value in sorted((state.dimensions or {}).items()):
        for entity in (str(state.entity_id), CONSOLIDATED_ENTITY):
            keys.append(DimensionKey(name, value, entity, str(state.period), str(state.scenario)))
    return keys


def record_dimension_delta(before: RecordState | None, after: RecordState | None) -> dict[DimensionKey, AggregateDelta]:
    """Exact change of every dimension aggregate when a record goes from `before` to `after`.

    A record that changes a dimension's value (or its entity, period, scenario, account, amount)
    yields a minus on the old key and a plus on the new one; unchanged keys drop out.
    """
    deltas: dict[DimensionKey, AggregateDelta] = {}
    for state, sign in ((before, -1), (after, 1)):
        if state is None or not state.is_live or not state.dimensions:
            continue
        if state.reporting_amount_minor is None or state.account_id is None:
            raise ValueError(f"record {state.record_id} has no reporting amount or account")
        for key in record_dimension_keys(state):
            deltas.setdefault(key, AggregateDelta()).add(state.account_id, sign * state.reporting_amount_minor, sign)
    pruned = {key: delta.pruned() for key, delta in deltas.items()}
    return {key: delta for key, delta in pruned.items() if not delta.is_zero}


def dimension_aggregates_from_records(records: Iterable[RecordState]) -> dict[DimensionKey, AggregateDelta]:
    """Dimension aggregates computed from scratch from a set of live records (the ground truth)."""
    return sum_deltas(record_dimension_delta(None, record) for record in records)
