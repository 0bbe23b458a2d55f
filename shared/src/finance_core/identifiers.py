"""Identifier rules shared by events, Firestore document ids and aggregate keys."""

from __future__ import annotations

import re

from finance_core.untrusted import quoted

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_ID_RE = re.compile(ID_PATTERN)

# Separates the parts of aggregate and variance document ids ("{entity}__{period}__{scenario}"),
# so no identifier may contain it.
KEY_SEPARATOR = "__"

# The consolidated (all entities) aggregate uses this entity id; it cannot clash with a real
# entity because identifiers must start with a letter or digit.
CONSOLIDATED_ENTITY = "_all"


def identifier_problem(value: object, field: str) -> str | None:
    """Why `value` is not a safe identifier for `field`, or None if it is."""
    if not isinstance(value, str):
        return f"{field} must be a string"
    if not _ID_RE.match(value):
        return (
            f"{field} {quoted(value)} must be 1-128 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (it becomes a Firestore document id)"
        )
    if KEY_SEPARATOR in value:
        return f"{field} {quoted(value)} must not contain '__' (it separates the parts of aggregate ids)"
    return None


def is_identifier(value: object) -> bool:
    """True if `value` is a valid identifier."""
    return identifier_problem(value, "id") is None
